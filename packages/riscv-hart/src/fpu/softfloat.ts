// Exact IEEE 754 binary32/binary64 arithmetic on BigInt significands: the
// reference path every operation can fall back to. Each result is computed
// exactly (or as an exact truncation plus a sticky bit) and then rounded once,
// so all five RISC-V rounding modes and all five flags come out right.
import {
  FFLAG_DZ,
  FFLAG_NV,
  FFLAG_NX,
  FFLAG_OF,
  FFLAG_UF,
  RM_RDN,
  RM_RMM,
  RM_RNE,
  RM_RTZ,
  RM_RUP,
} from './consts.ts';

/** Parameters of one interchange format. */
export interface FloatFormat {
  /** Precision in bits, including the implicit bit. */
  readonly p: number;
  readonly bias: number;
  readonly emin: number;
  readonly emax: number;
  readonly expMax: bigint;
  readonly fracMask: bigint;
  readonly hidden: bigint;
  readonly signShift: bigint;
  readonly quietBit: bigint;
  readonly canonicalNaN: bigint;
  readonly maxFinite: bigint;
  readonly inf: bigint;
}

function makeFormat(p: number, expBits: number): FloatFormat {
  const bias = (1 << (expBits - 1)) - 1;
  const fracBits = BigInt(p - 1);
  const expMax = (1n << BigInt(expBits)) - 1n;
  return {
    p,
    bias,
    emin: 1 - bias,
    emax: bias,
    expMax,
    fracMask: (1n << fracBits) - 1n,
    hidden: 1n << fracBits,
    signShift: fracBits + BigInt(expBits),
    quietBit: 1n << (fracBits - 1n),
    canonicalNaN: (expMax << fracBits) | (1n << (fracBits - 1n)),
    maxFinite: ((expMax - 1n) << fracBits) | ((1n << fracBits) - 1n),
    inf: expMax << fracBits,
  };
}

export const F32: FloatFormat = makeFormat(24, 8);
export const F64: FloatFormat = makeFormat(53, 11);

export const KIND_ZERO = 0;
export const KIND_FINITE = 1;
export const KIND_INF = 2;
export const KIND_QNAN = 3;
export const KIND_SNAN = 4;

/** A decoded operand: value = (-1)^sign * m * 2^e for finite kinds. */
export interface Unpacked {
  kind: number;
  sign: number;
  m: bigint;
  e: number;
}

/** Flags raised by the softfloat operations since the caller last cleared them. */
export const sfState = { flags: 0 };

export function unpack(fmt: FloatFormat, bits: bigint): Unpacked {
  const sign = Number((bits >> fmt.signShift) & 1n);
  const exp = (bits >> BigInt(fmt.p - 1)) & fmt.expMax;
  const frac = bits & fmt.fracMask;
  if (exp === fmt.expMax) {
    if (frac === 0n) return { kind: KIND_INF, sign, m: 0n, e: 0 };
    return { kind: (frac & fmt.quietBit) !== 0n ? KIND_QNAN : KIND_SNAN, sign, m: 0n, e: 0 };
  }
  if (exp === 0n) {
    if (frac === 0n) return { kind: KIND_ZERO, sign, m: 0n, e: 0 };
    return { kind: KIND_FINITE, sign, m: frac, e: fmt.emin - (fmt.p - 1) };
  }
  return { kind: KIND_FINITE, sign, m: frac | fmt.hidden, e: Number(exp) - fmt.bias - (fmt.p - 1) };
}

export function isNaNKind(u: Unpacked): boolean {
  return u.kind >= KIND_QNAN;
}

export function bitLength(m: bigint): number {
  if (m <= 0xffffffffn) return 32 - Math.clz32(Number(m));
  const hex = m.toString(16);
  return (hex.length - 1) * 4 + 32 - Math.clz32(Number.parseInt(hex[0], 16));
}

function signedZero(fmt: FloatFormat, sign: number): bigint {
  return BigInt(sign) << fmt.signShift;
}

function signedInf(fmt: FloatFormat, sign: number): bigint {
  return (BigInt(sign) << fmt.signShift) | fmt.inf;
}

let lastInexact = false;

