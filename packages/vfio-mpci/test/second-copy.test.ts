import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as host from '../src/index.ts';
import { stack, UUID } from './fake-vendor.ts';

// A plugin may bring its own copy of @tsvirt/vfio-mpci: load the package's
// source a second time, from a copied directory, so it is a distinct module
// instance with its own module-level state.
// The copy sits inside the package (so its @tsvirt/* imports resolve through
// the package's node_modules), in test/.readme/, a scratch directory git and
// Biome ignore.
const pkg = join(import.meta.dirname, '..');
mkdirSync(join(pkg, 'test', '.readme'), { recursive: true });
const copyDir = mkdtempSync(join(pkg, 'test', '.readme', 'second-copy-'));
cpSync(join(pkg, 'src'), join(copyDir, 'src'), { recursive: true });
const second: typeof host = await import(/* @vite-ignore */ join(copyDir, 'src/index.ts'));
afterAll(() => rmSync(copyDir, { recursive: true, force: true }));

describe('a second copy of vfio-mpci (a plugin bringing its own)', () => {
  it('is really a second module instance', () => {
    expect(second.VfioMpciDriver).not.toBe(host.VfioMpciDriver);
  });

  it('finds the interrupts and the VFIO device of an mdev the VMM copy bound', () => {
    const s = stack();
    const mdev = s.mdevs.createDevice('fakegpu', 'fakegpu-pci', UUID);
    expect(host.mpciIrqs(mdev)).toBeDefined();
    expect(second.mpciIrqs(mdev)).toBe(host.mpciIrqs(mdev));
    expect(second.mpciVfioDevice(mdev)).toBe(s.driver.vfioDevice(mdev));
    expect(second.mpciDevice(mdev)).toBe(host.mpciDevice(mdev));
    s.mdevs.removeDevice(UUID);
    expect(second.mpciIrqs(mdev)).toBeUndefined();
    expect(second.mpciVfioDevice(mdev)).toBeUndefined();
  });

  it('a driver from the second copy binds and the VMM copy finds its device', () => {
    const s = stack({ makeDriver: (vfio) => new second.VfioMpciDriver(vfio) });
    const mdev = s.mdevs.createDevice('fakegpu', 'fakegpu-pci', UUID);
    expect(host.mpciIrqs(mdev)).toBeDefined();
    expect(host.mpciVfioDevice(mdev)).toBe(s.vfio.deviceOf(mdev));
  });
});
