import { fail } from '@tsvirt/core-bus';
import { type HostPhysMemory, PAGE_SIZE } from '@tsvirt/host-mm';

/**
 * A device's VRAM: physically contiguous host frames (so an mmap fault maps
 * page `n` of BAR2 to `basePfn + n`, as a real BAR's pages are contiguous),
 * read and written by the device model through views of the frames' backing
 * buffers. The run is aligned to min(size, host chunk) frames, so it splits
 * into equal segments that each lie in one buffer.
 */
export class Vram {
  /** First host pfn of the VRAM. */
  readonly basePfn: number;
  /** Number of frames. */
  readonly frames: number;
  /** Bytes per segment (a power of two). */
  readonly segBytes: number;
  private readonly segShift: number;
  private readonly segs: Uint8Array[] = [];
  private freed = false;

  constructor(
    private readonly phys: HostPhysMemory,
    /** Size in bytes, a power of two. */
    readonly size: number,
  ) {
    if (!Number.isInteger(size) || size < PAGE_SIZE || (size & (size - 1)) !== 0)
      fail('EINVAL', `VRAM size ${size} is not a power of two >= one page`);
    this.frames = size / PAGE_SIZE;
    const segFrames = Math.min(this.frames, phys.chunkFrames);
    this.basePfn = phys.allocContiguous(this.frames, segFrames);
    this.segBytes = segFrames * PAGE_SIZE;
    this.segShift = Math.log2(this.segBytes);
    for (let f = 0; f < this.frames; f += segFrames) {
      const first = phys.frame(this.basePfn + f);
      this.segs.push(new Uint8Array(first.buffer, first.byteOffset, this.segBytes));
    }
  }

  /** Give the frames back to the host (the device is gone). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.phys.freeFrames(this.basePfn, this.frames);
  }

  /**
   * The pieces of [off, off + len) as views, in order (one when the range
   * lies in one segment). The caller has checked the range.
   */
  pieces(off: number, len: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = off;
    const end = off + len;
    while (at < end) {
      const si = at >>> this.segShift;
      const so = at & (this.segBytes - 1);
      const n = Math.min(this.segBytes - so, end - at);
      out.push(this.segs[si]!.subarray(so, so + n));
      at += n;
    }
    return out;
  }

  /** Copy VRAM bytes at `off` into `dst`. */
  read(off: number, dst: Uint8Array): void {
    let done = 0;
    for (const p of this.pieces(off, dst.length)) {
      dst.set(p, done);
      done += p.length;
    }
  }

  /** Copy `src` into VRAM at `off`. */
  write(off: number, src: Uint8Array): void {
    let done = 0;
    for (const p of this.pieces(off, src.length)) {
      p.set(src.subarray(done, done + p.length));
      done += p.length;
    }
  }

  /** Fill with a little-endian 32-bit pattern starting at `off` (pattern byte 0 at off). */
  fill32(off: number, len: number, value: number): void {
    const pat = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
    let phase = 0;
    for (const p of this.pieces(off, len)) {
      let i = 0;
      // Byte by byte until the view is 4-byte aligned in its buffer with the pattern in phase.
      while (i < p.length && ((p.byteOffset + i) % 4 !== 0 || phase !== 0)) {
        p[i++] = pat[phase]!;
        phase = (phase + 1) & 3;
      }
      const words = (p.length - i) >>> 2;
      if (words > 0) {
        new Uint32Array(p.buffer, p.byteOffset + i, words).fill(value >>> 0);
        i += words * 4;
      }
      while (i < p.length) {
        p[i++] = pat[phase]!;
        phase = (phase + 1) & 3;
      }
    }
  }
}