/** m >> shift rounded by rm (shift >= 1); sets lastInexact. */
function roundShift(m: bigint, shift: number, sign: number, rm: number): bigint {
  const s = BigInt(shift);
  let q = m >> s;
  const rem = m & ((1n << s) - 1n);
  if (rem === 0n) {
    lastInexact = false;
    return q;
  }
  lastInexact = true;
  const half = 1n << (s - 1n);
  let up: boolean;
  switch (rm) {
    case RM_RNE:
      up = rem > half || (rem === half && (q & 1n) === 1n);
      break;
    case RM_RTZ:
      up = false;
      break;
    case RM_RDN:
      up = sign === 1;
      break;
    case RM_RUP:
      up = sign === 0;
      break;
    default:
      up = rem >= half;
      break;
  }
  if (up) q += 1n;
  return q;
}

/**
 * Round (-1)^sign * (m * 2^e + sticky) to fmt under rm and pack it, raising
 * flags into sfState. `sticky` says nonzero bits lie below m's lsb; callers
 * that pass it give m at least p+1 bits so the round bit is a real bit of m.
 * Tininess is detected after rounding, as RISC-V requires.
 */
export function roundPack(
  fmt: FloatFormat,
  sign: number,
  m: bigint,
  e: number,
  rm: number,
  sticky = false,
): bigint {
  if (sticky) {
    m = (m << 1n) | 1n;
    e -= 1;
  }
  const p = fmt.p;
  const n = bitLength(m);
  const msb = e + n - 1;
  let tiny = msb < fmt.emin - 1;
  if (msb === fmt.emin - 1) {
    // Would rounding to p bits with an unbounded exponent carry up to 2^emin?
    const shift = n - p;
    tiny = shift <= 0 || bitLength(roundShift(m, shift, sign, rm)) === n - shift;
  }
  let lsb = Math.max(msb - p + 1, fmt.emin - p + 1);
  const shift = lsb - e;
  let q: bigint;
  let inexact = false;
  if (shift <= 0) {
    q = m << BigInt(-shift);
  } else {
    q = roundShift(m, shift, sign, rm);
    inexact = lastInexact;
  }
  if (bitLength(q) > p) {
    q >>= 1n;
    lsb += 1;
  }
  let flags = 0;
  if (inexact) flags |= FFLAG_NX;
  if (inexact && tiny) flags |= FFLAG_UF;
  if (q >= fmt.hidden && lsb + p - 1 > fmt.emax) {
    sfState.flags |= FFLAG_OF | FFLAG_NX;
    const toInf =
      rm === RM_RNE || rm === RM_RMM || (rm === RM_RUP && sign === 0) || (rm === RM_RDN && sign === 1);
    return toInf ? signedInf(fmt, sign) : (BigInt(sign) << fmt.signShift) | fmt.maxFinite;
  }
  sfState.flags |= flags;
  if (q >= fmt.hidden) {
    const biased = BigInt(lsb + p - 1 + fmt.bias);
    return (BigInt(sign) << fmt.signShift) | (biased << BigInt(p - 1)) | (q - fmt.hidden);
  }
  return (BigInt(sign) << fmt.signShift) | q;
}

function nanResult(fmt: FloatFormat, ...ops: Unpacked[]): bigint {
  for (const u of ops) if (u.kind === KIND_SNAN) sfState.flags |= FFLAG_NV;
  return fmt.canonicalNaN;
}

function invalid(fmt: FloatFormat): bigint {
  sfState.flags |= FFLAG_NV;
  return fmt.canonicalNaN;
}

/** Exact sum of two finite nonzero-or-zero values, rounded once. */
function addFinite(
  fmt: FloatFormat,
  sa: number,
  ma: bigint,
  ea: number,
  sb: number,
  mb: bigint,
  eb: number,
  rm: number,
): bigint {
  const e = Math.min(ea, eb);
  const va = (sa ? -ma : ma) << BigInt(ea - e);
  const vb = (sb ? -mb : mb) << BigInt(eb - e);
  const sum = va + vb;
  // An exact zero sum of opposite-signed operands is +0, except -0 under RDN.
  if (sum === 0n) return signedZero(fmt, rm === RM_RDN ? 1 : 0);
  return sum < 0n ? roundPack(fmt, 1, -sum, e, rm) : roundPack(fmt, 0, sum, e, rm);
}

