// FCVT between S, D and the integer widths W, WU, L, LU, in every direction.
import { FFLAG_NV, FFLAG_NX, RM_RDN, RM_RMM, RM_RNE, RM_RTZ, RM_RUP } from './consts.ts';
import { raise, readD, readDBig, readS, readSBig, writeD, writeDBig, writeS, writeSBig } from './regs.ts';
import { directed, S_MAX, S_SAFE_LO, signOf } from './round.ts';
import { F32, F64, sfConvert, sfFromInt, sfState } from './softfloat.ts';
import type { FpuState } from './state.ts';

/** The rs2 field of FCVT: which integer type. */
export const CVT_W = 0;
export const CVT_WU = 1;
export const CVT_L = 2;
export const CVT_LU = 3;

// Inclusive lower and exclusive upper bounds of each integer type, and the
// saturated results written for values below/above range (W and WU results
// are sign-extended to 64 bits, so WU's maximum reads back as -1).
const LOWER = [-(2 ** 31), 0, -(2 ** 63), 0];
const UPPER = [2 ** 31, 2 ** 32, 2 ** 63, 2 ** 64];
const SAT_MIN = [-(2n ** 31n), 0n, -(2n ** 63n), 0n];
const SAT_MAX = [2n ** 31n - 1n, -1n, 2n ** 63n - 1n, -1n];

/** Round a finite non-integer (|v| < 2^52) to an integer under rm. */
function roundToInteger(v: number, rm: number): number {
  switch (rm) {
    case RM_RTZ:
      return Math.trunc(v);
    case RM_RDN:
      return Math.floor(v);
    case RM_RUP:
      return Math.ceil(v);
    default: {
      // Work on |v|: |v| - floor(|v|) is exact, while v - floor(v) for a
      // negative v just above -0.5 rounds up to 0.5 and breaks the tie rule.
      const a = Math.abs(v);
      const fl = Math.floor(a);
      const diff = a - fl;
      let r: number;
      if (diff > 0.5) r = fl + 1;
      else if (diff < 0.5) r = fl;
      else if (rm === RM_RMM) r = fl + 1;
      else r = fl % 2 === 0 ? fl : fl + 1;
      return v < 0 ? -r : r;
    }
  }
}

/**
 * FCVT.{W,WU,L,LU}.{S,D}: NaN converts to the maximum, out-of-range values
 * (and infinities) saturate, raising NV and not NX; in-range inexact
 * results raise NX. A negative value rounding to 0 is in range for WU/LU.
 */
export function fpToInt(
  fpu: FpuState,
  isD: boolean,
  kind: number,
  rd: number,
  rs1: number,
  rm: number,
): void {
  const v = isD ? readD(fpu, rs1) : readS(fpu, rs1);
  let result: bigint;
  if (Number.isNaN(v)) {
    raise(fpu, FFLAG_NV);
    result = SAT_MAX[kind];
  } else {
    const exact = Number.isInteger(v) || v - v !== 0;
    const r = exact ? v : roundToInteger(v, rm);
    if (r >= LOWER[kind] && r < UPPER[kind]) {
      result = kind <= CVT_WU ? BigInt(r | 0) : BigInt(r);
      if (!exact) raise(fpu, FFLAG_NX);
    } else {
      raise(fpu, FFLAG_NV);
      result = r < 0 ? SAT_MIN[kind] : SAT_MAX[kind];
    }
  }
  if (rd !== 0) fpu.x[rd] = result;
}

/** FCVT.{S,D}.{W,WU,L,LU}: widths up to 32 bits convert to D exactly. */
export function fpFromInt(
  fpu: FpuState,
  isD: boolean,
  kind: number,
  rd: number,
  rs1: number,
  rm: number,
): void {
  const xv = fpu.x[rs1];
  const big =
    kind === CVT_W
      ? BigInt.asIntN(32, xv)
      : kind === CVT_WU
        ? BigInt.asUintN(32, xv)
        : kind === CVT_L
          ? xv
          : BigInt.asUintN(64, xv);
  let d = Number(big);
  // Number(bigint) rounds to nearest-even; the error's sign comes from the exact integers.
  let errSign = 0;
  if (d >= 2 ** 53 || d <= -(2 ** 53)) {
    const back = BigInt(d);
    errSign = big > back ? 1 : big < back ? -1 : 0;
  }
  let ok = true;
  if (isD) {
    if (errSign !== 0) {
      if (rm !== RM_RNE) d = directed(d, errSign, rm, false);
      ok = !Number.isNaN(d);
    }
    if (ok) {
      if (errSign !== 0) raise(fpu, FFLAG_NX);
      writeD(fpu, rd, d);
      return;
    }
  } else if (errSign === 0) {
    // d is exact, so rounding it to single is the only rounding.
    let f = Math.fround(d);
    const e = signOf(d - f);
    if (e !== 0 && rm !== RM_RNE) f = directed(f, e, rm, true);
    if (!Number.isNaN(f)) {
      if (e !== 0) raise(fpu, FFLAG_NX);
      writeS(fpu, rd, f);
      return;
    }
  }
  sfState.flags = 0;
  if (isD) writeDBig(fpu, rd, sfFromInt(F64, big, rm));
  else writeSBig(fpu, rd, sfFromInt(F32, big, rm));
  raise(fpu, sfState.flags);
}

/** FCVT.S.D (rounds; NaN becomes the canonical NaN, NV if signalling). */
export function fpNarrow(fpu: FpuState, rd: number, rs1: number, rm: number): void {
  const a = readD(fpu, rs1);
  if (a === 0) {
    writeS(fpu, rd, a);
    return;
  }
  if (a - a === 0) {
    let f = Math.fround(a);
    const af = Math.abs(f);
    if (af >= S_SAFE_LO && af <= S_MAX) {
      const e = signOf(a - f);
      if (e !== 0 && rm !== RM_RNE) f = directed(f, e, rm, true);
      if (f - f === 0) {
        if (e !== 0) raise(fpu, FFLAG_NX);
        writeS(fpu, rd, f);
        return;
      }
    }
  }
  sfState.flags = 0;
  writeSBig(fpu, rd, sfConvert(F64, F32, readDBig(fpu, rs1), rm));
  raise(fpu, sfState.flags);
}

/** FCVT.D.S (exact; NaN becomes the canonical NaN, NV if signalling). */
export function fpWiden(fpu: FpuState, rd: number, rs1: number, rm: number): void {
  const a = readS(fpu, rs1);
  if (!Number.isNaN(a)) {
    writeD(fpu, rd, a);
    return;
  }
  sfState.flags = 0;
  writeDBig(fpu, rd, sfConvert(F32, F64, readSBig(fpu, rs1), rm));
  raise(fpu, sfState.flags);
}
