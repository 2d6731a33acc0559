// Bit-level operations: FSGNJ/FSGNJN/FSGNJX, FCLASS, FMV between f and x
// registers. None of them raises a flag or looks at the rounding mode.
import {
  FCLASS_NEG_INF,
  FCLASS_NEG_NORMAL,
  FCLASS_NEG_SUBNORMAL,
  FCLASS_NEG_ZERO,
  FCLASS_POS_INF,
  FCLASS_POS_NORMAL,
  FCLASS_POS_SUBNORMAL,
  FCLASS_POS_ZERO,
  FCLASS_QNAN,
  FCLASS_SNAN,
} from './consts.ts';
import { readSBits, writeDWords, writeSBits } from './regs.ts';
import type { FpuState } from './state.ts';

const SIGN = 0x80000000;

/** funct3: 0 = FSGNJ, 1 = FSGNJN, 2 = FSGNJX. Single operands are unboxed first. */
export function fpSignInject(
  fpu: FpuState,
  isD: boolean,
  funct3: number,
  rd: number,
  rs1: number,
  rs2: number,
): void {
  const x = isD ? fpu.f[2 * rs1 + 1] : readSBits(fpu, rs1);
  const y = isD ? fpu.f[2 * rs2 + 1] : readSBits(fpu, rs2);
  const sign = funct3 === 0 ? y & SIGN : funct3 === 1 ? ~y & SIGN : (x ^ y) & SIGN;
  const top = ((x & 0x7fffffff) | sign) >>> 0;
  if (isD) writeDWords(fpu, rd, top, fpu.f[2 * rs1]);
  else writeSBits(fpu, rd, top);
}

function classify(neg: boolean, exp: number, expMax: number, fracZero: boolean, quiet: boolean): number {
  if (exp === expMax) {
    if (fracZero) return neg ? FCLASS_NEG_INF : FCLASS_POS_INF;
    return quiet ? FCLASS_QNAN : FCLASS_SNAN;
  }
  if (exp === 0) {
    if (fracZero) return neg ? FCLASS_NEG_ZERO : FCLASS_POS_ZERO;
    return neg ? FCLASS_NEG_SUBNORMAL : FCLASS_POS_SUBNORMAL;
  }
  return neg ? FCLASS_NEG_NORMAL : FCLASS_POS_NORMAL;
}

/** FCLASS.{S,D}: a one-hot mask of the operand's class. */
export function fpClass(fpu: FpuState, isD: boolean, rd: number, rs1: number): void {
  let mask: number;
  if (isD) {
    const hi = fpu.f[2 * rs1 + 1];
    const lo = fpu.f[2 * rs1];
    mask = classify(
      hi >>> 31 === 1,
      (hi >>> 20) & 0x7ff,
      0x7ff,
      ((hi & 0xfffff) | lo) === 0,
      (hi & 0x80000) !== 0,
    );
  } else {
    const b = readSBits(fpu, rs1);
    mask = classify(b >>> 31 === 1, (b >>> 23) & 0xff, 0xff, (b & 0x7fffff) === 0, (b & 0x400000) !== 0);
  }
  if (rd !== 0) fpu.x[rd] = BigInt(mask);
}

/** FMV.X.W (sign-extends the raw low word, no unboxing) and FMV.X.D. */
export function fpMoveToInt(fpu: FpuState, isD: boolean, rd: number, rs1: number): void {
  if (rd === 0) return;
  const lo = fpu.f[2 * rs1];
  fpu.x[rd] = isD ? (BigInt(fpu.f[2 * rs1 + 1] | 0) << 32n) | BigInt(lo) : BigInt(lo | 0);
}

/** FMV.W.X (boxes the low 32 bits) and FMV.D.X. */
export function fpMoveFromInt(fpu: FpuState, isD: boolean, rd: number, rs1: number): void {
  const v = fpu.x[rs1];
  const lo = Number(BigInt.asUintN(32, v));
  if (isD) writeDWords(fpu, rd, Number(BigInt.asUintN(32, v >> 32n)), lo);
  else writeSBits(fpu, rd, lo);
}