/** a + b, or a - b when negB (the sign of b is flipped before anything else). */
export function sfAdd(fmt: FloatFormat, a: bigint, b: bigint, rm: number, negB: boolean): bigint {
  const ua = unpack(fmt, a);
  const ub = unpack(fmt, b);
  if (negB) ub.sign ^= 1;
  if (isNaNKind(ua) || isNaNKind(ub)) return nanResult(fmt, ua, ub);
  if (ua.kind === KIND_INF) {
    if (ub.kind === KIND_INF && ub.sign !== ua.sign) return invalid(fmt);
    return signedInf(fmt, ua.sign);
  }
  if (ub.kind === KIND_INF) return signedInf(fmt, ub.sign);
  if (ua.kind === KIND_ZERO && ub.kind === KIND_ZERO) {
    return signedZero(fmt, ua.sign === ub.sign ? ua.sign : rm === RM_RDN ? 1 : 0);
  }
  if (ua.kind === KIND_ZERO) return roundPack(fmt, ub.sign, ub.m, ub.e, rm);
  if (ub.kind === KIND_ZERO) return roundPack(fmt, ua.sign, ua.m, ua.e, rm);
  return addFinite(fmt, ua.sign, ua.m, ua.e, ub.sign, ub.m, ub.e, rm);
}

export function sfMul(fmt: FloatFormat, a: bigint, b: bigint, rm: number): bigint {
  const ua = unpack(fmt, a);
  const ub = unpack(fmt, b);
  if (isNaNKind(ua) || isNaNKind(ub)) return nanResult(fmt, ua, ub);
  const sign = ua.sign ^ ub.sign;
  if (ua.kind === KIND_INF || ub.kind === KIND_INF) {
    if (ua.kind === KIND_ZERO || ub.kind === KIND_ZERO) return invalid(fmt);
    return signedInf(fmt, sign);
  }
  if (ua.kind === KIND_ZERO || ub.kind === KIND_ZERO) return signedZero(fmt, sign);
  return roundPack(fmt, sign, ua.m * ub.m, ua.e + ub.e, rm);
}

export function sfDiv(fmt: FloatFormat, a: bigint, b: bigint, rm: number): bigint {
  const ua = unpack(fmt, a);
  const ub = unpack(fmt, b);
  if (isNaNKind(ua) || isNaNKind(ub)) return nanResult(fmt, ua, ub);
  const sign = ua.sign ^ ub.sign;
  if (ua.kind === KIND_INF) return ub.kind === KIND_INF ? invalid(fmt) : signedInf(fmt, sign);
  if (ub.kind === KIND_INF) return signedZero(fmt, sign);
  if (ub.kind === KIND_ZERO) {
    if (ua.kind === KIND_ZERO) return invalid(fmt);
    sfState.flags |= FFLAG_DZ;
    return signedInf(fmt, sign);
  }
  if (ua.kind === KIND_ZERO) return signedZero(fmt, sign);
  // Scale the dividend so the integer quotient has at least p+2 bits.
  const k = Math.max(0, fmt.p + 2 + bitLength(ub.m) - bitLength(ua.m));
  const num = ua.m << BigInt(k);
  const q = num / ub.m;
  const r = num - q * ub.m;
  return roundPack(fmt, sign, q, ua.e - ub.e - k, rm, r !== 0n);
}

/** Floor of the square root of n >= 0. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  // Newton's method from an overestimate converges monotonically downwards.
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sfSqrt(fmt: FloatFormat, a: bigint, rm: number): bigint {
  const ua = unpack(fmt, a);
  if (isNaNKind(ua)) return nanResult(fmt, ua);
  if (ua.kind === KIND_ZERO) return a; // sqrt(-0) is -0
  if (ua.sign === 1) return invalid(fmt);
  if (ua.kind === KIND_INF) return a;
  let k = Math.max(0, 2 * fmt.p + 4 - bitLength(ua.m));
  if (((ua.e - k) & 1) !== 0) k += 1;
  const m = ua.m << BigInt(k);
  const r = isqrt(m);
  return roundPack(fmt, 0, r, (ua.e - k) / 2, rm, r * r !== m);
}

/**
 * Fused (+-a*b) +- c with a single rounding. negProd negates the product,
 * negAdd negates the addend: FMADD (f,f), FMSUB (f,t), FNMSUB (t,f), FNMADD (t,t).
 */
