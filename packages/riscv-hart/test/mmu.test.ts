import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import { Hart, HTINST_PTE_READ } from '../src/index.ts';
import { FakeMem } from './fake-mem.ts';
import { PageTableBuilder, PTE_A, PTE_D, PTE_R, PTE_U, PTE_W, PTE_X, RWX } from './pt.ts';
import { GPA, HPA, twoStageHart, VA } from './two-stage.ts';

const DATA = VA + 0x10_0000; // mapped: GPA 0x4010_0000 -> HPA 0x8010_0000
const va64 = (v: number) => BigInt.asUintN(64, BigInt(v));

/** A two-stage guest running `code` at VA, with x1 = `addr`. */
function guest(code: number[], addr: number, opts: Parameters<typeof twoStageHart>[0] = {}) {
  const t = twoStageHart(opts);
  t.mem.code(t.host(VA), [...code, A.ECALL]);
  t.hart.setX(1, va64(addr));
  return t;
}

describe('two-stage translation: VS-stage Sv39/Sv48 over G-stage Sv39x4', () => {
  for (const vs of [8, 9] as const) {
    it(`loads and stores reach the host frame the two stages name (VS mode ${vs})`, () => {
      const { hart, mem, host } = guest([A.ld(3, 1, 8), A.addi(3, 3, 1), A.sd(3, 1, 16)], DATA, { vs });
      mem.w64(host(DATA) + 8, 41n);
      const e = hart.run(100);
      expect(e.kind).toBe('ecall');
      expect(mem.r64(HPA + 0x10_0000 + 16)).toBe(42n);
      expect(e.pc).toBe(va64(VA + 12));
    });
  }
  it('a 2 MiB VS superpage translates every 4 KiB page inside it', () => {
    const t = twoStageHart();
    // Map VA + 0x4000_0000 (a fresh 1 GiB slot) with a 2 MiB leaf onto GPA 0x4020_0000.
    const big = VA + 0x4000_0000;
    t.vs.map(t.vsRoot, big, GPA + 0x20_0000, RWX | PTE_A | PTE_D, 3, false, 1);
    t.mem.code(t.host(VA), [A.ld(3, 1, 0), A.ECALL]);
    t.mem.w64(HPA + 0x20_0000 + 0x1_2340, 77n);
    t.hart.setX(1, va64(big + 0x1_2340));
    expect(t.hart.run(10).kind).toBe('ecall');
    expect(t.hart.getX(3)).toBe(77n);
  });
});

