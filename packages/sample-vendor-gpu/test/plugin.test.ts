import { join } from 'node:path';
import { loadPluginModule } from '@tsvirt/core-bus/node';
import { MDEV_CORE, type MdevCore } from '@tsvirt/mdev-core';
import { describe, expect, it } from 'vitest';
import sampleGpuModule, { SAMPLE_GPU_DRIVER, SampleGpuDriver } from '../src/index.ts';
import { code, host, openDevice, UUIDS } from './stack.ts';

const pkg = join(import.meta.dirname, '..');

describe('loading as plugins', () => {
  it('the GPU plugin file default-exports a host module that registers the parent', async () => {
    const m = await loadPluginModule(join(pkg, 'src/module.ts'));
    expect(m.name).toBe('sample-vendor-gpu');
    expect(m.scope).toBe('host');
    expect(m.dependsOn).toEqual(['core-bus', 'host-mm', 'mdev-core', 'vfio-mpci']);
    expect(m).toBe(sampleGpuModule);
    const h = host({ plugin: m });
    expect(h.loader.host.resolve(SAMPLE_GPU_DRIVER)).toBeInstanceOf(SampleGpuDriver);
    expect(
      h.loader.host
        .resolve<MdevCore>(MDEV_CORE)
        .parent('sample-gpu')
        ?.types.map((t) => t.sysfsName),
    ).toEqual(['sample_gpu-small', 'sample_gpu-medium', 'sample_gpu-large']);
  });

  it('the minimal example driver loads by file path and works through the same VFIO path', async () => {
    const tiny = await loadPluginModule(join(pkg, 'examples/tiny-mdev.ts'));
    const h = host({ plugin: tiny });
    const mdev = h.mdevs.createDevice('tiny', 'tiny-mailbox', UUIDS[0]!);
    h.mdevs.createDevice('tiny', 'tiny-mailbox', UUIDS[1]!);
    expect(code(() => h.mdevs.createDevice('tiny', 'tiny-mailbox', UUIDS[2]!))).toBe('EUSERS');
    const d = openDevice(h, mdev);
    expect(d.rd32(7n << 40n)).toBe(0x00ff7e57);
    d.wr32(0n, 0xcafe);
    expect(d.rd32(0n)).toBe(0xcafe);
    d.wr32(4n, 1);
    expect(d.intx.read()).toBe(1n);
    expect(d.rd32(4n)).toBe(1);
    // The IDs are read-only; the command register takes memory enable; BAR0 sizes as 4 KiB.
    d.wr32(7n << 40n, 0);
    expect(d.rd32(7n << 40n)).toBe(0x00ff7e57);
    d.wr32((7n << 40n) | 4n, 0x0002);
    expect(d.rd32((7n << 40n) | 4n) & 0xffff).toBe(0x0002);
    expect(d.rd32((7n << 40n) | 4n) >>> 16).toBe(0x0008); // status: INTx asserted
    d.wr32((7n << 40n) | 0x10n, 0xffffffff);
    expect(d.rd32((7n << 40n) | 0x10n)).toBe(0xfffff000);
  });

  it('a path that does not exist is ENOENT', async () => {
    await expect(loadPluginModule(join(pkg, 'examples/nope.ts'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
