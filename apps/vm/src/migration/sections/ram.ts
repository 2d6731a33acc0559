import { fail } from '@tsvirt/core-bus';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import { ByteReader } from '../byte-io.ts';
import { RamPageWriter } from '../ram-pages.ts';
import type { SectionHandler } from '../section.ts';

/** Pages per RAM section: sections stay well under the u32 length field, and a socket sees steady chunks. */
const PAGES_PER_SECTION = 4096;

/**
 * Guest RAM (QEMU's "ram" section, RAM_SAVE_FLAG_PAGE per page): only the
 * pages host-mm has resident (a page the guest never touched has no entry
 * and reads as zero), and of those only the non-zero ones (QEMU's
 * RAM_SAVE_FLAG_ZERO pages are implied here: the destination's RAM is
 * fresh, so absent means zero). Instances number the chunks; each carries
 * the RAM size so a chunk alone is checked. Live migration sends the
 * same records again, in later instances, for pages the dirty logs mark.
 */
export const ramSection: SectionHandler = {
  id: 'ram',
  version: 1,
  save(m, w) {
    const out = new RamPageWriter(m, w, PAGES_PER_SECTION);
    const pages = m.opts.mem / PAGE_SIZE;
    for (let i = 0; i < pages; i++) if (m.mm.pteOf(m.ramHva + i * PAGE_SIZE) !== undefined) out.add(i, true);
    out.flush(out.instance === 0);
  },
  load(m, s) {
    const r = new ByteReader(s.payload, `section 'ram' instance ${s.instance}`);
    const size = r.num();
    if (size !== m.opts.mem) fail('EINVAL', `RAM size ${size} does not match this VM's ${m.opts.mem}`);
    const n = r.u32();
    if (r.left !== n * (4 + PAGE_SIZE)) fail('EINVAL', 'RAM page records do not match their count');
    const pages = m.opts.mem / PAGE_SIZE;
    const p = s.payload;
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
    // Every index is checked before any page is written: a bad section changes nothing.
    for (let k = 0, at = r.pos; k < n; k++, at += 4 + PAGE_SIZE) {
      const i = dv.getUint32(at, true);
      if (i >= pages) fail('EINVAL', `RAM page ${i} is beyond RAM`);
    }
    // A page arriving for the first time is faulted in holding its data
    // (copyPageToUser()), not cleared and then overwritten.
    for (let k = 0, at = r.pos; k < n; k++, at += 4 + PAGE_SIZE)
      m.mm.copyPageToUser(m.ramHva + dv.getUint32(at, true) * PAGE_SIZE, p, at + 4);
  },
};
