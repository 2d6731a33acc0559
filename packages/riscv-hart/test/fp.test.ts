import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import { bareHart, RAM } from './setup.ts';

const D = RAM + 0x1000;
const faddD = (rd: number, rs1: number, rs2: number) =>
  ((0x01 << 25) | (rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x53) >>> 0;
const fdivS = (rd: number, rs1: number, rs2: number) =>
  ((0x0c << 25) | (rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x53) >>> 0;

function fpHart(code: number[]) {
  const { hart, mem } = bareHart();
  mem.code(RAM, [...code, A.ECALL]);
  hart.setX(1, BigInt(D));
  return { hart, mem };
}

describe('F/D loads, stores and the FP unit', () => {
  it('flw NaN-boxes, fld loads 64 bits, fsw/fsd store them; loads make FS Dirty in both status registers', () => {
    const { hart, mem } = fpHart([A.flw(1, 1, 0), A.fld(2, 1, 8), A.fsw(1, 1, 16), A.fsd(2, 1, 24)]);
    mem.w32(D, 0x3f80_0000);
    mem.w64(D + 8, 0x4000_0000_0000_0000n);
    expect(hart.run(10).kind).toBe('ecall');
    expect(hart.getF(1)).toBe(0xffff_ffff_3f80_0000n);
    expect(hart.getF(2)).toBe(0x4000_0000_0000_0000n);
    expect(mem.r32(D + 16)).toBe(0x3f80_0000);
    expect(mem.r64(D + 24)).toBe(0x4000_0000_0000_0000n);
    expect(hart.getCsr(C.CSR_VSSTATUS) & BigInt(C.SR_FS)).toBe(BigInt(C.SR_FS_DIRTY));
    expect(hart.getCsr(C.CSR_VSSTATUS) >> 63n).toBe(1n); // SD
    expect(hart.getCsr(C.CSR_SSTATUS) & BigInt(C.SR_FS)).toBe(BigInt(C.SR_FS_DIRTY));
  });
  it('fadd.d goes through executeFp; fdiv.s by zero sets DZ in fflags (read through fflags CSR)', () => {
    const { hart } = fpHart([faddD(3, 1, 2), fdivS(4, 5, 6), A.csrrs(7, 0x001, 0)]);
    hart.setF(1, 0x3ff8_0000_0000_0000n); // 1.5
    hart.setF(2, 0x4004_0000_0000_0000n); // 2.5
    hart.setF(5, 0xffff_ffff_3f80_0000n); // 1.0f
    hart.setF(6, 0xffff_ffff_0000_0000n); // +0.0f
    expect(hart.run(10).kind).toBe('ecall');
    expect(hart.getF(3)).toBe(0x4010_0000_0000_0000n); // 4.0
    expect(hart.getF(4)).toBe(0xffff_ffff_7f80_0000n); // +inf
    expect(hart.getX(7)).toBe(8n); // DZ
  });
  it('FS = Off in vsstatus makes FP loads, ops and fcsr access illegal; nothing is written', () => {
    for (const insn of [A.flw(1, 1, 0), faddD(3, 1, 2), A.csrrs(7, 0x003, 0), 0x2588 /* c.fld */]) {
      const { hart, mem } = bareHart();
      if (insn < 0x10000) mem.w16(RAM, insn);
      else mem.code(RAM, [insn]);
      hart.setX(1, BigInt(D));
      hart.setX(11, BigInt(D));
      hart.setCsr(C.CSR_VSSTATUS, 0n);
      const e = hart.run(10);
      expect(e.kind).toBe('illegal-instruction');
      expect(e.tval).toBe(BigInt(insn));
      expect(hart.getF(1)).toBe(0n);
      expect(hart.getCsr(C.CSR_VSSTATUS)).toBe(2n << 32n);
    }
  });
  it('FS = Off in the HS sstatus (mstatus) also makes them illegal', () => {
    const { hart } = fpHart([A.fld(2, 1, 8)]);
    hart.setCsr(C.CSR_SSTATUS, 0n);
    expect(hart.run(10).kind).toBe('illegal-instruction');
  });
  it('an invalid rounding mode is illegal (the FP unit refuses it)', () => {
    const { hart } = fpHart([faddD(3, 1, 2) | (5 << 12)]);
    expect(hart.run(10).kind).toBe('illegal-instruction');
  });
  it('fcsr splits into frm and fflags', () => {
    const { hart } = fpHart([
      A.addi(2, 0, 0xe5),
      A.csrrw(0, 0x003, 2),
      A.csrrs(3, 0x002, 0),
      A.csrrs(4, 0x001, 0),
    ]);
    hart.run(10);
    expect(hart.getX(3)).toBe(7n);
    expect(hart.getX(4)).toBe(5n);
    expect(hart.frm).toBe(7);
  });
});
