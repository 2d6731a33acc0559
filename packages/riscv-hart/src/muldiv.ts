// 64-bit multiply-high and divide on 32-bit limbs (lo, hi as signed int32),
// so MULH*, DIV* and REM* avoid BigInt on their common path. Results go into
// the `out` pair: out[0] = low word, out[1] = high word.

const TWO32 = 4294967296;
/** High 64 bits of the unsigned 128-bit product, from four 32 x 32 partial products. */
export function mulhu64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  const p0hi = mulhu32(alo, blo) >>> 0;
  const p1lo = Math.imul(alo, bhi) >>> 0;
  const p1hi = mulhu32(alo, bhi) >>> 0;
  const p2lo = Math.imul(ahi, blo) >>> 0;
  const p2hi = mulhu32(ahi, blo) >>> 0;
  const p3lo = Math.imul(ahi, bhi) >>> 0;
  const p3hi = mulhu32(ahi, bhi);
  // Column sums stay below 2^34: exact in doubles.
  const c1 = Math.floor((p0hi + p1lo + p2lo) / TWO32);
  const s2 = p1hi + p2hi + p3lo + c1;
  out[0] = s2;
  out[1] = (p3hi + Math.floor(s2 / TWO32)) | 0;
}

/** MULH: signed x signed; the unsigned product minus b (if a < 0) and a (if b < 0), high half. */
export function mulh64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  mulhu64(alo, ahi, blo, bhi, out);
  if (ahi < 0) sub64(out, blo, bhi);
  if (bhi < 0) sub64(out, alo, ahi);
}

/** MULHSU: signed rs1 x unsigned rs2. */
export function mulhsu64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  mulhu64(alo, ahi, blo, bhi, out);
  if (ahi < 0) sub64(out, blo, bhi);
}

function sub64(out: Int32Array, blo: number, bhi: number): void {
  const alo = out[0]!;
  out[0] = (alo - blo) | 0;
  out[1] = (out[1]! - bhi - (alo >>> 0 < blo >>> 0 ? 1 : 0)) | 0;
}

/** Low 64 bits of a 64 x 64 product (MUL). */
export function mul64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  out[0] = Math.imul(alo, blo);
  out[1] = (mulhu32(alo, blo) + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

/** High 32 bits of an unsigned 32 x 32 product. */
export function mulhu32(a: number, b: number): number {
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const au = a >>> 0;
  // au*bl and au*bh are below 2^48: exact.
  const low = au * bl;
  const mid = au * bh + Math.floor(low / 65536);
  return Math.floor(mid / 65536) | 0;
}

const BIG_SAFE = 2 ** 52;

/**
 * DIV/DIVU/REM/REMU on 64-bit values. Division by zero and signed overflow
 * give the ISA's fixed results (quotient all ones / dividend; overflow:
 * quotient = dividend, remainder 0). Operands below 2^52 in magnitude go
 * through doubles (exact); only wider ones fall back to BigInt.
 */
export function div64(
  alo: number,
  ahi: number,
  blo: number,
  bhi: number,
  signed: boolean,
  rem: boolean,
  out: Int32Array,
): void {
  if (blo === 0 && bhi === 0) {
    if (rem) {
      out[0] = alo;
      out[1] = ahi;
    } else {
      out[0] = -1;
      out[1] = -1;
    }
    return;
  }
  const a = signed ? ahi * TWO32 + (alo >>> 0) : (ahi >>> 0) * TWO32 + (alo >>> 0);
  const b = signed ? bhi * TWO32 + (blo >>> 0) : (bhi >>> 0) * TWO32 + (blo >>> 0);
  if (Math.abs(a) < BIG_SAFE && Math.abs(b) < BIG_SAFE) {
    const q = Math.trunc(a / b);
    const r = a - q * b; // exact: |q * b| <= |a| < 2^52
    const v = rem ? r : q;
    out[0] = (v % TWO32) | 0;
    out[1] = Math.floor(v / TWO32) | 0;
    return;
  }
  let x = (BigInt(ahi) << 32n) | BigInt(alo >>> 0);
  let y = (BigInt(bhi) << 32n) | BigInt(blo >>> 0);
  if (!signed) {
    x = BigInt.asUintN(64, x);
    y = BigInt.asUintN(64, y);
  }
  // Signed overflow (-2^63 / -1) wraps to -2^63 with remainder 0, as BigInt.asIntN gives.
  const v = BigInt.asIntN(64, rem ? x % y : x / y);
  out[0] = Number(BigInt.asIntN(32, v));
  out[1] = Number(v >> 32n);
}

/** DIVW/DIVUW/REMW/REMUW: 32-bit operands, result sign-extended by the caller. */
export function div32(a: number, b: number, signed: boolean, rem: boolean): number {
  if (b === 0) return rem ? a : -1;
  if (signed) {
    if (a === -2147483648 && b === -1) return rem ? 0 : a;
    return rem ? (a % b) | 0 : (a / b) | 0;
  }
  const ua = a >>> 0;
  const ub = b >>> 0;
  return rem ? (ua % ub) | 0 : Math.floor(ua / ub) | 0;
}

/** The M extension's 64-bit OP forms by funct3 (MUL, MULH, MULHSU, MULHU, DIV, DIVU, REM, REMU) into `t`. */
export function mulDiv(f3: number, alo: number, ahi: number, blo: number, bhi: number, t: Int32Array): void {
  switch (f3) {
    case 0:
      mul64(alo, ahi, blo, bhi, t);
      break;
    case 1:
      mulh64(alo, ahi, blo, bhi, t);
      break;
    case 2:
      mulhsu64(alo, ahi, blo, bhi, t);
      break;
    case 3:
      mulhu64(alo, ahi, blo, bhi, t);
      break;
    default:
      div64(alo, ahi, blo, bhi, (f3 & 1) === 0, f3 >= 6, t);
  }
}