describe('VS-stage faults', () => {
  it('an unmapped VA is a load page fault (13) exit with tval = VA and GVA set', () => {
    const { hart } = guest([A.ld(3, 1, 0)], VA + 0x38_0000);
    const e = hart.run(10);
    expect(e.kind).toBe('exception');
    expect(e.cause).toBe(13);
    expect(e.tval).toBe(va64(VA + 0x38_0000));
    expect(e.gva).toBe(true);
    expect(hart.getCsr(C.CSR_HSTATUS) & BigInt(C.HSTATUS_GVA)).toBe(BigInt(C.HSTATUS_GVA));
  });
  it('with hedeleg the page fault goes to the guest handler with stval = VA', () => {
    const t = guest([A.sd(3, 1, 0)], VA + 0x38_0000);
    const handler = VA + 0x800;
    t.mem.code(t.host(handler), [A.csrrs(7, 0x142, 0), A.csrrs(8, 0x143, 0), A.ECALL]);
    t.hart.setCsr(C.CSR_VSTVEC, va64(handler));
    t.hart.setCsr(C.CSR_HEDELEG, 1n << 15n);
    expect(t.hart.run(100).kind).toBe('ecall');
    expect(t.hart.getX(7)).toBe(15n);
    expect(t.hart.getX(8)).toBe(BigInt(VA + 0x38_0000));
  });
  it('a non-canonical Sv39 address is a page fault', () => {
    const { hart } = guest([A.ld(3, 1, 0)], 0);
    hart.setX(1, 0x0000_0080_0000_0000n); // bit 39 set, bits 63:40 clear
    expect(hart.run(10).cause).toBe(13);
  });
  it('write to a read-only page is a store page fault (15)', () => {
    const t = guest([A.sd(3, 1, 0)], DATA);
    t.vs.map(t.vsRoot, DATA, GPA + 0x10_0000, PTE_R | PTE_A | PTE_D, 3);
    expect(t.hart.run(10).cause).toBe(15);
  });
  it('U pages: VS needs SUM to load and may never execute; VU needs U', () => {
    const t = guest([A.ld(3, 1, 0)], DATA);
    t.vs.map(t.vsRoot, DATA, GPA + 0x10_0000, RWX | PTE_U | PTE_A | PTE_D, 3);
    expect(t.hart.run(10).cause).toBe(13);
    t.hart.setCsr(C.CSR_VSSTATUS, BigInt(C.SR_SUM));
    expect(t.hart.run(10).kind).toBe('ecall');
    // Executing from a U page in VS is an instruction page fault even with SUM.
    t.hart.pc = va64(DATA);
    const e = t.hart.run(10);
    expect(e.cause).toBe(12);
    expect(e.tval).toBe(va64(DATA));
    // VU on a non-U page.
    const u = guest([A.ld(3, 1, 0)], DATA);
    u.hart.setMode(C.PRV_U, 1);
    expect(u.hart.run(10).cause).toBe(12); // the code page itself is not U
  });
  it('MXR makes execute-only pages readable', () => {
    const t = guest([A.ld(3, 1, 0)], DATA);
    t.vs.map(t.vsRoot, DATA, GPA + 0x10_0000, PTE_X | PTE_A, 3);
    expect(t.hart.run(10).cause).toBe(13);
    t.hart.setCsr(C.CSR_VSSTATUS, BigInt(C.SR_MXR));
    expect(t.hart.run(10).kind).toBe('ecall');
  });
  it('a misaligned superpage and reserved PTE bits are page faults', () => {
    const t = guest([A.ld(3, 1, 0)], VA + 0x4000_0000);
    t.vs.map(t.vsRoot, VA + 0x4000_0000, GPA + 0x1000, RWX | PTE_A | PTE_D, 3, false, 1);
    expect(t.hart.run(10).cause).toBe(13);
    const r = guest([A.ld(3, 1, 0)], DATA);
    const slot = r.vs.leafSlot(r.vsRoot, DATA, 3);
    r.mem.w64(slot, r.mem.r64(slot) | (1n << 63n)); // N bit without Svnapot
    expect(r.hart.run(10).cause).toBe(13);
  });
});

