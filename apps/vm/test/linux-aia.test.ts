import { describe, expect, it } from 'vitest';
import { boot } from '../src/scripted-boot.ts';
import { kernelProblems, LINUX_APPEND, linuxGuest } from './linux-guest.ts';

const guest = linuxGuest();

describe('the Linux guest with --irqchip aia', () => {
  it.runIf(guest !== undefined)(
    "probes the IMSICs and the MSI-mode APLIC; the UART's interrupt and the IPIs come through the IMSIC",
    async () => {
      const { result, output } = await boot([
        '--kernel',
        guest!.image,
        '--initrd',
        guest!.initrd,
        '--append',
        LINUX_APPEND,
        '--irqchip',
        'aia',
        '--cpus',
        '2',
      ]);
      expect(result.status).toBe(0);
      expect(output).toContain('riscv-intc: 64 local interrupts mapped using AIA');
      expect(output).toContain('riscv-imsic: imsics@28000000: providing IPIs using interrupt 1');
      expect(output).toContain(
        'riscv-imsic: imsics@28000000: per-CPU IDs 255 at base address 0x0000000028000000',
      );
      expect(output).toContain(
        'riscv-aplic d000000.aplic: 96 interrupts forwarded to MSI base 0x0000000028000000',
      );
      expect(output).toContain('tsvirt-init: cpus online: 0-1');
      expect(output).toMatch(/tsvirt-init: isa: rv64imafdc\S*_ssaia_sstc/);
      // /proc/interrupts: the UART's APLIC source 10 delivered as an MSI, and IPIs through the IMSIC.
      expect(output).toMatch(
        /tsvirt-init: interrupts: +\d+: +[1-9]\d* .*APLIC-MSI-d000000\.aplic +10 .*ttyS0/,
      );
      expect(output).toMatch(/tsvirt-init: interrupts: IPI1: +[1-9]\d* +[1-9]\d* +Function call interrupts/);
      expect(output).toMatch(/tsvirt-init: kernel log: \d+ lines, 0 at warning level or worse/);
      expect(kernelProblems(output)).toEqual([]);
    },
    900_000,
  );
});