export function sfFma(
  fmt: FloatFormat,
  a: bigint,
  b: bigint,
  c: bigint,
  rm: number,
  negProd: boolean,
  negAdd: boolean,
): bigint {
  const ua = unpack(fmt, a);
  const ub = unpack(fmt, b);
  const uc = unpack(fmt, c);
  const infTimesZero =
    (ua.kind === KIND_INF && ub.kind === KIND_ZERO) || (ua.kind === KIND_ZERO && ub.kind === KIND_INF);
  // RISC-V: inf*0 is invalid even when the addend is a quiet NaN.
  if (infTimesZero) {
    sfState.flags |= FFLAG_NV;
    return fmt.canonicalNaN;
  }
  if (isNaNKind(ua) || isNaNKind(ub) || isNaNKind(uc)) return nanResult(fmt, ua, ub, uc);
  const sp = ua.sign ^ ub.sign ^ (negProd ? 1 : 0);
  const sc = uc.sign ^ (negAdd ? 1 : 0);
  if (ua.kind === KIND_INF || ub.kind === KIND_INF) {
    if (uc.kind === KIND_INF && sc !== sp) return invalid(fmt);
    return signedInf(fmt, sp);
  }
  if (uc.kind === KIND_INF) return signedInf(fmt, sc);
  const prodZero = ua.kind === KIND_ZERO || ub.kind === KIND_ZERO;
  if (prodZero) {
    if (uc.kind === KIND_ZERO) return signedZero(fmt, sp === sc ? sp : rm === RM_RDN ? 1 : 0);
    return roundPack(fmt, sc, uc.m, uc.e, rm);
  }
  const mp = ua.m * ub.m;
  const ep = ua.e + ub.e;
  if (uc.kind === KIND_ZERO) return roundPack(fmt, sp, mp, ep, rm);
  return addFinite(fmt, sp, mp, ep, sc, uc.m, uc.e, rm);
}

/**
 * Round to an integer of `width` bits (signed or not) as FCVT.{W,WU,L,LU}
 * does: NaN and +inf give the maximum, -inf the minimum, out-of-range values
 * saturate with NV only (no NX). Returns the integer value (not wrapped).
 */
export function sfToInt(fmt: FloatFormat, a: bigint, rm: number, width: number, signed: boolean): bigint {
  const u = unpack(fmt, a);
  const max = signed ? (1n << BigInt(width - 1)) - 1n : (1n << BigInt(width)) - 1n;
  const min = signed ? -(1n << BigInt(width - 1)) : 0n;
  if (isNaNKind(u)) {
    sfState.flags |= FFLAG_NV;
    return max;
  }
  if (u.kind === KIND_INF) {
    sfState.flags |= FFLAG_NV;
    return u.sign ? min : max;
  }
  if (u.kind === KIND_ZERO) return 0n;
  let mag: bigint;
  let inexact = false;
  if (u.e >= 0) {
    mag = u.m << BigInt(u.e);
  } else {
    mag = roundShift(u.m, -u.e, u.sign, rm);
    inexact = lastInexact;
  }
  const v = u.sign ? -mag : mag;
  if (v > max || v < min) {
    sfState.flags |= FFLAG_NV;
    return u.sign ? min : max;
  }
  if (inexact) sfState.flags |= FFLAG_NX;
  return v;
}

/** Convert an exact integer to fmt, rounded by rm. */
export function sfFromInt(fmt: FloatFormat, v: bigint, rm: number): bigint {
  if (v === 0n) return 0n;
  return v < 0n ? roundPack(fmt, 1, -v, 0, rm) : roundPack(fmt, 0, v, 0, rm);
}

/** Convert between formats (FCVT.S.D narrows with rounding, FCVT.D.S is exact). */
export function sfConvert(from: FloatFormat, to: FloatFormat, a: bigint, rm: number): bigint {
  const u = unpack(from, a);
  if (isNaNKind(u)) return nanResult(to, u);
  if (u.kind === KIND_INF) return signedInf(to, u.sign);
  if (u.kind === KIND_ZERO) return signedZero(to, u.sign);
  return roundPack(to, u.sign, u.m, u.e, rm);
}