describe('G-stage faults exit to HS with the guest physical address', () => {
  it('load: cause 21, tval = VA, htval = GPA >> 2, htinst = the transformed load', () => {
    const t = guest([A.addi(0, 0, 0), A.ld(3, 1, 0x10)], DATA);
    const gslot = t.g.leafSlot(t.gRoot, GPA + 0x10_0000, 3, true);
    t.mem.w64(gslot, 0n);
    t.hart.flushGStage(1);
    const e = t.hart.run(10);
    expect(e.kind).toBe('guest-page-fault');
    expect(e.cause).toBe(21);
    expect(e.tval).toBe(va64(DATA + 0x10));
    expect(e.htval).toBe(BigInt((GPA + 0x10_0010) / 4));
    expect(e.htinst).toBe(BigInt((3 << 12) | (3 << 7) | 0x03)); // ld x3, 0(x0) with bit 1 set: 32-bit
    expect(e.gva).toBe(true);
    expect(e.pc).toBe(va64(VA + 4));
    expect(t.hart.getCsr(C.CSR_HTVAL)).toBe(e.htval);
  });
  it('store to a G-stage read-only page (dirty logging write-protect): cause 23, htinst keeps rs2', () => {
    const t = guest([A.sd(9, 1, 8)], DATA);
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x10_0000, PTE_R | PTE_U | PTE_A | PTE_D, 3, true);
    t.hart.flushGStage();
    const e = t.hart.run(10);
    expect(e.cause).toBe(23);
    expect(e.htinst).toBe(BigInt((9 << 20) | (3 << 12) | 0x23));
    expect(e.htval).toBe(BigInt((GPA + 0x10_0008) / 4));
  });
  it('a misaligned store into a page missing from the G-stage writes none of its bytes', () => {
    // sd x9, 0(x1) at DATA + 0xffc: four bytes on DATA's page, four on the next, whose G-stage leaf is cleared.
    const t = guest([A.sd(9, 1, 0)], DATA + 0xffc);
    t.hart.setX(9, 0x1122_3344_5566_7788n);
    t.mem.w64(t.g.leafSlot(t.gRoot, GPA + 0x10_1000, 3, true), 0n);
    t.hart.flushGStage();
    const before = t.mem.r64(HPA + 0x10_0ff8);
    const e = t.hart.run(10);
    expect(e.kind).toBe('guest-page-fault');
    expect(e.cause).toBe(23);
    expect(e.pc).toBe(va64(VA));
    // The fault reports the access's last byte, on the missing page.
    expect(e.tval).toBe(va64(DATA + 0x1003));
    expect(e.htval).toBe(BigInt(Math.floor((GPA + 0x10_1003) / 4)));
    expect(t.mem.r64(HPA + 0x10_0ff8)).toBe(before);
    expect(t.hart.instret).toBe(0);
  });
  it('a compressed load reports its 32-bit expansion with bit 1 clear', () => {
    const t = twoStageHart();
    t.mem.w16(t.host(VA), 0x6588); // c.ld a0, 8(a1)
    t.hart.setX(11, va64(DATA));
    t.mem.w64(t.g.leafSlot(t.gRoot, GPA + 0x10_0000, 3, true), 0n);
    t.hart.flushGStage();
    const e = t.hart.run(10);
    expect(e.cause).toBe(21);
    expect(e.htinst).toBe(BigInt(((3 << 12) | (10 << 7) | 0x03) & ~2));
  });
  it('a VS page-table page missing from the G-stage faults as the access, with the PTE pseudoinstruction', () => {
    const t = guest([A.ld(3, 1, 0)], DATA);
    // The leaf table for DATA: its GPA is in the parent entry.
    const leaf = t.vs.leafSlot(t.vsRoot, DATA, 3) - HPA + GPA; // the leaf PTE's GPA
    const tableGpa = leaf - (leaf % 4096);
    t.mem.w64(t.g.leafSlot(t.gRoot, tableGpa, 3, true), 0n);
    t.hart.flushGStage();
    // The code page (VA) shares that leaf table, so the fetch walk faults first:
    // cause 20 (the access is a fetch), htval = GPA of the code page's PTE >> 2.
    const e = t.hart.run(10);
    expect(e.kind).toBe('guest-page-fault');
    expect(e.cause).toBe(20);
    expect(e.htinst).toBe(BigInt(HTINST_PTE_READ));
    expect(e.htval).toBe(BigInt(tableGpa / 4));
    expect(e.tval).toBe(va64(VA));
  });
  it('a fetch from a page missing in the G-stage is cause 20 with htinst 0', () => {
    const t = guest([], DATA);
    t.mem.w64(t.g.leafSlot(t.gRoot, GPA + 0x10_0000, 3, true), 0n);
    t.hart.flushGStage();
    t.hart.pc = va64(DATA + 4);
    const e = t.hart.run(10);
    expect(e.cause).toBe(20);
    expect(e.htinst).toBe(0n);
    expect(e.tval).toBe(va64(DATA + 4));
    expect(e.htval).toBe(BigInt((GPA + 0x10_0004) / 4));
  });
  it('a G-stage leaf without U is a guest-page fault; so is a GPA beyond 2^41 with bare VS', () => {
    const t = guest([A.ld(3, 1, 0)], DATA);
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x10_0000, PTE_R | PTE_W | PTE_A | PTE_D, 3, true);
    t.hart.flushGStage();
    expect(t.hart.run(10).cause).toBe(21);
    // Bare VS-stage: the VA is the GPA.
    const b = twoStageHart();
    b.hart.setCsr(C.CSR_VSATP, 0n);
    b.hart.pc = BigInt(GPA);
    b.mem.code(HPA, [A.ld(3, 1, 0), A.ECALL]);
    b.hart.setX(1, 1n << 41n);
    const e = b.hart.run(10);
    expect(e.cause).toBe(21);
    expect(e.htval).toBe((1n << 41n) >> 2n);
  });
});

