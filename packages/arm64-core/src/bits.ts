/** Bit helpers for the A64 decoder (Arm ARM J1 shared pseudocode, as plain functions). */

export const MASK64 = 0xffff_ffff_ffff_ffffn;
export const MASK32 = 0xffff_ffffn;

/** SignExtend(x<bits-1:0>) as a 64-bit two's complement bigint. */
export function sext(value: bigint, bits: number): bigint {
  return BigInt.asUintN(64, BigInt.asIntN(bits, value));
}

/** SignExtend for small immediates held in a number. */
export function sextNum(value: number, bits: number): number {
  const shift = 32 - bits;
  return (value << shift) >> shift;
}

/** Ones(n) for 0 <= n <= 64. */
export function ones(n: number): bigint {
  return (1n << BigInt(n)) - 1n;
}

/** ROR(x, shift) within `bits`. */
export function ror(x: bigint, shift: number, bits: number): bigint {
  if (shift === 0) return x;
  const m = ones(bits);
  return ((x >> BigInt(shift)) | (x << BigInt(bits - shift))) & m;
}

const bitMaskCache = new Map<number, bigint | null>();

/**
 * DecodeBitMasks() for logical immediates: the wmask for N:immr:imms, or
 * null for a reserved encoding (the instruction is UNDEFINED).
 */
export function decodeLogicalImm(n: number, immr: number, imms: number, datasize: number): bigint | null {
  const key = (datasize << 13) | (n << 12) | (immr << 6) | imms;
  const hit = bitMaskCache.get(key);
  if (hit !== undefined) return hit;
  let result: bigint | null = null;
  const combined = (n << 6) | (~imms & 0x3f);
  const len = combined === 0 ? -1 : 31 - Math.clz32(combined);
  if (len >= 1) {
    const levels = (1 << len) - 1;
    if ((imms & levels) !== levels) {
      const s = imms & levels;
      const r = immr & levels;
      const esize = 1 << len;
      if (esize <= datasize) {
        const elem = ror(ones(s + 1), r, esize);
        let v = 0n;
        for (let i = 0; i < datasize; i += esize) v |= elem << BigInt(i);
        result = v;
      }
    }
  }
  bitMaskCache.set(key, result);
  return result;
}

/** ConditionHolds(cond) against the NZCV nibble of PSTATE (bits 31:28). */
export function conditionHolds(cond: number, pstate: number): boolean {
  const n = (pstate >>> 31) & 1;
  const z = (pstate >>> 30) & 1;
  const c = (pstate >>> 29) & 1;
  const v = (pstate >>> 28) & 1;
  let r: boolean;
  switch (cond >> 1) {
    case 0:
      r = z === 1;
      break;
    case 1:
      r = c === 1;
      break;
    case 2:
      r = n === 1;
      break;
    case 3:
      r = v === 1;
      break;
    case 4:
      r = c === 1 && z === 0;
      break;
    case 5:
      r = n === v;
      break;
    case 6:
      r = n === v && z === 0;
      break;
    default:
      r = true;
  }
  if ((cond & 1) === 1 && cond !== 0xf) r = !r;
  return r;
}

/**
 * AddWithCarry(): the result (zero-extended to 64 bits) and NZCV in bits
 * 31:28, for 32- or 64-bit operands already masked to `bits`.
 */
export function addWithCarry(x: bigint, y: bigint, carry: bigint, bits: 32 | 64): [bigint, number] {
  if (bits === 32) {
    // 32-bit operands fit a double exactly: no BigInt arithmetic on this path.
    const a = Number(x);
    const b = Number(y);
    const full = a + b + Number(carry);
    const res = full >>> 0;
    const v = ((a ^ res) & (b ^ res)) >>> 31;
    const nzcv = (res >>> 31) * 8 + (res === 0 ? 4 : 0) + (full > 0xffff_ffff ? 2 : 0) + v;
    return [BigInt(res), (nzcv << 28) >>> 0];
  }
  const full = x + y + carry;
  const res = BigInt.asUintN(64, full);
  const n = res >> 63n === 1n ? 8 : 0;
  const z = res === 0n ? 4 : 0;
  const c = full > MASK64 ? 2 : 0;
  const v = ((x ^ res) & (y ^ res)) >> 63n === 1n ? 1 : 0;
  return [res, ((n + z + c + v) << 28) >>> 0];
}

/** NZCV for a logical result (C and V cleared). */
export function logicFlags(res: bigint, bits: 32 | 64): number {
  const n = Number((res >> BigInt(bits - 1)) & 1n);
  return ((n << 31) | ((res === 0n ? 1 : 0) << 30)) >>> 0;
}

/** CRC-32 (poly 0x04C11DB7 reflected) or CRC-32C (0x1EDC6F41 reflected) over `bytes` bytes of `value`. */
export function crc32(acc: number, value: bigint, bytes: number, castagnoli: boolean): number {
  const poly = castagnoli ? 0x82f63b78 : 0xedb88320;
  let crc = acc >>> 0;
  for (let i = 0; i < bytes; i++) {
    crc ^= Number((value >> BigInt(8 * i)) & 0xffn);
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ poly : crc >>> 1;
  }
  return crc >>> 0;
}
