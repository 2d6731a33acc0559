import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import { PTE_A, PTE_D, PTE_R, PTE_U, RWX } from './pt.ts';
import { GPA, HPA, twoStageHart, VA } from './two-stage.ts';

const DATA = VA + 0x10_0000;
const va64 = (v: number) => BigInt.asUintN(64, BigInt(v));
const FLAGS = RWX | PTE_A | PTE_D;

/** Guest code: load x3 from (x1), exit; re-run from VA each time. */
function setup() {
  const t = twoStageHart();
  t.mem.code(t.host(VA), [A.ld(3, 1, 0), A.ECALL]);
  t.hart.setX(1, va64(DATA));
  t.mem.w64(HPA + 0x10_0000, 1n);
  t.mem.w64(HPA + 0x20_0000, 2n);
  const again = () => {
    t.hart.pc = va64(VA);
    expect(t.hart.run(10).kind).toBe('ecall');
    return t.hart.getX(3);
  };
  return { ...t, again };
}

describe('TLB invalidation', () => {
  it('a changed VS PTE is not seen until sfence.vma (the TLB caches it); then it is', () => {
    const t = setup();
    expect(t.again()).toBe(1n);
    t.vs.map(t.vsRoot, DATA, GPA + 0x20_0000, FLAGS, 3);
    expect(t.again()).toBe(1n); // stale, as hardware may be
    t.mem.code(t.host(VA) + 8, [A.sfenceVma(1, 0), A.ECALL]);
    t.hart.pc = va64(VA + 8);
    expect(t.hart.run(10).kind).toBe('ecall');
    expect(t.again()).toBe(2n);
  });
  it('sfence.vma with an ASID leaves other address spaces cached', () => {
    const t = setup();
    expect(t.again()).toBe(1n); // cached under ASID 0
    t.vs.map(t.vsRoot, DATA, GPA + 0x20_0000, FLAGS, 3);
    t.hart.setX(5, 7n);
    t.mem.code(t.host(VA) + 8, [A.sfenceVma(0, 5), A.ECALL]); // flush ASID 7 only
    t.hart.pc = va64(VA + 8);
    t.hart.run(10);
    expect(t.again()).toBe(1n);
    t.mem.code(t.host(VA) + 8, [A.sfenceVma(0, 0), A.ECALL]);
    t.hart.pc = va64(VA + 8);
    t.hart.run(10);
    expect(t.again()).toBe(2n);
  });
  it('flushGStage(vmid) drops combined translations after the KVM MMU changes the G-stage', () => {
    const t = setup();
    expect(t.again()).toBe(1n);
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x20_0000, RWX | PTE_U | PTE_A | PTE_D, 3, true);
    expect(t.again()).toBe(1n);
    t.hart.flushGStage(2); // another VM: no effect here
    expect(t.again()).toBe(1n);
    t.hart.flushGStage(1);
    expect(t.again()).toBe(2n);
  });
  it('hfence.gvma executed in HS drops the VMID translations; hfence.vvma the VS ones', () => {
    const t = setup();
    expect(t.again()).toBe(1n);
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x20_0000, RWX | PTE_U | PTE_A | PTE_D, 3, true);
    // HS code at a host physical address (satp bare): hfence.gvma zero, x5 (VMID 1).
    const hs = HPA + 0x3f_0000;
    t.mem.code(hs, [A.hfenceGvma(0, 5), A.ECALL]);
    const saved = t.hart.pc;
    t.hart.setMode(C.PRV_S, 0);
    t.hart.pc = BigInt(hs);
    t.hart.setX(5, 1n);
    const e = t.hart.run(10);
    expect(e.kind).toBe('ecall');
    expect(e.cause).toBe(9); // ecall from HS
    t.hart.setMode(C.PRV_S, 1);
    t.hart.pc = saved;
    expect(t.again()).toBe(2n);
    // hfence.vvma: a VS PTE change becomes visible.
    t.vs.map(t.vsRoot, DATA, GPA + 0x10_0000, FLAGS, 3); // GPA -> (G) HPA+0x20_0000 still
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x10_0000, RWX | PTE_U | PTE_A | PTE_D, 3, true);
    t.hart.flushGStage(1);
    expect(t.again()).toBe(1n);
    t.vs.map(t.vsRoot, DATA, GPA + 0x20_0000, FLAGS, 3);
    expect(t.again()).toBe(1n);
    t.mem.code(hs, [A.hfenceVvma(0, 0), A.ECALL]);
    t.hart.setMode(C.PRV_S, 0);
    t.hart.pc = BigInt(hs);
    t.hart.run(10);
    t.hart.setMode(C.PRV_S, 1);
    expect(t.again()).toBe(2n);
  });
  it('a vsatp write switches translation context: another ASID walks its own tables', () => {
    const t = setup();
    expect(t.again()).toBe(1n);
    // A second VS root mapping DATA elsewhere, with ASID 3.
    const root2 = t.vs.alloc();
    for (let off = 0; off < 0x30_0000; off += 4096) t.vs.map(root2, VA + off, GPA + off, FLAGS, 3);
    t.vs.map(root2, DATA, GPA + 0x20_0000, FLAGS, 3);
    const old = t.hart.getCsr(C.CSR_VSATP);
    t.hart.setCsr(C.CSR_VSATP, (8n << 60n) | (3n << 44n) | BigInt(root2 / 4096));
    expect(t.again()).toBe(2n);
    t.hart.setCsr(C.CSR_VSATP, old);
    expect(t.again()).toBe(1n);
  });
  it('stores through a cached write entry land in the frame; SMC is seen without fence.i', () => {
    const t = setup();
    // Guest overwrites its own next instruction (addi x4, x0, 1 -> addi x4, x0, 2) then runs it.
    const code = VA + 0x2000;
    t.mem.code(t.host(code), [A.sw(6, 7, 0), A.addi(4, 0, 1), A.ECALL]);
    t.hart.setX(6, BigInt(A.addi(4, 0, 2)));
    t.hart.setX(7, va64(code + 4));
    t.hart.pc = va64(code);
    expect(t.hart.run(10).kind).toBe('ecall');
    expect(t.hart.getX(4)).toBe(2n);
  });
});

