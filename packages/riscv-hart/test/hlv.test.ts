import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import { PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from './pt.ts';
import { GPA, HPA, twoStageHart, VA } from './two-stage.ts';

const sys4 = (f7: number, rs2: number, rs1: number, rd: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (4 << 12) | (rd << 7) | 0x73) >>> 0;
const hlvD = (rd: number, rs1: number) => sys4(0x36, 0, rs1, rd);
const hlvB = (rd: number, rs1: number) => sys4(0x30, 0, rs1, rd);
const hlvxWu = (rd: number, rs1: number) => sys4(0x34, 3, rs1, rd);
const hsvW = (rs2: number, rs1: number) => sys4(0x35, rs2, rs1, 0);
const DATA = VA + 0x10_0000;
const va64 = (v: number) => BigInt.asUintN(64, BigInt(v));
const HS_CODE = HPA + 0x3f_0000;

/** The two-stage guest, with the hart switched to HS (V=0) running host code. */
function hs(code: number[]) {
  const t = twoStageHart();
  t.mem.code(HS_CODE, [...code, A.ECALL]);
  t.hart.setMode(C.PRV_S, 0);
  t.hart.pc = BigInt(HS_CODE);
  t.hart.setX(1, va64(DATA));
  t.hart.setCsr(C.CSR_HSTATUS, BigInt(C.HSTATUS_SPVP)); // accesses as VS
  return t;
}

describe('HLV/HLVX/HSV', () => {
  it('HS reads and writes guest memory through both stages at the SPVP privilege', () => {
    const t = hs([hlvD(3, 1), hsvW(4, 1), hlvB(5, 1), hlvxWu(6, 7)]);
    t.mem.w64(HPA + 0x10_0000, 0x8877_6655_4433_2281n);
    t.mem.code(t.host(VA), [A.addi(9, 9, 9)]);
    t.hart.setX(4, 0x1234_5678n);
    t.hart.setX(7, va64(VA));
    const e = t.hart.run(10);
    expect(e.kind).toBe('ecall');
    expect(e.cause).toBe(9);
    expect(t.hart.getX(3)).toBe(BigInt.asIntN(64, 0x8877_6655_4433_2281n));
    expect(t.mem.r64(HPA + 0x10_0000)).toBe(0x8877_6655_1234_5678n);
    expect(t.hart.getX(5)).toBe(0x78n);
    expect(t.hart.getX(6)).toBe(BigInt(A.addi(9, 9, 9)));
    expect(t.hart.v).toBe(0); // back in HS
  });
  it('HLVX needs execute permission and faults as a load (cause 13), with GVA', () => {
    const t = hs([hlvxWu(6, 1)]);
    t.vs.map(t.vsRoot, DATA, GPA + 0x10_0000, PTE_R | PTE_W | PTE_A | PTE_D, 3);
    const e = t.hart.run(10);
    expect(e.cause).toBe(13);
    expect(e.gva).toBe(true);
    expect(e.tval).toBe(va64(DATA));
    expect(t.hart.v).toBe(0);
  });
  it('a G-stage miss during HLV is a load guest-page fault with htval', () => {
    const t = hs([hlvD(3, 1)]);
    t.mem.w64(t.g.leafSlot(t.gRoot, GPA + 0x10_0000, 3, true), 0n);
    t.hart.flushGStage();
    const e = t.hart.run(10);
    expect(e.cause).toBe(21);
    expect(e.htval).toBe(BigInt((GPA + 0x10_0000) / 4));
  });
  it('HS sstatus.MXR makes an execute-only G-stage page readable to the access, not to the VS-stage walk', () => {
    // The priv spec's clarification (riscv-isa-manual #1543, Spike #1760): MXR
    // covers explicit accesses only; the implicit reads of VS-level page tables
    // need G-stage read permission whatever MXR says.
    const execOnly = (gpa: number) => {
      const slot = t.g.leafSlot(t.gRoot, gpa, 3, true);
      t.mem.w64(slot, (t.mem.r64(slot) & ~0x3ffn) | BigInt(PTE_V | PTE_X | PTE_U | PTE_A));
      t.hart.flushGStage();
    };
    const t = hs([hlvD(3, 1)]);
    t.hart.setCsr(C.CSR_SSTATUS, BigInt(C.SR_MXR));
    t.mem.w64(HPA + 0x10_0000, 0x1122_3344_5566_7788n);
    execOnly(GPA + 0x10_0000); // the data page: MXR lets the load read it
    let e = t.hart.run(10);
    expect(e.kind).toBe('ecall');
    expect(t.hart.getX(3)).toBe(0x1122_3344_5566_7788n);

    const u = hs([hlvD(3, 1)]);
    u.hart.setCsr(C.CSR_SSTATUS, BigInt(C.SR_MXR));
    const slot = u.g.leafSlot(u.gRoot, u.vsRoot, 3, true); // the VS root table's page
    u.mem.w64(slot, (u.mem.r64(slot) & ~0x3ffn) | BigInt(PTE_V | PTE_X | PTE_U | PTE_A));
    u.hart.flushGStage();
    e = u.hart.run(10);
    expect(e.cause).toBe(21); // load guest-page fault on the implicit PTE read
    expect(e.htinst).toBe(0x3000n); // HTINST_PTE_READ
    expect(e.htval).toBe(BigInt((u.vsRoot + 256 * 8) / 4)); // the root PTE of VA (index 256)
  });
  it('from V=1 they are virtual instructions; from U without hstatus.HU illegal', () => {
    const t = twoStageHart();
    t.mem.code(t.host(VA), [hlvD(3, 1)]);
    expect(t.hart.run(10).kind).toBe('virtual-instruction');
    const u = hs([hlvD(3, 1)]);
    u.hart.setMode(C.PRV_U, 0);
    expect(u.hart.run(10).kind).toBe('illegal-instruction');
    u.hart.setCsr(C.CSR_HSTATUS, BigInt(C.HSTATUS_HU | C.HSTATUS_SPVP));
    u.hart.pc = BigInt(HS_CODE);
    expect(u.hart.run(10).cause).toBe(8); // ran, then ecall from U
  });
  it('reserved forms (hlvx.bu, hlv.d with rs2 = 1) are illegal', () => {
    for (const insn of [sys4(0x30, 3, 1, 3), sys4(0x36, 1, 1, 3)]) {
      const t = hs([insn]);
      expect(t.hart.run(10).kind).toBe('illegal-instruction');
    }
  });
});
