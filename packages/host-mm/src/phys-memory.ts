import { fail } from '@tsvirt/core-bus';
import { PAGE_SIZE } from './constants.ts';

/** The size of host RAM and how its frames are backed. */
export interface HostPhysMemoryOptions {
  /** Number of 4 KiB host frames (the host's RAM size / 4096). Default 2^22 (16 GiB). */
  totalFrames?: number;
  /**
   * Frames per backing ArrayBuffer, a power of two. Default 512 (2 MiB), so a
   * naturally aligned huge page lies in one buffer.
   */
  chunkFrames?: number;
  /**
   * Where a chunk's backing comes from: a zeroed, 4096-aligned view of the
   * given size, or undefined for an ordinary ArrayBuffer. A VMM whose CPU
   * compiles guest code to WebAssembly puts guest RAM in the wasm memory.
   */
  allocChunk?: (bytes: number) => Uint8Array | undefined;
}

/** buffer_is_zero() over one page. */
function isZeroPage(page: Uint8Array): boolean {
  for (let i = 0; i < PAGE_SIZE; i++) if (page[i] !== 0) return false;
  return true;
}

/**
 * The host's physical memory: 4 KiB page frames by pfn, each with a page
 * refcount (`struct page`'s _refcount) and a pin count (FOLL_PIN, counted
 * apart from the refcount so "is this frame pinned" is exact).
 *
 * Backing is lazy: a chunk of `chunkFrames` frames gets its ArrayBuffer on the
 * first `frame()` of any frame in it, so a large guest costs nothing until it
 * is touched. A frame never touched reads as zero, the way a freshly
 * allocated anonymous page does after clear_page(). Frame views start at a
 * 4096-aligned byteOffset, so wider aligned typed-array views over the same
 * buffer are possible.
 */
export class HostPhysMemory {
  /** Number of page frames. */
  readonly totalFrames: number;
  /** Frames per lazily backed chunk. */
  readonly chunkFrames: number;
  private readonly chunkShift: number;
  private readonly chunks: (Uint8Array | undefined)[];
  private readonly allocChunk: ((bytes: number) => Uint8Array | undefined) | undefined;
  private readonly refs: Uint32Array;
  private readonly pins = new Map<number, number>();
  private allocated = 0;
  private backedChunks = 0;
  /** Lowest pfn that may be free (everything below is allocated). */
  private freeHint = 0;

  constructor(opts: HostPhysMemoryOptions = {}) {
    const total = opts.totalFrames ?? 1 << 22;
    const chunk = opts.chunkFrames ?? 512;
    if (!Number.isInteger(total) || total <= 0 || total >= 2 ** 32)
      fail('EINVAL', `totalFrames ${total} out of range`);
    if (!Number.isInteger(chunk) || chunk <= 0 || (chunk & (chunk - 1)) !== 0 || chunk > 1 << 18)
      fail('EINVAL', `chunkFrames ${chunk} is not a power of two <= 2^18`);
    this.totalFrames = total;
    this.chunkFrames = chunk;
    this.chunkShift = Math.log2(chunk);
    this.allocChunk = opts.allocChunk;
    this.chunks = new Array(Math.ceil(total / chunk));
    // A zeroed typed array is committed by the OS page by page, so the
    // refcount table of a large host also costs nothing until used.
    this.refs = new Uint32Array(total);
  }

  /** Frames currently allocated (refcount > 0). */
  get allocatedFrames(): number {
    return this.allocated;
  }

  /** Frames that have backing storage (touched chunks x chunkFrames). */
  get backedFrames(): number {
    return this.backedChunks * this.chunkFrames;
  }

  /** Bytes that have backing storage allocated. */
  get backedBytes(): number {
    return this.backedFrames * PAGE_SIZE;
  }

