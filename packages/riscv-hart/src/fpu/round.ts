// Directed rounding on top of the host's round-to-nearest-even: given the
// RNE result r and the sign of the exact error (exact - r), step r by one
// ulp when the requested mode rounds the other way.
import { RM_RDN, RM_RNE, RM_RTZ, RM_RUP } from './consts.ts';
import { stepD, stepS } from './regs.ts';

/**
 * r must be finite and nonzero and its neighbours normal. Returns NaN when
 * the fast path cannot decide (RMM, whose ties only the exact path sees).
 */
export function directed(r: number, errSign: number, rm: number, single: boolean): number {
  if (errSign === 0 || rm === RM_RNE) return r;
  const pos = r > 0;
  let away: boolean;
  switch (rm) {
    case RM_RTZ:
      if (errSign > 0 === pos) return r;
      away = false;
      break;
    case RM_RDN:
      if (errSign > 0) return r;
      away = !pos;
      break;
    case RM_RUP:
      if (errSign < 0) return r;
      away = pos;
      break;
    default:
      return Number.NaN;
  }
  return single ? stepS(r, away) : stepD(r, away);
}

/** Veltkamp splitting constant 2^27 + 1 for Dekker's exact product. */
const SPLIT = 134217729;

/** The exact error a*b - p of p = fl(a*b) (Dekker); needs |a|,|b| < 2^995 and no underflow. */
export function twoProductErr(a: number, b: number, p: number): number {
  let c = SPLIT * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** The exact error a+b - s of s = fl(a+b) (Knuth's TwoSum); needs no overflow. */
export function twoSumErr(a: number, b: number, s: number): number {
  const t = s - a;
  return a - (s - t) + (b - t);
}

export const SAFE_LO = 2 ** -900;
export const SAFE_HI = 2 ** 900;
/** Smallest single magnitude whose neighbours are all normal (no tininess possible). */
export const S_SAFE_LO = 2 ** -125;
export const S_MAX = 3.4028234663852886e38;

/** Magnitude within the range where the error-free transforms are exact. */
export function inSafe(x: number): boolean {
  const m = Math.abs(x);
  return m >= SAFE_LO && m <= SAFE_HI;
}

export function signOf(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}
