import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDtb } from '@tsvirt/fdt';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { type BoardConfig, buildDtb, imsicHartBits } from '../src/board/device-tree.ts';
import { GUEST_ISA } from '../src/machine.ts';

const cfg = (over: Partial<BoardConfig> = {}): BoardConfig => ({
  cpus: 3,
  memBytes: 256 << 20,
  isa: GUEST_ISA,
  mmuType: 'riscv,sv48',
  irqchip: 'aia',
  ...over,
});

describe('device tree with --irqchip aia (QEMU virt,aia=aplic-imsic under KVM)', () => {
  it('has the S-level IMSICs and an MSI-mode APLIC instead of the PLIC; the UART and PCI use them', () => {
    const t = fromDtb(buildDtb(cfg()));
    expect(t.find('/soc/plic@c000000')).toBeUndefined();
    const imsic = t.find('/soc/imsics@28000000')!;
    expect(imsic.strings('compatible')).toEqual(['riscv,imsics']);
    expect(imsic.cells('riscv,num-ids')).toEqual([255]);
    expect(imsic.cells('riscv,ipi-id')).toEqual([1]);
    // 3 harts: 2 hart-index bits, 4 pages of 4 KiB.
    expect(imsic.cells('reg')).toEqual([0, 0x2800_0000, 0, 0x4000]);
    const intcs = [0, 1, 2].map((i) => t.find(`/cpus/cpu@${i}/interrupt-controller`)!.cells('phandle')![0]);
    expect(imsic.cells('interrupts-extended')).toEqual(intcs.flatMap((ph) => [ph, 9]));
    const aplic = t.find('/soc/aplic@d000000')!;
    expect(aplic.strings('compatible')).toEqual(['riscv,aplic']);
    expect(aplic.cells('msi-parent')).toEqual(imsic.cells('phandle'));
    expect(aplic.cells('riscv,num-sources')).toEqual([96]);
    expect(aplic.cells('#interrupt-cells')).toEqual([2]);
    const uart = t.find('/soc/serial@10000000')!;
    expect(uart.cells('interrupt-parent')).toEqual(aplic.cells('phandle'));
    expect(uart.cells('interrupts')).toEqual([10, 4]);
    const pci = t.find('/soc/pci@30000000')!;
    expect(pci.cells('msi-parent')).toEqual(imsic.cells('phandle'));
    expect(pci.cells('interrupt-map')).toHaveLength(16 * 7); // (addr 3, pin, aplic, source, type)
    expect([1, 2, 3, 4, 5, 8, 9].map(imsicHartBits)).toEqual([0, 1, 2, 2, 3, 3, 4]);
  });
  it('decompiles with dtc without errors or warnings', () => {
    const dtc = requireDebianTool('dtc', 'device-tree-compiler');
    if (!dtc) return;
    for (const cpus of [1, 4]) {
      const file = join(mkdtempSync(join(tmpdir(), 'vm-dtb-')), 'aia.dtb');
      writeFileSync(file, buildDtb(cfg({ cpus })));
      const r = spawnSync(dtc, ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('compatible = "riscv,imsics";');
      expect(r.stdout).toContain('msi-controller;');
    }
  });
});