describe('G-stage TLB (guest-physical leaf translations kept beside the combined ones)', () => {
  const G_FLAGS = RWX | PTE_U | PTE_A | PTE_D;
  it('a VS-stage re-walk after sfence.vma reuses the G-stage translation until flushGStage', () => {
    const t = setup();
    expect(t.again()).toBe(1n);
    // KVM moves the data page's GPA to another frame; the VS side is unchanged.
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x20_0000, G_FLAGS, 3, true);
    t.mem.code(t.host(VA) + 8, [A.sfenceVma(0, 0), A.ECALL]);
    t.hart.pc = va64(VA + 8);
    expect(t.hart.run(10).kind).toBe('ecall');
    expect(t.again()).toBe(1n); // stale G-stage entry, as hardware may keep it
    t.hart.flushGStage(1);
    expect(t.again()).toBe(2n);
  });
  it('a G-stage entry without W is walked again on a store: a page made writable is used at once', () => {
    const t = setup();
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x10_0000, PTE_R | PTE_U | PTE_A | PTE_D, 3, true);
    t.hart.flushGStage(1);
    expect(t.again()).toBe(1n); // read through the read-only G-stage page
    t.mem.code(t.host(VA) + 8, [A.sd(4, 1, 0), A.ECALL]);
    t.hart.setX(4, 9n);
    t.hart.pc = va64(VA + 8);
    const e = t.hart.run(10);
    expect(e.kind).toBe('guest-page-fault');
    expect(e.cause).toBe(23);
    // KVM's write fault handler makes it writable (no flush needed for a new permission).
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x10_0000, G_FLAGS, 3, true);
    t.hart.pc = va64(VA + 8);
    expect(t.hart.run(10).kind).toBe('ecall');
    expect(t.mem.r64(HPA + 0x10_0000)).toBe(9n);
  });
  it('a store after a load sets D in the G-stage leaf (the cached entry had only A)', () => {
    const t = setup();
    t.g.map(t.gRoot, GPA + 0x10_0000, HPA + 0x10_0000, RWX | PTE_U, 3, true);
    t.hart.flushGStage(1);
    const slot = t.g.leafSlot(t.gRoot, GPA + 0x10_0000, 3, true);
    expect(t.again()).toBe(1n);
    expect(Number(t.mem.r64(slot)) & (PTE_A | PTE_D)).toBe(PTE_A);
    t.mem.code(t.host(VA) + 8, [A.sd(4, 1, 0), A.ECALL]);
    t.hart.pc = va64(VA + 8);
    expect(t.hart.run(10).kind).toBe('ecall');
    expect(Number(t.mem.r64(slot)) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });
  it('another hgatp root is walked: entries of the old tables are not used', () => {
    const t = setup();
    expect(t.again()).toBe(1n);
    // A second G-stage (VMID 2) mapping the data GPA to another frame.
    const root2 = t.g.alloc(4);
    for (let off = 0; off < 4 << 20; off += 4096) t.g.map(root2, GPA + off, HPA + off, G_FLAGS, 3, true);
    t.g.map(root2, GPA + 0x10_0000, HPA + 0x20_0000, G_FLAGS, 3, true);
    t.hart.setCsr(0x680, (8n << 60n) | (2n << 44n) | BigInt(root2 / 4096));
    expect(t.again()).toBe(2n);
  });
});
