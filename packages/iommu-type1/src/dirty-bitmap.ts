import { DIRTY_BITMAP_BYTES } from './uapi.ts';

/**
 * Linux bitmap helpers over bytes. A Linux bitmap is an array of unsigned
 * longs with bit n in word n/64; on a little-endian machine that is byte n/8,
 * bit n%8, which is the layout user space reads from VFIO's dirty bitmaps.
 */

/** bitmap_set(): set `len` bits from bit `start`. */
export function bitmapSet(map: Uint8Array, start: number, len: number): void {
  if (len <= 0) return;
  let i = start;
  const end = start + len;
  while (i < end && (i & 7) !== 0) {
    map[i >>> 3]! |= 1 << (i & 7);
    i++;
  }
  const fullEnd = end - (end & 7);
  if (i < fullEnd) {
    map.fill(0xff, i >>> 3, fullEnd >>> 3);
    i = fullEnd;
  }
  while (i < end) {
    map[i >>> 3]! |= 1 << (i & 7);
    i++;
  }
}

/** Whether bit `bit` is set in a little-endian dirty bitmap (bit i of byte i/8, as the kernel's bitmaps). */
export function bitmapTest(map: Uint8Array, bit: number): boolean {
  return (map[bit >>> 3]! & (1 << (bit & 7))) !== 0;
}

/**
 * update_user_bitmap()'s copy: place `nbits` bits of `src` at bit `bitOffset`
 * of the user bitmap `dst`. As the kernel does, the write covers whole u64
 * words: the first word is OR-ed with what the user buffer held (an earlier
 * mapping's bits may sit there), the following words up to the end of
 * DIRTY_BITMAP_BYTES(nbits + shift) are overwritten, padding bits as zero.
 * `src` must hold at least DIRTY_BITMAP_BYTES(nbits) + 8 bytes, zero past nbits.
 */
export function copyBitsToUser(dst: Uint8Array, src: Uint8Array, nbits: number, bitOffset: number): void {
  const word = Math.floor(bitOffset / 64);
  const shift = bitOffset % 64;
  const at = word * 8;
  const total = DIRTY_BITMAP_BYTES(nbits + shift);
  if (shift === 0) {
    // The common case (a mapping at a 256 KiB-aligned offset from the query base): one memcpy.
    dst.set(src.subarray(0, total), at);
    return;
  }
  const leftover = dst.slice(at, at + 8);
  if ((shift & 7) === 0) {
    const bs = shift >>> 3;
    dst.set(src.subarray(0, total - bs), at + bs);
    dst.fill(0, at, at + bs);
  } else {
    // Shift by a non-byte amount: each output byte takes bits from two input bytes.
    const bs = shift >>> 3;
    const s = shift & 7;
    dst.fill(0, at, at + total);
    const n = total - bs;
    let carry = 0;
    for (let i = 0; i < n; i++) {
      const b = src[i]!;
      dst[at + bs + i] = ((b << s) | carry) & 0xff;
      carry = b >>> (8 - s);
    }
  }
  for (let i = 0; i < 8; i++) dst[at + i]! |= leftover[i]!;
}
