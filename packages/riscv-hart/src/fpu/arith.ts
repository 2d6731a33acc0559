// FADD/FSUB/FMUL/FDIV/FSQRT in S and D. The fast path lets the host compute
// the RNE result, recovers the sign of the exact error with error-free
// transforms (TwoSum, Dekker's product, the exact division/sqrt remainder)
// for NX and directed rounding, and hands anything near the edges
// (zeros under RDN, NaN/inf, overflow, tininess, RMM) to the exact path.
import { FFLAG_NX, RM_RDN, RM_RNE } from './consts.ts';
import { raise, readD, readDBig, readS, readSBig, writeD, writeDBig, writeS, writeSBig } from './regs.ts';
import { directed, inSafe, S_MAX, S_SAFE_LO, signOf, twoProductErr, twoSumErr } from './round.ts';
import { F32, F64, sfAdd, sfDiv, sfMul, sfSqrt, sfState } from './softfloat.ts';
import type { FpuState } from './state.ts';

export const OP_ADD = 0;
export const OP_SUB = 1;
export const OP_MUL = 2;
export const OP_DIV = 3;

/**
 * Under RNE with NX already accrued, the sign of the rounding error changes
 * nothing observable, so the error-free transform can be skipped: the
 * common case once a program has done any inexact arithmetic.
 */
function skipNX(fpu: FpuState, rm: number): boolean {
  return rm === RM_RNE && (fpu.fflags & FFLAG_NX) !== 0;
}

/** Finite and at least 2^-1021: neither overflowed nor tiny (tininess is judged before the subnormal grid). */
function isNormalWide(r: number): boolean {
  const m = Math.abs(r);
  return m >= 2 ** -1021 && m <= Number.MAX_VALUE;
}

/** Write the double sum x+y (x, y finite or not); false when the exact path must decide. */
export function fastSumD(fpu: FpuState, rd: number, x: number, y: number, rm: number): boolean {
  const r = x + y;
  if (r - r !== 0) return false;
  if (r === 0) {
    // An exact zero: the host's sign rule is IEEE's for every mode but RDN.
    if (rm === RM_RDN) return false;
    writeD(fpu, rd, r);
    return true;
  }
  let errSign = 0;
  if (!skipNX(fpu, rm)) {
    const err = twoSumErr(x, y, r);
    // TwoSum's intermediates can overflow when an operand is near the largest finite value.
    if (err - err !== 0) return false;
    errSign = signOf(err);
  }
  return finishD(fpu, rd, r, errSign, rm);
}

function fastArithD(fpu: FpuState, op: number, rd: number, a: number, b: number, rm: number): boolean {
  let r: number;
  let errSign: number;
  if (op === OP_ADD) return fastSumD(fpu, rd, a, b, rm);
  if (op === OP_SUB) return fastSumD(fpu, rd, a, -b, rm);
  if (op === OP_MUL) {
    r = a * b;
    if (a === 0 || b === 0) {
      if (r - r !== 0) return false;
      writeD(fpu, rd, r);
      return true;
    }
    if (skipNX(fpu, rm) && isNormalWide(r)) {
      writeD(fpu, rd, r);
      return true;
    }
    if (!inSafe(a) || !inSafe(b) || !inSafe(r)) return false;
    errSign = signOf(twoProductErr(a, b, r));
  } else {
    if (!inSafe(b)) return false;
    r = a / b;
    if (a === 0) {
      writeD(fpu, rd, r);
      return true;
    }
    if (skipNX(fpu, rm) && isNormalWide(r)) {
      writeD(fpu, rd, r);
      return true;
    }
    if (!inSafe(a) || !inSafe(r)) return false;
    // The remainder a - r*b is exactly representable and has the sign of the error times sign(b).
    const p = r * b;
    const rem = a - p - twoProductErr(r, b, p);
    errSign = b > 0 ? signOf(rem) : -signOf(rem);
  }
  return finishD(fpu, rd, r, errSign, rm);
}

/**
 * Write the host's RNE double r, whose exact error has sign errSign: an
 * inexact result raises NX and, outside RNE, steps one ulp towards the
 * rounding direction. False (nothing written) when the step overflows, for
 * the exact path to decide.
 */
export function finishD(fpu: FpuState, rd: number, r: number, errSign: number, rm: number): boolean {
  if (errSign !== 0) {
    if (rm !== RM_RNE) {
      r = directed(r, errSign, rm, false);
      if (r - r !== 0) return false;
    }
    raise(fpu, FFLAG_NX);
  }
  writeD(fpu, rd, r);
  return true;
}

/**
 * Round the double d (whose own error sign is errD) to single and write it.
 * Double rounding through binary64 is innocuous for one +,-,*,/,sqrt of
 * binary32 operands, so fround(d) is the correctly rounded RNE result.
 */
