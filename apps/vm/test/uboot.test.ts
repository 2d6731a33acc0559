import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

describe("Debian's U-Boot (S-mode) on the VM", () => {
  it('boots to a prompt, lists the GPU, reports SBI, reads the GPU registers and powers off', async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    const prompt = '=> ';
    const { result, output } = await boot(
      ['--kernel', uboot, '--cpus', '2'],
      [
        { expect: 'Hit any key to stop autoboot', send: ' ' },
        { expect: prompt, send: 'pci\r' },
        { expect: prompt, send: 'sbi\r' },
        { expect: prompt, send: 'pci bar 00.01.00\r' },
        {
          expect: prompt,
          // md.l on BAR0 as U-Boot assigned it: the ID and VRAM_SIZE registers.
          send: (out) => `md.l ${/^ 0 +0x([0-9a-f]+)/m.exec(out)![1]} 2\r`,
        },
        { expect: prompt, send: 'poweroff\r' },
      ],
    );
    expect(output).toContain('U-Boot 2023.01');
    expect(output).toMatch(/00\.01\.00 +0x7e57 +0x0001 +Display controller/);
    expect(output).toContain('SBI 2.0');
    expect(output).toContain('KVM');
    for (const ext of [
      'Timer Extension',
      'IPI Extension',
      'RFENCE Extension',
      'Hart State Management Extension',
      'System Reset Extension',
    ]) {
      expect(output).toContain(ext);
    }
    expect(output).toMatch(/40000000: 7e570001 00400000/);
    expect(output).toContain('poweroff ...');
    expect(result.status).toBe(0);
    expect(result.reason).toBe('guest shut down');
  }, 300_000);
});
