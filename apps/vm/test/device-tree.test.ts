import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDtb } from '@tsvirt/fdt';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { type BoardConfig, buildDtb, isaString } from '../src/board/device-tree.ts';
import { pcieMmio64Base, RAM_BASE, ramLayoutProblem } from '../src/board/layout.ts';
import { GUEST_ISA } from '../src/machine.ts';

const cfg = (over: Partial<BoardConfig> = {}): BoardConfig => ({
  cpus: 2,
  memBytes: 256 << 20,
  isa: GUEST_ISA,
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

  it('gives riscv,isa-base and riscv,isa-extensions beside riscv,isa, as QEMU 8+ does', () => {
    const t = fromDtb(buildDtb(cfg({ cpus: 2 })));
    for (const i of [0, 1]) {
      const cpu = t.find(`/cpus/cpu@${i}`)!;
      expect(cpu.strings('riscv,isa-base')).toEqual(['rv64i']);
      expect(cpu.strings('riscv,isa-extensions')).toEqual([
        'i',
        'm',
        'a',
        'f',
        'd',
        'c',
        'zicntr',
        'zicsr',
        'zifencei',
        'sstc',
      ]);
      expect(cpu.strings('riscv,isa')).toEqual(['rv64imafdc_zicntr_zicsr_zifencei_sstc']);
    }
  });

  it('keeps every non-prefetchable window under 4 GiB, so Linux does not warn about its size', () => {
    const ranges = fromDtb(buildDtb(cfg())).find('/soc/pci@30000000')!.cells('ranges')!;
    // (pci flags, pci addr hi/lo, cpu addr hi/lo, size hi/lo) x 3: I/O, 32-bit, 64-bit
    expect(ranges).toHaveLength(21);
    expect(ranges[0]).toBe(0x0100_0000);
    expect(ranges[7]).toBe(0x0200_0000);
    // 64-bit, non-prefetchable (a prefetchable one above 4 GiB gets U-Boot 2023.01 to write 0 into BAR bits 63:32).
    expect(ranges[14]).toBe(0x0300_0000);
    expect(ranges.slice(19, 21)).toEqual([0, 0x8000_0000]); // 2 GiB: upper_32_bits(size) == 0
  });

  it('derives the riscv,isa string from the base and the extension list', () => {
    expect(isaString({ base: 'rv64i', extensions: ['i', 'm', 'a', 'c'] })).toBe('rv64imac');
    expect(isaString({ base: 'rv64i', extensions: ['i', 'm', 'zicsr', 'sstc'] })).toBe('rv64im_zicsr_sstc');
  });

  it('decompiles with dtc without errors or warnings', () => {
    for (const cpus of [1, 4]) {
      const r = decompile(buildDtb(cfg({ cpus })));
      if (!r) return;
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.dts).toContain('compatible = "pci-host-ecam-generic";');
      expect(r.dts).toContain(`cpu@${cpus - 1} {`);
      expect(r.dts).toContain('riscv,isa-base = "rv64i";');
      // dtc prints a list of short strings as one string with \0 separators; the bytes are the same.
      const ext = /riscv,isa-extensions = (.*);/.exec(r.dts)?.[1]?.replaceAll('", "', '\\0');
      expect(ext).toBe('"i\\0m\\0a\\0f\\0d\\0c\\0zicntr\\0zicsr\\0zifencei\\0sstc"');
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

  it('sits above RAM at its end rounded up to 16 GiB, as QEMU virt places it; 2 GiB, non-prefetchable', () => {
    expect(mem64(buildDtb(cfg()))).toEqual([16 * GiB, 16 * GiB, 2 * GiB]);
    expect(mem64(buildDtb(cfg({ memBytes: 14 * GiB })))[1]).toBe(16 * GiB); // RAM ends exactly there
    expect(mem64(buildDtb(cfg({ memBytes: 15 * GiB })))[1]).toBe(32 * GiB);
    for (const mem of [256 << 20, 14 * GiB, 14 * GiB + 4096, 100 * GiB, 8191 * GiB]) {
      expect(pcieMmio64Base(mem)).toBeGreaterThanOrEqual(RAM_BASE + mem);
      expect(pcieMmio64Base(mem) % (16 * GiB)).toBe(0);
    }
  });

  it("is where QEMU's own device tree puts it for -m 256M, 14G and 15G (QEMU's is 16 GiB long)", () => {
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
      const [pci, cpu, size] = mem64(readFileSync(file));
      expect(size).toBe(16 * GiB);
      expect(mem64(buildDtb(cfg({ memBytes: bytes })))).toEqual([pci, cpu, 2 * GiB]);
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
      'RAM and the 64-bit PCI window above it end at 0x20480000000, beyond the 41-bit guest physical address space (KVM_CAP_VM_GPA_BITS)',
    );
  });
});
