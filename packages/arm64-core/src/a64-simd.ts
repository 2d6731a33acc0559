import { MASK64, ones } from './bits.ts';
import type { Arm64Cpu } from './cpu.ts';
import { EC_FP_ACCESS, SyncException, undefinedInstruction } from './exceptions.ts';

/**
 * The FP/AdvSIMD subset the guests here execute: register moves, MOVI and
 * friends, DUP/INS/UMOV/SMOV, the bitwise vector ops, FMOV. Arithmetic
 * (FADD, integer vector arithmetic, crypto) is UNDEFINED.
 */

/** CPACR_EL1.FPEN: FP/SIMD use at EL1/EL0 traps to EL1 with EC 0x07 when disabled. */
export function fpAccessCheck(cpu: Arm64Cpu): void {
  const fpen = Number((cpu.cpacr >> 20n) & 3n);
  if (fpen === 3 || (fpen === 1 && cpu.el() === 1)) return;
  // QEMU's syndrome for AArch64: CV=1, COND=0xE.
  throw new SyncException(EC_FP_ACCESS, (1 << 24) | (0xe << 20));
}

export function readVec(cpu: Arm64Cpu, n: number): [bigint, bigint] {
  return [cpu.v[2 * n], cpu.v[2 * n + 1]];
}

export function writeVec(cpu: Arm64Cpu, n: number, lo: bigint, hi: bigint): void {
  cpu.v[2 * n] = lo;
  cpu.v[2 * n + 1] = hi;
}

/** Element `index` of `esize` bits from a 128-bit register. */
function getElem(cpu: Arm64Cpu, n: number, index: number, esize: number): bigint {
  const bit = index * esize;
  const half = cpu.v[2 * n + (bit >= 64 ? 1 : 0)];
  return (half >> BigInt(bit % 64)) & ones(esize);
}

function setElem(cpu: Arm64Cpu, n: number, index: number, esize: number, value: bigint): void {
  const bit = index * esize;
  const i = 2 * n + (bit >= 64 ? 1 : 0);
  const sh = BigInt(bit % 64);
  const m = ones(esize) << sh;
  cpu.v[i] = (cpu.v[i] & ~m) | ((value << sh) & m);
}

/** AdvSIMDExpandImm(op, cmode, imm8). */
function expandImm(op: number, cmode: number, imm8: number): bigint | null {
  const i = BigInt(imm8);
  const rep32 = (v: bigint) => v | (v << 32n);
  const rep16 = (v: bigint) => rep32(v | (v << 16n));
  switch (cmode >> 1) {
    case 0:
    case 1:
    case 2:
    case 3:
      return rep32(i << BigInt(8 * (cmode >> 1)));
    case 4:
    case 5:
      return rep16(i << BigInt(8 * ((cmode >> 1) & 1)));
    case 6:
      return rep32((cmode & 1) === 0 ? (i << 8n) | 0xffn : (i << 16n) | 0xffffn);
    default:
      if ((cmode & 1) === 0 && op === 0) {
        let b = i;
        for (let k = 1; k < 8; k++) b |= i << BigInt(8 * k);
        return b;
      }
      if ((cmode & 1) === 0 && op === 1) {
        let v = 0n;
        for (let k = 0; k < 8; k++) if ((imm8 >> k) & 1) v |= 0xffn << BigInt(8 * k);
        return v;
      }
      return null; // FMOV (vector, immediate): not implemented
  }
}

export function executeSimd(cpu: Arm64Cpu, insn: number): void {
  // FMOV (general) and FMOV (register), scalar.
  if ((insn & 0x7f20_fc00) === 0x1e20_0000) {
    fmovGeneral(cpu, insn);
    return;
  }
  if ((insn & 0xff3f_fc00) === 0x1e20_4000) {
    const type = (insn >>> 22) & 3;
    if (type > 1) throw undefinedInstruction();
    fpAccessCheck(cpu);
    const src = cpu.v[2 * ((insn >>> 5) & 31)];
    writeVec(cpu, insn & 31, type === 0 ? src & 0xffff_ffffn : src, 0n);
    return;
  }
  // AdvSIMD modified immediate: MOVI, MVNI, ORR, BIC.
  if ((insn & 0x9ff8_0400) === 0x0f00_0400) {
    modifiedImm(cpu, insn);
    return;
  }
  // AdvSIMD copy: DUP (general), INS (general), UMOV, SMOV, DUP (element), INS (element).
  if ((insn & 0x9fe0_8400) === 0x0e00_0400) {
    copy(cpu, insn);
    return;
  }
  // AdvSIMD three same, bitwise: AND, BIC, ORR, ORN, EOR (BSL/BIT/BIF need the destination too).
  if ((insn & 0x9f20_fc00) === 0x0e20_1c00) {
    logical(cpu, insn);
    return;
  }
  throw undefinedInstruction();
}

function fmovGeneral(cpu: Arm64Cpu, insn: number): void {
  const sf = insn >>> 31;
  const type = (insn >>> 22) & 3;
  const rmode = (insn >>> 19) & 3;
  const opcode = (insn >>> 16) & 7;
  const rn = (insn >>> 5) & 31;
  const rd = insn & 31;
  const key = (sf << 6) | (type << 4) | (rmode << 3) | opcode;
  fpAccessCheck(cpu);
  switch (key) {
    case 0x06: // FMOV Wd, Sn
      cpu.xw(rd, cpu.v[2 * rn] & 0xffff_ffffn);
      return;
    case 0x07: // FMOV Sd, Wn
      writeVec(cpu, rd, cpu.xr(rn) & 0xffff_ffffn, 0n);
      return;
    case 0x56: // FMOV Xd, Dn
      cpu.xw(rd, cpu.v[2 * rn]);
      return;
    case 0x57: // FMOV Dd, Xn
      writeVec(cpu, rd, cpu.xr(rn), 0n);
      return;
    case 0x6e: // FMOV Xd, Vn.D[1]
      cpu.xw(rd, cpu.v[2 * rn + 1]);
      return;
    case 0x6f: // FMOV Vd.D[1], Xn
      cpu.v[2 * rd + 1] = cpu.xr(rn);
      return;
    default:
      throw undefinedInstruction(); // conversions and FP arithmetic
  }
}