export function finishS(fpu: FpuState, rd: number, d: number, errD: number, rm: number): boolean {
  let f = Math.fround(d);
  const af = Math.abs(f);
  if (!(af >= S_SAFE_LO && af <= S_MAX)) return false;
  const errSign = d !== f ? (d > f ? 1 : -1) : errD;
  if (errSign !== 0) {
    if (rm !== RM_RNE) {
      f = directed(f, errSign, rm, true);
      if (f - f !== 0) return false;
    }
    raise(fpu, FFLAG_NX);
  }
  writeS(fpu, rd, f);
  return true;
}

function fastArithS(fpu: FpuState, op: number, rd: number, a: number, b: number, rm: number): boolean {
  let d: number;
  let errD = 0;
  if (op <= OP_SUB) {
    if (op === OP_SUB) b = -b;
    d = a + b;
    if (d - d !== 0) return false;
    if (d === 0) {
      if (rm === RM_RDN) return false;
      writeS(fpu, rd, d);
      return true;
    }
    errD = signOf(twoSumErr(a, b, d));
  } else if (op === OP_MUL) {
    // 24x24-bit products are exact in binary64.
    d = a * b;
    if (d - d !== 0) return false;
    if (d === 0) {
      writeS(fpu, rd, d);
      return true;
    }
  } else {
    if (b === 0 || b - b !== 0) return false;
    d = a / b;
    if (d - d !== 0) return false;
    if (a === 0) {
      writeS(fpu, rd, d);
      return true;
    }
    if (!skipNX(fpu, rm)) {
      const p = d * b;
      const rem = a - p - twoProductErr(d, b, p);
      errD = b > 0 ? signOf(rem) : -signOf(rem);
    }
  }
  return finishS(fpu, rd, d, errD, rm);
}

const SOFT_OPS = [
  (fmt: typeof F32, a: bigint, b: bigint, rm: number) => sfAdd(fmt, a, b, rm, false),
  (fmt: typeof F32, a: bigint, b: bigint, rm: number) => sfAdd(fmt, a, b, rm, true),
  sfMul,
  sfDiv,
];

/** FADD/FSUB/FMUL/FDIV.{S,D} rd, rs1, rs2 under rounding mode rm (already resolved, 0..4). */
export function fpArith(
  fpu: FpuState,
  op: number,
  isD: boolean,
  rd: number,
  rs1: number,
  rs2: number,
  rm: number,
): void {
  if (isD) {
    if (fastArithD(fpu, op, rd, readD(fpu, rs1), readD(fpu, rs2), rm)) return;
    sfState.flags = 0;
    const r = SOFT_OPS[op](F64, readDBig(fpu, rs1), readDBig(fpu, rs2), rm);
    writeDBig(fpu, rd, r);
  } else {
    if (fastArithS(fpu, op, rd, readS(fpu, rs1), readS(fpu, rs2), rm)) return;
    sfState.flags = 0;
    const r = SOFT_OPS[op](F32, readSBig(fpu, rs1), readSBig(fpu, rs2), rm);
    writeSBig(fpu, rd, r);
  }
  raise(fpu, sfState.flags);
}

function fastSqrt(fpu: FpuState, isD: boolean, rd: number, a: number, rm: number): boolean {
  if (a === 0) {
    // sqrt(-0) = -0
    if (isD) writeD(fpu, rd, a);
    else writeS(fpu, rd, a);
    return true;
  }
  if (!(a > 0)) return false;
  const r = Math.sqrt(a);
  if (skipNX(fpu, rm)) {
    // The square root of a positive number can neither overflow nor underflow.
    if (isD) writeD(fpu, rd, r);
    else writeS(fpu, rd, Math.fround(r));
    return true;
  }
  if (!inSafe(a)) return false;
  const p = r * r;
  const errSign = signOf(a - p - twoProductErr(r, r, p));
  if (!isD) return finishS(fpu, rd, r, errSign, rm);
  return finishD(fpu, rd, r, errSign, rm);
}

/** FSQRT.{S,D} rd, rs1. */
export function fpSqrt(fpu: FpuState, isD: boolean, rd: number, rs1: number, rm: number): void {
  if (fastSqrt(fpu, isD, rd, isD ? readD(fpu, rs1) : readS(fpu, rs1), rm)) return;
  sfState.flags = 0;
  if (isD) writeDBig(fpu, rd, sfSqrt(F64, readDBig(fpu, rs1), rm));
  else writeSBig(fpu, rd, sfSqrt(F32, readSBig(fpu, rs1), rm));
  raise(fpu, sfState.flags);
}
