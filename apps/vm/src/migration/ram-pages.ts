import { PAGE_SIZE } from '@tsvirt/host-mm';
import type { Machine } from '../machine.ts';
import { type MigrationStreamWriter, sectionHeadLength } from './stream.ts';

/** A page record: the page index (u32), then its 4096 bytes. */
const RECORD = 4 + PAGE_SIZE;
/** The 'ram' payload's own head: RAM size (u64), record count (u32). */
const RAM_HEAD = 12;
const RAM_SECTION_HEAD = sectionHeadLength('ram');
/** Section buffers kept for reuse at most. */
const POOL_MAX = 16;

/**
 * Writes guest RAM pages as 'ram' sections (QEMU's RAM_SAVE_FLAG_PAGE
 * records): each section holds the RAM size, a count, then (page index,
 * 4096 bytes) records. Instances number the sections across the whole
 * stream, so a live migration's later passes send a page again in a later
 * section and the destination, loading in stream order, keeps the newest.
 *
 * Pages are read where the VMM's RAM mapping has them (as QEMU reads its
 * RAMBlock through the host pointer, ram_save_page()) and copied once,
 * straight into the buffer that goes to the socket whole; an all-zero page
 * is found with a word scan over the frame before anything is copied.
 */
export class RamPageWriter {
  private buf: Uint8Array | undefined;
  private dv: DataView | undefined;
  /** Where the next record goes in `buf`. */
  private at = 0;
  private count = 0;
  /** The next section instance: every 'ram' section of a stream has its own. */
  instance = 0;
  /** Pages written as records (QEMU's `normal`). */
  normal = 0;
  /** All-zero pages left out (QEMU's `duplicate`): only when the destination's copy is known to be zero. */
  duplicate = 0;
  /** 32-bit views of host memory's chunks, for the zero scan (one per chunk, made once). */
  private readonly words = new WeakMap<ArrayBufferLike, Int32Array>();
  /** Section buffers the sink is done with (`recycle`), for the next sections: no garbage per MiB. */
  private readonly pool: ArrayBuffer[] = [];
  private readonly bufBytes: number;

  constructor(
    private readonly m: Machine,
    private readonly w: MigrationStreamWriter,
    private readonly perSection: number,
  ) {
    this.bufBytes = RAM_SECTION_HEAD + RAM_HEAD + perSection * RECORD + 4;
  }

  /**
   * A chunk the sink has finished with (a socket's write callback): if it
   * is one of this writer's section buffers, use it again.
   */
  recycle(chunk: Uint8Array): void {
    const ab = chunk.buffer;
    if (ab instanceof ArrayBuffer && ab.byteLength === this.bufBytes && this.pool.length < POOL_MAX)
      this.pool.push(ab);
  }

  /** The frame backing RAM page `i`, or undefined: never touched (no entry, or no backing), so zero. */
  private frameOf(i: number): Uint8Array | undefined {
    const pfn = this.m.mm.pteOf(this.m.ramHva + i * PAGE_SIZE);
    return pfn === undefined ? undefined : this.m.mm.phys.frameIfPresent(pfn);
  }

  /** buffer_is_zero(): four 32-bit words at a time, leaving at the first non-zero one. */
  private isZero(frame: Uint8Array): boolean {
    let v = this.words.get(frame.buffer);
    if (v === undefined) {
      v = new Int32Array(frame.buffer);
      this.words.set(frame.buffer, v);
    }
    const end = (frame.byteOffset + PAGE_SIZE) >> 2;
    for (let k = frame.byteOffset >> 2; k < end; k += 4)
      if ((v[k]! | v[k + 1]! | v[k + 2]! | v[k + 3]!) !== 0) return false;
    return true;
  }

  /**
   * Page `i` of RAM. `skipZero`: a page all zero is left out, which is only
   * right while the destination's page is still zero (a first pass).
   */
  add(i: number, skipZero: boolean): void {
    const frame = this.frameOf(i);
    if (skipZero && (frame === undefined || this.isZero(frame))) {
      this.duplicate++;
      return;
    }
    if (this.buf === undefined) {
      // Not zero-filled: every byte of what is sent is written first. The sink keeps it.
      const ab = this.pool.pop();
      this.buf = ab !== undefined ? new Uint8Array(ab) : Buffer.allocUnsafeSlow(this.bufBytes);
      this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      this.at = RAM_SECTION_HEAD + RAM_HEAD;
    }
    this.dv!.setUint32(this.at, i, true);
    if (frame === undefined) this.buf.fill(0, this.at + 4, this.at + RECORD);
    else this.buf.set(frame, this.at + 4);
    this.at += RECORD;
    this.normal++;
    if (++this.count === this.perSection) this.flush();
  }

  /** Write what is pending as one section; `always`: even with no records (a stream needs one 'ram'). */
  flush(always = false): void {
    if (this.count === 0 && !always) return;
    if (this.buf === undefined) {
      this.buf = new Uint8Array(RAM_SECTION_HEAD + RAM_HEAD + 4);
      this.dv = new DataView(this.buf.buffer);
      this.at = RAM_SECTION_HEAD + RAM_HEAD;
    }
    const dv = this.dv!;
    dv.setBigUint64(RAM_SECTION_HEAD, BigInt(this.m.opts.mem), true);
    dv.setUint32(RAM_SECTION_HEAD + 8, this.count, true);
    this.w.sectionInPlace(this.buf.subarray(0, this.at + 4), 'ram', this.instance++, 1);
    this.buf = undefined;
    this.dv = undefined;
    this.count = 0;
  }
}