describe('A/D bits', () => {
  it('hardware sets A on a load and D on a store, in both stages (Svadu)', () => {
    const t = guest([A.ld(3, 1, 0), A.sd(3, 2, 0)], DATA);
    t.hart.setX(2, va64(DATA + 0x1000));
    t.vs.map(t.vsRoot, DATA, GPA + 0x10_0000, PTE_R | PTE_W, 3);
    t.vs.map(t.vsRoot, DATA + 0x1000, GPA + 0x10_1000, PTE_R | PTE_W, 3);
    t.g.map(t.gRoot, GPA + 0x10_1000, HPA + 0x10_1000, PTE_R | PTE_W | PTE_U, 3, true);
    expect(t.hart.run(10).kind).toBe('ecall');
    const vsPte = (va: number) => t.mem.r64(t.vs.leafSlot(t.vsRoot, va, 3));
    expect(vsPte(DATA) & 0xc0n).toBe(BigInt(PTE_A));
    expect(vsPte(DATA + 0x1000) & 0xc0n).toBe(BigInt(PTE_A | PTE_D));
    expect(t.mem.r64(t.g.leafSlot(t.gRoot, GPA + 0x10_1000, 3, true)) & 0xc0n).toBe(BigInt(PTE_A | PTE_D));
  });
  it('without hardware A/D (Svade) a clear A is a page fault, a clear D a store page fault', () => {
    const t = guest([A.ld(3, 1, 0)], DATA, { hart: { hardwareAd: false } });
    t.vs.map(t.vsRoot, DATA, GPA + 0x10_0000, PTE_R | PTE_W, 3);
    expect(t.hart.run(10).cause).toBe(13);
    const s = guest([A.sd(3, 1, 0)], DATA, { hart: { hardwareAd: false } });
    s.vs.map(s.vsRoot, DATA, GPA + 0x10_0000, PTE_R | PTE_W | PTE_A, 3);
    expect(s.hart.run(10).cause).toBe(15);
    const g = guest([A.ld(3, 1, 0)], DATA, { hart: { hardwareAd: false } });
    g.g.map(g.gRoot, GPA + 0x10_0000, HPA + 0x10_0000, PTE_R | PTE_U, 3, true);
    expect(g.hart.run(10).cause).toBe(21);
  });
});

describe('other translation modes', () => {
  it('G-stage Sv48x4 reaches GPAs above 2^41 and faults at 2^50', () => {
    const mem = new FakeMem(HPA / 4096, 64);
    const b = new PageTableBuilder(mem, HPA + 0x1_0000);
    const root = b.alloc(4);
    const high = 2 ** 45 + 0x3000;
    b.map(root, high, HPA + 0x8000, RWX | PTE_U | PTE_A | PTE_D, 4, true);
    b.map(root, 0x1000, HPA, RWX | PTE_U | PTE_A | PTE_D, 4, true); // code page at GPA 0x1000
    mem.code(HPA, [A.ld(3, 1, 8), A.ld(4, 2, 0), A.ECALL]);
    mem.w64(HPA + 0x8008, 99n);
    const hart = new Hart({ mem });
    hart.setCsr(C.CSR_HGATP, (9n << 60n) | (5n << 44n) | BigInt(root / 4096));
    hart.pc = 0x1000n;
    hart.setX(1, BigInt(high));
    hart.setX(2, 1n << 50n);
    const e = hart.run(10);
    expect(hart.getX(3)).toBe(99n);
    expect(e.cause).toBe(21);
    expect(e.htval).toBe((1n << 50n) >> 2n);
  });
  it('HS-mode (V=0) uses satp alone; its faults exit with GVA clear', () => {
    const mem = new FakeMem(HPA / 4096, 64);
    const b = new PageTableBuilder(mem, HPA + 0x1_0000);
    const root = b.alloc();
    b.map(root, 0x40_0000, HPA, RWX | PTE_A | PTE_D, 3);
    b.map(root, 0x40_1000, HPA + 0x8000, PTE_R | PTE_A, 3);
    mem.code(HPA, [A.ld(3, 1, 0), A.sd(3, 1, 0), A.ECALL]);
    mem.w64(HPA + 0x8000, 5n);
    const hart = new Hart({ mem });
    hart.setMode(C.PRV_S, 0);
    hart.setCsr(C.CSR_SATP, (8n << 60n) | (0xfedcn << 44n) | BigInt(root / 4096));
    expect(hart.getCsr(C.CSR_SATP) >> 44n).toBe((8n << 16n) | 0xfedcn); // the whole ASID is kept
    hart.pc = 0x40_0000n;
    hart.setX(1, 0x40_1000n);
    const e = hart.run(10);
    expect(hart.getX(3)).toBe(5n);
    expect(e.cause).toBe(15);
    expect(e.v).toBe(0);
    expect(e.gva).toBe(false);
  });
});