function modifiedImm(cpu: Arm64Cpu, insn: number): void {
  const q = (insn >>> 30) & 1;
  const op = (insn >>> 29) & 1;
  const cmode = (insn >>> 12) & 0xf;
  if ((insn >>> 11) & 1) throw undefinedInstruction();
  const imm8 = (((insn >>> 16) & 7) << 5) | ((insn >>> 5) & 31);
  const rd = insn & 31;
  if (cmode === 0xf && !(op === 0 && q === 1) && op === 1) throw undefinedInstruction();
  const imm = expandImm(op, cmode, imm8);
  if (imm === null) throw undefinedInstruction();
  fpAccessCheck(cpu);
  const [lo, hi] = readVec(cpu, rd);
  // ORR/BIC (immediate): cmode 0xx1 and 10x1; MVNI: op=1 for the shifted forms.
  const orrBic = (cmode & 1) === 1 && cmode < 12;
  let rlo: bigint;
  let rhi: bigint;
  if (orrBic) {
    rlo = op ? lo & ~imm & MASK64 : lo | imm;
    rhi = op ? hi & ~imm & MASK64 : hi | imm;
  } else {
    const inv = op === 1 && cmode !== 0xe;
    rlo = inv ? ~imm & MASK64 : imm;
    rhi = rlo;
  }
  writeVec(cpu, rd, rlo, q ? rhi : 0n);
}

function copy(cpu: Arm64Cpu, insn: number): void {
  const q = (insn >>> 30) & 1;
  const op = (insn >>> 29) & 1;
  const imm5 = (insn >>> 16) & 31;
  const imm4 = (insn >>> 11) & 0xf;
  const rn = (insn >>> 5) & 31;
  const rd = insn & 31;
  const size = imm5 & 1 ? 0 : imm5 & 2 ? 1 : imm5 & 4 ? 2 : imm5 & 8 ? 3 : -1;
  if (size < 0) throw undefinedInstruction();
  const esize = 8 << size;
  const index = imm5 >> (size + 1);
  fpAccessCheck(cpu);
  if (op === 1) {
    // INS (element)
    if (q === 0) throw undefinedInstruction();
    setElem(cpu, rd, index, esize, getElem(cpu, rn, imm4 >> size, esize));
    return;
  }
  const elems = (q ? 128 : 64) / esize;
  switch (imm4) {
    case 0: {
      // DUP (element)
      if (size === 3 && q === 0) throw undefinedInstruction();
      const e = getElem(cpu, rn, index, esize);
      writeVec(cpu, rd, 0n, 0n);
      for (let i = 0; i < elems; i++) setElem(cpu, rd, i, esize, e);
      return;
    }
    case 1: {
      // DUP (general)
      if (size === 3 && q === 0) throw undefinedInstruction();
      const e = cpu.xr(rn) & ones(esize);
      writeVec(cpu, rd, 0n, 0n);
      for (let i = 0; i < elems; i++) setElem(cpu, rd, i, esize, e);
      return;
    }
    case 3:
      // INS (general)
      if (q === 0) throw undefinedInstruction();
      setElem(cpu, rd, index, esize, cpu.xr(rn));
      return;
    case 5: {
      // SMOV
      if (size === 3 || (size === 2 && q === 0)) throw undefinedInstruction();
      const e = BigInt.asIntN(esize, getElem(cpu, rn, index, esize));
      cpu.xw(rd, BigInt.asUintN(q ? 64 : 32, e));
      return;
    }
    case 7:
      // UMOV
      if ((size === 3) !== (q === 1)) throw undefinedInstruction();
      cpu.xw(rd, getElem(cpu, rn, index, esize));
      return;
    default:
      throw undefinedInstruction();
  }
}

function logical(cpu: Arm64Cpu, insn: number): void {
  const q = (insn >>> 30) & 1;
  const u = (insn >>> 29) & 1;
  const size = (insn >>> 22) & 3;
  const rm = (insn >>> 16) & 31;
  const rn = (insn >>> 5) & 31;
  const rd = insn & 31;
  fpAccessCheck(cpu);
  const [alo, ahi] = readVec(cpu, rn);
  const [blo, bhi] = readVec(cpu, rm);
  const [dlo, dhi] = readVec(cpu, rd);
  const f = (a: bigint, b: bigint, d: bigint): bigint => {
    if (u === 0) {
      if (size === 0) return a & b;
      if (size === 1) return a & ~b & MASK64;
      if (size === 2) return a | b;
      return (a | ~b) & MASK64;
    }
    if (size === 0) return a ^ b;
    if (size === 1) return (d & a) | (~d & b & MASK64); // BSL
    if (size === 2) return (d & ~b & MASK64) | (a & b); // BIT
    return (d & b) | (a & ~b & MASK64); // BIF
  };
  writeVec(cpu, rd, f(alo, blo, dlo), q ? f(ahi, bhi, dhi) : 0n);
}
