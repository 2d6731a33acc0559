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
const TWO16 = 65536;
/** udivmod64's quotient and remainder. */
const QR = new Int32Array(4);

/**
 * DIV/DIVU/REM/REMU on 64-bit values. Division by zero and signed overflow
 * give the ISA's fixed results (quotient all ones / dividend; overflow:
 * quotient = dividend, remainder 0). Operands below 2^52 in magnitude go
 * through doubles (exact); wider ones through udivmod64 on 32-bit halves.
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
  // Magnitudes, divided unsigned; the quotient is negative when the signs
  // differ, the remainder takes the dividend's sign. MIN / -1: |MIN| = 2^63
  // unsigned, and negating the quotient 2^63 wraps back to MIN, remainder 0.
  const negA = signed && ahi < 0;
  const negB = signed && bhi < 0;
  let ul = alo;
  let uh = ahi;
  if (negA) {
    ul = -alo | 0;
    uh = (~ahi + (alo === 0 ? 1 : 0)) | 0;
  }
  let vl = blo;
  let vh = bhi;
  if (negB) {
    vl = -blo | 0;
    vh = (~bhi + (blo === 0 ? 1 : 0)) | 0;
  }
  const qr = QR;
  udivmod64(uh >>> 0, ul >>> 0, vh >>> 0, vl >>> 0, qr);
  const neg = rem ? negA : negA !== negB;
  const rl = rem ? qr[2]! : qr[0]!;
  const rh = rem ? qr[3]! : qr[1]!;
  if (neg) {
    out[0] = -rl | 0;
    out[1] = (~rh + (rl === 0 ? 1 : 0)) | 0;
  } else {
    out[0] = rl;
    out[1] = rh;
  }
}

/**
 * Unsigned 64 / 64 on 32-bit halves (each given as an unsigned number), b
 * not zero: out[0..1] = quotient (lo, hi), out[2..3] = remainder. A divisor
 * below 2^32 divides by 16-bit digits (each partial dividend is below 2^48,
 * so the double quotient's floor is exact); a wider one has a quotient below
 * 2^32, estimated in doubles and corrected against the exact product.
 */
function udivmod64(ah: number, al: number, bh: number, bl: number, out: Int32Array): void {
  if (bh === 0) {
    let r = 0;
    let qh = 0;
    let ql = 0;
    const digits = [ah >>> 16, ah & 0xffff, al >>> 16, al & 0xffff];
    for (let k = 0; k < 4; k++) {
      const cur = r * TWO16 + digits[k]!;
      const d = Math.floor(cur / bl);
      r = cur - d * bl;
      if (k < 2) qh = qh * TWO16 + d;
      else ql = ql * TWO16 + d;
    }
    out[0] = ql | 0;
    out[1] = qh | 0;
    out[2] = r | 0;
    out[3] = 0;
    return;
  }
  // q < 2^32; the estimate from doubles is within a few units of it.
  let q = Math.floor((ah * TWO32 + al) / (bh * TWO32 + bl));
  if (q > 0xffffffff) q = 0xffffffff;
  // p = q * b as (p2, p1, p0) 32-bit words, each computed from 16-bit pieces exactly.
  for (;;) {
    const lo = mulWide(q, bl); // q * bl: [low32, high32]
    const hi = mulWide(q, bh);
    const p0 = lo[0];
    const s1 = lo[1] + hi[0];
    const p1 = s1 % TWO32;
    const p2 = hi[1] + Math.floor(s1 / TWO32);
    // Compare p with a (p2 beyond 64 bits means p > a).
    if (p2 > 0 || p1 > ah || (p1 === ah && p0 > al)) {
      q--;
      continue;
    }
    // r = a - p (no borrow out: p <= a).
    let r0 = al - p0;
    let r1 = ah - p1;
    if (r0 < 0) {
      r0 += TWO32;
      r1--;
    }
    if (r1 > bh || (r1 === bh && r0 >= bl)) {
      q++;
      continue;
    }
    out[0] = q | 0;
    out[1] = 0;
    out[2] = r0 | 0;
    out[3] = r1 | 0;
    return;
  }
}

/** The exact product of two unsigned 32-bit numbers as [low 32 bits, high 32 bits]. */
function mulWide(a: number, b: number): [number, number] {
  return [Math.imul(a, b) >>> 0, mulhu32(a, b) >>> 0];
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

/**
 * DIVW/DIVUW/REMW/REMUW by funct3 (4..7): div32 with its flags worked out
 * here, so the interpreter passes f3 rather than two booleans (V8 computed
 * those, and boxed them, for every instruction it ran).
 */
export function divw(a: number, b: number, f3: number): number {
  return div32(a, b, (f3 & 1) === 0, f3 >= 6);
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
