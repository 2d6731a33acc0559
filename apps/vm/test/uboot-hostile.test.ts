import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

describe("Debian's U-Boot moving a BAR over its own console (issue 13)", () => {
  it('the UART keeps working while the GPU BAR0 sits on it and after it moves away; the BAR works again', async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    const prompt = '=> ';
    const { result, output } = await boot(
      ['--kernel', uboot],
      [
        { expect: 'Hit any key to stop autoboot', send: ' ' },
        { expect: prompt, send: 'pci write.l 00.01.00 10 10000000\r' }, // BAR0 onto the UART
        { expect: prompt, send: 'echo still here\r' },
        { expect: prompt, send: 'pci write.l 00.01.00 10 0c001000\r' }, // inside the PLIC
        { expect: prompt, send: 'pci write.l 00.01.00 10 40100000\r' }, // back into the 32-bit window
        { expect: prompt, send: 'md.l 40100000 1\r' },
        { expect: prompt, send: 'poweroff\r' },
      ],
    );
    expect(output).toMatch(/echo still here\r?\n+still here/);
    expect(output).toMatch(/40100000: 7e570001/);
    expect(output).toContain('poweroff ...');
    expect(result.status).toBe(0);
  }, 60_000);
});
