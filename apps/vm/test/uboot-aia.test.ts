import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

describe("Debian's U-Boot with --irqchip aia", () => {
  it('boots to a prompt on the AIA device tree, lists the GPU and powers off', async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    const prompt = '=> ';
    const { result, output } = await boot(
      ['--kernel', uboot, '--cpus', '2', '--irqchip', 'aia'],
      [
        { expect: 'Hit any key to stop autoboot', send: ' ' },
        { expect: prompt, send: 'pci\r' },
        { expect: prompt, send: 'poweroff\r' },
      ],
    );
    expect(output).toContain('U-Boot 2023.01');
    expect(output).toMatch(/00\.01\.00 +0x7e57 +0x0001 +Display controller/);
    expect(result.status).toBe(0);
  }, 300_000);
});
