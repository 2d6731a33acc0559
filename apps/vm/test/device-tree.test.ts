import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDtb } from '@tsvirt/fdt';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { type BoardConfig, buildDtb } from '../src/board/device-tree.ts';
import { pcieMmio64Base, RAM_BASE, ramLayoutProblem } from '../src/board/layout.ts';

const cfg = (over: Partial<BoardConfig> = {}): BoardConfig => ({
  cpus: 2,
  memBytes: 256 << 20,
  isa: 'rv64imafdc_zicsr_zifencei',
  mmuType: 'riscv,sv48',
  ...over,
});

function decompile(blob: Uint8Array): { dts: string; stderr: string; status: number | null } | undefined {
  const dtc = requireDebianTool('dtc', 'device-tree-compiler');
  if (!dtc) return undefined;
  const file = join(mkdtempSync(join(tmpdir(), 'vm-dtb-')), 'vm.dtb');
  writeFileSync(file, blob);
  const r = spawnSync(dtc, ['-I', 'dtb', '-O', 'dts', file], { encoding: 'utf8' });
  return { dts: r.stdout, stderr: r.stderr, status: r.status };
}

describe('board device tree', () => {
  it('describes the configured harts, memory, UART, PLIC and PCIe host', () => {
    const t = fromDtb(buildDtb(cfg({ cpus: 3, memBytes: 2 ** 32 + 2 ** 20, bootargs: 'console=ttyS0' })));
    expect(t.find('/cpus')?.children.filter((c) => c.name.startsWith('cpu@'))).toHaveLength(3);
    expect(t.find('/memory@80000000')?.cells('reg')).toEqual([0, 0x8000_0000, 1, 0x10_0000]);
    expect(t.find('/chosen')?.strings('bootargs')).toEqual(['console=ttyS0']);
    const plic = t.find('/soc/plic@c000000')!;
    const ext = plic.cells('interrupts-extended')!;
    expect(ext).toHaveLength(6); // one (phandle, 9) pair per hart
    const intcs = [0, 1, 2].map((i) => t.find(`/cpus/cpu@${i}/interrupt-controller`)!.cells('phandle')![0]);
    expect(ext).toEqual(intcs.flatMap((ph) => [ph, 9]));
    expect(t.find('/soc/serial@10000000')?.cells('interrupt-parent')).toEqual(plic.cells('phandle'));
    const pci = t.find('/soc/pci@30000000')!;
    expect(pci.cells('interrupt-map')).toHaveLength(16 * 6);
    expect(pci.cells('bus-range')).toEqual([0, 255]);
    // Both CFI flash banks in one root node, as QEMU's virt.
    const flash = t.find('/flash@20000000')!;
    expect(flash.strings('compatible')).toEqual(['cfi-flash']);
    expect(flash.cells('bank-width')).toEqual([4]);
    expect(flash.cells('reg')).toEqual([0, 0x2000_0000, 0, 0x200_0000, 0, 0x2200_0000, 0, 0x200_0000]);
  });

  it('decompiles with dtc without errors or warnings', () => {
    for (const cpus of [1, 4]) {
      const r = decompile(buildDtb(cfg({ cpus })));
      if (!r) return;
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.dts).toContain('compatible = "pci-host-ecam-generic";');
      expect(r.dts).toContain(`cpu@${cpus - 1} {`);
    }
  });
});

describe('the 64-bit PCI window', () => {
  const GiB = 2 ** 30;
  /** The 64-bit memory entry of the host bridge's ranges: [pci address, cpu address, size]. */
  function mem64(dtb: Uint8Array): number[] {
    const r = fromDtb(dtb).find('/soc/pci@30000000')!.cells('ranges')!;
    const at = r.findIndex((c, i) => i % 7 === 0 && c === 0x0300_0000);
    const u64 = (i: number) => r[at + i]! * 2 ** 32 + r[at + i + 1]!;
    return [u64(1), u64(3), u64(5)];
  }

  it('sits above RAM at its end rounded up to 16 GiB, as QEMU virt places it', () => {
    expect(mem64(buildDtb(cfg()))).toEqual([16 * GiB, 16 * GiB, 16 * GiB]);
    expect(mem64(buildDtb(cfg({ memBytes: 14 * GiB })))[1]).toBe(16 * GiB); // RAM ends exactly there
    expect(mem64(buildDtb(cfg({ memBytes: 15 * GiB })))[1]).toBe(32 * GiB);
    for (const mem of [256 << 20, 14 * GiB, 14 * GiB + 4096, 100 * GiB, 8191 * GiB]) {
      expect(pcieMmio64Base(mem)).toBeGreaterThanOrEqual(RAM_BASE + mem);
      expect(pcieMmio64Base(mem) % (16 * GiB)).toBe(0);
    }
  });

  it("matches QEMU's own device tree for -m 256M, 14G and 15G", () => {
    const qemu = requireDebianTool('qemu-system-riscv64', 'qemu-system-misc');
    if (!qemu) return;
    const dir = mkdtempSync(join(tmpdir(), 'vm-qemu-dtb-'));
    for (const [m, bytes] of [
      ['256M', 256 << 20],
      ['14G', 14 * GiB],
      ['15G', 15 * GiB],
    ] as const) {
      const file = join(dir, `${m}.dtb`);
      const r = spawnSync(qemu, ['-M', `virt,dumpdtb=${file}`, '-m', m, '-nographic'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(mem64(buildDtb(cfg({ memBytes: bytes })))).toEqual(mem64(readFileSync(file)));
    }
  });

  it('RAM the board cannot hold is refused naming the limit', () => {
    expect(ramLayoutProblem(256 << 20, 50)).toBeUndefined();
    expect(ramLayoutProblem(2 ** 43 - 4096, 50)).toBeUndefined();
    expect(ramLayoutProblem(2 ** 43, 50)).toBe(
      'RAM is one KVM memslot, at most KVM_MEM_MAX_NR_PAGES (2147483647) pages of 4 KiB',
    );
    // Sv39x4: 2 TiB of guest physical space; 2 TiB of RAM leaves no room for the window above it.
    expect(ramLayoutProblem(2 * 2 ** 40 - 32 * GiB, 41)).toBeUndefined();
    expect(ramLayoutProblem(2 * 2 ** 40, 41)).toBe(
      'RAM and the 64-bit PCI window above it end at 0x20800000000, beyond the 41-bit guest physical address space (KVM_CAP_VM_GPA_BITS)',
    );
  });
});
