/**
 * CRC-32 (the reflected 0xEDB88320 polynomial zlib's crc32() uses) of two
 * pieces joined, from the CRC of each and the second's length, without
 * reading the bytes again: zlib's crc32_combine(). The stream keeps a CRC of
 * everything and each section one of its own; with this the section's bytes
 * are read once, not twice. The arithmetic is in GF(2) polynomials modulo
 * the CRC polynomial, bit-reflected: crc(A || B) = crc(A) * x^(8 * |B|) + crc(B).
 */

const POLY = 0xedb8_8320;
/** x^0 in the reflected representation. */
const ONE = 0x8000_0000;

/** a * b modulo the polynomial. */
function mulModP(a: number, b: number): number {
  let product = 0;
  for (let m = ONE; m !== 0; m >>>= 1) {
    if (a & m) product ^= b;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..63: enough for any safe-integer length. */
const X_POW2: number[] = [];
{
  let p = ONE >>> 1; // x^1
  for (let k = 0; k < 64; k++) {
    X_POW2.push(p);
    p = mulModP(p, p);
  }
}

/** x^(8 * len) modulo the polynomial. */
function xPowBytes(len: number): number {
  let p = ONE;
  let k = 3; // 8 = 2^3
  for (let n = len; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) p = mulModP(X_POW2[k]!, p);
  return p;
}

/** crc32(A || B) from crc32(A), crc32(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lenB: number): number {
  return (mulModP(xPowBytes(lenB), crcA) ^ crcB) >>> 0;
}
