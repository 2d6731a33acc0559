import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

describe("Debian's U-Boot (S-mode) on the VM", () => {
  it('boots to a prompt, lists the GPU, reports SBI, reads the GPU registers, uses the flash and powers off', async () => {
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
        // The CFI flash banks: U-Boot's driver finds them, erases a sector and programs it.
        { expect: prompt, send: 'flinfo\r' },
        { expect: prompt, send: 'mw.l 82000000 c0ffee01 400\r' },
        { expect: prompt, send: 'cp.b 82000000 82100003 1000\r' },
        { expect: prompt, send: 'erase 22040000 2207ffff\r' },
        { expect: prompt, send: 'cp.l 82000000 22040000 400\r' },
        { expect: prompt, send: 'cmp.l 82000000 22040000 400\r' },
        { expect: prompt, send: 'md.l 22040ffc 2\r' },
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
    expect(output).toMatch(/Bank # 1: CFI conformant flash \(\d+ x \d+\) +Size: 32 MB in 128 Sectors/);
    expect(output).toMatch(/Bank # 2: CFI conformant flash/);
    expect(output).toContain('Intel Extended command set, Manufacturer ID: 0x89, Device ID: 0x001D');
    // a RAM-to-RAM copy is not taken for a flash write (it was, with no flash in the device tree)
    expect(output).not.toMatch(/cp\.b 82000000 82100003 1000\s+Copy to Flash/);
    expect(output).toContain('Erased 1 sectors');
    expect(output).toMatch(/cp\.l 82000000 22040000 400\s+Copy to Flash\.\.\. done/);
    expect(output).toContain('Total of 1024 word(s) were the same');
    // the last programmed word, then the erased rest of the sector
    expect(output).toMatch(/22040ffc: c0ffee01 ffffffff/);
    expect(output).toContain('poweroff ...');
    expect(result.status).toBe(0);
    expect(result.reason).toBe('guest shut down');
  }, 300_000);
});
