// 64-bit multiply-high and divide on 32-bit limbs (lo, hi as signed int32),
// so MULH*, DIV* and REM* avoid BigInt on their common path. Results go into
// the `out` pair: out[0] = low word, out[1] = high word.

const TWO32 = 4294967296;
const a16 = new Float64Array(4);
const b16 = new Float64Array(4);
const p16 = new Float64Array(8);

/** High 64 bits of the unsigned 128-bit product, schoolbook on 16-bit limbs. */
export function mulhu64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  a16[0] = alo & 0xffff;
  a16[1] = alo >>> 16;
  a16[2] = ahi & 0xffff;
  a16[3] = ahi >>> 16;
  b16[0] = blo & 0xffff;
  b16[1] = blo >>> 16;
  b16[2] = bhi & 0xffff;
  b16[3] = bhi >>> 16;
  p16.fill(0);
  for (let i = 0; i < 4; i++) {
    const ai = a16[i];
    if (ai === 0) continue;
    let carry = 0;
    for (let j = 0; j < 4; j++) {
      const t = ai * b16[j] + p16[i + j] + carry; // < 2^33: exact in a double
      p16[i + j] = t % 65536;
      carry = Math.floor(t / 65536);
    }
    p16[i + 4] += carry;
  }
  out[0] = p16[4] + p16[5] * 65536;
  out[1] = p16[6] + p16[7] * 65536;
}

/** MULH: signed x signed; corrects the unsigned product for negative operands. */
export function mulh64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  mulhu64(alo, ahi, blo, bhi, out);
  let lo = out[0];
  let hi = out[1];
  if (ahi < 0) [lo, hi] = sub64(lo, hi, blo, bhi);
  if (bhi < 0) [lo, hi] = sub64(lo, hi, alo, ahi);
  out[0] = lo;
  out[1] = hi;
}

/** MULHSU: signed rs1 x unsigned rs2. */
export function mulhsu64(alo: number, ahi: number, blo: number, bhi: number, out: Int32Array): void {
  mulhu64(alo, ahi, blo, bhi, out);
  if (ahi < 0) {
    const [lo, hi] = sub64(out[0], out[1], blo, bhi);
    out[0] = lo;
    out[1] = hi;
  }
}

function sub64(alo: number, ahi: number, blo: number, bhi: number): [number, number] {
  const lo = (alo - blo) | 0;
  const borrow = alo >>> 0 < blo >>> 0 ? 1 : 0;
  return [lo, (ahi - bhi - borrow) | 0];
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
