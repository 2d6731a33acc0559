import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { runVm } from './support/mini-vmm.ts';

// Debian's u-boot-qemu; missing fails in CI and skips locally.
const uboot = requireDebianTool('/usr/lib/u-boot/qemu_arm64/u-boot.bin', 'u-boot-qemu');

describe.skipIf(!uboot)("Debian's qemu_arm64 U-Boot on Arm64Cpu", () => {
  it('boots from flash at 0 to its prompt, runs commands and powers off through PSCI', () => {
    const r = runVm({
      images: [
        { addr: 0, bytes: readFileSync(uboot!) },
        // QEMU's own virt device tree (-cpu cortex-a57 -m 128M), where QEMU puts it: at the start of RAM.
        { addr: 0x4000_0000, bytes: readFileSync(join(import.meta.dirname, 'support', 'virt-a57.dtb')) },
      ],
      entry: 0,
      x0: 0x4000_0000n,
      ramSize: 128 * 1024 * 1024,
      flashSize: 128 * 1024 * 1024,
      maxInsns: 200_000_000,
      input: ' version\ncrc32 40000000 100\npoweroff\n',
    });
    expect(r.console).toContain('U-Boot 2023.01');
    expect(r.console).toContain('DRAM:  128 MiB');
    expect(r.console).toContain('In:    pl011@9000000');
    expect(r.console).toContain('=> version');
    expect(r.console).toContain('aarch64-linux-gnu-gcc');
    // CRC-32 of the device tree's first 256 bytes, as zlib computes it.
    expect(r.console).toContain('crc32 for 40000000 ... 400000ff ==> 7526b4d9');
    expect(r.console).toContain('=> poweroff');
    expect(r.stop).toBe('poweroff');
  }, 600_000);
});