  private check(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.totalFrames)
      fail('EFAULT', `pfn ${pfn} is outside host memory (${this.totalFrames} frames)`);
  }

  /** A 4096-byte view of frame `pfn`, allocating its chunk's backing on first touch. */
  frame(pfn: number): Uint8Array {
    this.check(pfn);
    const ci = pfn >>> this.chunkShift;
    let c = this.chunks[ci];
    if (c === undefined) {
      const bytes = this.chunkFrames * PAGE_SIZE;
      c = this.allocChunk?.(bytes) ?? new Uint8Array(bytes);
      if (c.length !== bytes || c.byteOffset % PAGE_SIZE !== 0)
        fail(
          'EINVAL',
          `allocChunk gave ${c.length} bytes at offset ${c.byteOffset}, not ${bytes} page-aligned`,
        );
      this.chunks[ci] = c;
      this.backedChunks++;
    }
    const off = (pfn & (this.chunkFrames - 1)) * PAGE_SIZE;
    return c.subarray(off, off + PAGE_SIZE);
  }

  /** The frame's view if its backing exists; never allocates. */
  frameIfPresent(pfn: number): Uint8Array | undefined {
    this.check(pfn);
    const c = this.chunks[pfn >>> this.chunkShift];
    if (c === undefined) return undefined;
    const off = (pfn & (this.chunkFrames - 1)) * PAGE_SIZE;
    return c.subarray(off, off + PAGE_SIZE);
  }

  /** Read host physical memory at byte address `pa` (may cross frames); untouched memory reads zero. */
  read(pa: number, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const a = pa + done;
      const pfn = Math.floor(a / PAGE_SIZE);
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, dst.length - done);
      const f = this.frameIfPresent(pfn);
      if (f === undefined) dst.fill(0, done, done + n);
      else dst.set(f.subarray(off, off + n), done);
      done += n;
    }
  }

  /** Write host physical memory at byte address `pa` (may cross frames). */
  write(pa: number, src: Uint8Array): void {
    let done = 0;
    while (done < src.length) {
      const a = pa + done;
      const pfn = Math.floor(a / PAGE_SIZE);
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, src.length - done);
      this.frame(pfn).set(src.subarray(done, done + n), off);
      done += n;
    }
  }

  // --- the frame allocator -------------------------------------------------

  private claim(pfn: number, clear = true): void {
    this.refs[pfn] = 1;
    this.allocated++;
    // A new page is zero (clear_page); only touched backing needs clearing.
    if (clear) this.frameIfPresent(pfn)?.fill(0);
  }

  /** The first free frame from freeHint, claimed; ENOMEM when none is free. */
  private claimFirstFree(clear: boolean): number {
    const refs = this.refs;
    for (let p = this.freeHint; p < this.totalFrames; p++) {
      if (refs[p] === 0) {
        this.claim(p, clear);
        this.freeHint = p + 1;
        return p;
      }
    }
    this.freeHint = this.totalFrames;
    return fail('ENOMEM', 'no free host frame');
  }

  /** alloc_page(): one zeroed frame with refcount 1; ENOMEM when none is free. */
  allocFrame(): number {
    return this.claimFirstFree(true);
  }

  /**
   * A new frame (refcount 1) holding the 4096 bytes of `src` from `offset`:
   * what a fresh anonymous page filled by copy_from_user() ends up as,
   * written once instead of cleared and then overwritten. A page of zeros
   * whose chunk has no backing yet stays unbacked (it reads as zero). EFAULT
   * when `src` holds no whole page at `offset`, ENOMEM when no frame is
   * free; either way nothing is allocated.
   */
  allocFrameFrom(src: Uint8Array, offset = 0): number {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + PAGE_SIZE > src.length)
      fail('EFAULT', `no whole page at offset ${offset} of a ${src.length}-byte source`);
    const pfn = this.claimFirstFree(false);
    const page = src.subarray(offset, offset + PAGE_SIZE);
    const f = this.frameIfPresent(pfn);
    if (f !== undefined) f.set(page);
    else if (!isZeroPage(page)) this.frame(pfn).set(page);
    return pfn;
  }

  /**
   * alloc_contig_pages(): `n` physically contiguous zeroed frames whose first
   * pfn is a multiple of `alignFrames` (4 for a 16 KiB G-stage root, 512 for a
   * 2 MiB huge page). Returns the first pfn; ENOMEM when no such run is free.
   */
  allocContiguous(n: number, alignFrames = 1): number {
    if (!Number.isInteger(n) || n <= 0) fail('EINVAL', `bad frame count ${n}`);
    if (!Number.isInteger(alignFrames) || alignFrames <= 0 || (alignFrames & (alignFrames - 1)) !== 0)
      fail('EINVAL', `alignment ${alignFrames} is not a power of two`);
    const refs = this.refs;
    const up = (p: number) => Math.ceil(p / alignFrames) * alignFrames;
    let start = up(this.freeHint);
    search: while (start + n <= this.totalFrames) {
      for (let p = start + n - 1; p >= start; p--) {
        if (refs[p] !== 0) {
          start = up(p + 1);
          continue search;
        }
      }
      for (let p = start; p < start + n; p++) this.claim(p);
      if (start === this.freeHint) this.freeHint = start + n;
      return start;
    }
    return fail('ENOMEM', `no free run of ${n} frames aligned to ${alignFrames}`);
  }

  /** `n` frames, not necessarily contiguous; all or nothing. */
  allocFrames(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) fail('EINVAL', `bad frame count ${n}`);
    const out: number[] = [];
    try {
      for (let i = 0; i < n; i++) out.push(this.allocFrame());
    } catch (e) {
      for (const p of out) this.putPage(p);
      throw e;
    }
    return out;
  }

  /** The page refcount; 0 means free. */
  refCount(pfn: number): number {
    this.check(pfn);
    return this.refs[pfn]!;
  }

  /** get_page(): one more reference to an allocated frame. */
  getPage(pfn: number): void {
    this.check(pfn);
    if (this.refs[pfn] === 0) fail('EINVAL', `get_page on free frame ${pfn}`);
    this.refs[pfn] = this.refs[pfn]! + 1;
  }

  /** put_page(): drop a reference; the frame is freed when the last one goes. */
  putPage(pfn: number): void {
    this.check(pfn);
    const r = this.refs[pfn]!;
    if (r === 0) fail('EINVAL', `put_page on free frame ${pfn}`);
    this.refs[pfn] = r - 1;
    if (r === 1) {
      this.allocated--;
      if (pfn < this.freeHint) this.freeHint = pfn;
    }
  }

  /** free_pages() for frames from allocFrame/allocContiguous: same as putPage on each. */
  freeFrames(first: number, n = 1): void {
    for (let p = first; p < first + n; p++) this.putPage(p);
  }

  /** Pins held on a frame (FOLL_PIN references). */
  pinCount(pfn: number): number {
    return this.pins.get(pfn) ?? 0;
  }

  /** Number of distinct frames with at least one pin. */
  get pinnedFrames(): number {
    return this.pins.size;
  }

  /** Take a pin: a pin is also a page reference, so a pinned frame outlives its mapping. */
  pinFrame(pfn: number): void {
    this.getPage(pfn);
    this.pins.set(pfn, (this.pins.get(pfn) ?? 0) + 1);
  }

  /** unpin_user_page(): drop one pin and its reference (freeing the frame if it was the last). */
  unpinFrame(pfn: number): void {
    const n = this.pins.get(pfn);
    if (n === undefined) fail('EINVAL', `frame ${pfn} is not pinned`);
    if (n === 1) this.pins.delete(pfn);
    else this.pins.set(pfn, n - 1);
    this.putPage(pfn);
  }
}
