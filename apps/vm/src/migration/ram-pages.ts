import { PAGE_SIZE } from '@tsvirt/host-mm';
import type { Machine } from '../machine.ts';
import { ByteWriter } from './byte-io.ts';
import type { MigrationStreamWriter } from './stream.ts';

/**
 * Writes guest RAM pages as 'ram' sections (QEMU's RAM_SAVE_FLAG_PAGE
 * records): each section holds the RAM size, a count, then (page index,
 * 4096 bytes) records. Instances number the sections across the whole
 * stream, so a live migration's later passes send a page again in a later
 * section and the destination, loading in stream order, keeps the newest.
 */
export class RamPageWriter {
  private chunk = new ByteWriter();
  private count = 0;
  /** The next section instance: every 'ram' section of a stream has its own. */
  instance = 0;
  /** Pages written as records (QEMU's `normal`). */
  normal = 0;
  /** All-zero pages left out (QEMU's `duplicate`): only when the destination's copy is known to be zero. */
  duplicate = 0;
  private readonly page = new Uint8Array(PAGE_SIZE);
  private readonly words = new Uint32Array(this.page.buffer);

  constructor(
    private readonly m: Machine,
    private readonly w: MigrationStreamWriter,
    private readonly perSection: number,
  ) {}

  /**
   * Page `i` of RAM. `skipZero`: a page all zero is left out, which is only
   * right while the destination's page is still zero (a first pass).
   */
  add(i: number, skipZero: boolean): void {
    const hva = this.m.ramHva + i * PAGE_SIZE;
    if (this.m.mm.pteOf(hva) === undefined) this.page.fill(0);
    else this.m.mm.copyFromUser(hva, this.page);
    if (skipZero && this.words.every((x) => x === 0)) {
      this.duplicate++;
      return;
    }
    this.chunk.u32(i).bytes(this.page);
    this.normal++;
    if (++this.count === this.perSection) this.flush();
  }

  /** Write what is pending as one section; `always`: even with no records (a stream needs one 'ram'). */
  flush(always = false): void {
    if (this.count === 0 && !always) return;
    const body = this.chunk.finish();
    this.w.section(
      'ram',
      this.instance++,
      1,
      new ByteWriter().u64(this.m.opts.mem).u32(this.count).bytes(body).finish(),
    );
    this.chunk = new ByteWriter();
    this.count = 0;
  }
}
