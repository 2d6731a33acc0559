import { fail } from '@tsvirt/core-bus';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';

/** Pages per RAM section: sections stay well under the u32 length field, and a socket sees steady chunks. */
const PAGES_PER_SECTION = 4096;

/**
 * Guest RAM (QEMU's "ram" section, RAM_SAVE_FLAG_PAGE per page): only the
 * pages host-mm has resident (a page the guest never touched has no entry
 * and reads as zero), and of those only the non-zero ones (QEMU's
 * RAM_SAVE_FLAG_ZERO pages are implied here: the destination's RAM is
 * fresh, so absent means zero). Instances number the chunks; each carries
 * the RAM size so a chunk alone is checked. Live migration will send the
 * same records again for pages KVM's dirty log marks.
 */
export const ramSection: SectionHandler = {
  id: 'ram',
  version: 1,
  save(m, w) {
    const pages = m.opts.mem / PAGE_SIZE;
    const page = new Uint8Array(PAGE_SIZE);
    const words = new Uint32Array(page.buffer);
    let chunk = new ByteWriter();
    let count = 0;
    let instance = 0;
    const flush = () => {
      const body = chunk.finish();
      w.section('ram', instance++, 1, new ByteWriter().u64(m.opts.mem).u32(count).bytes(body).finish());
      chunk = new ByteWriter();
      count = 0;
    };
    for (let i = 0; i < pages; i++) {
      const hva = m.ramHva + i * PAGE_SIZE;
      if (m.mm.pteOf(hva) === undefined) continue;
      m.mm.copyFromUser(hva, page);
      if (words.every((x) => x === 0)) continue;
      chunk.u32(i).bytes(page);
      if (++count === PAGES_PER_SECTION) flush();
    }
    if (count > 0 || instance === 0) flush();
  },
  load(m, s) {
    const r = new ByteReader(s.payload, `section 'ram' instance ${s.instance}`);
    const size = r.num();
    if (size !== m.opts.mem) fail('EINVAL', `RAM size ${size} does not match this VM's ${m.opts.mem}`);
    const n = r.u32();
    if (r.left !== n * (4 + PAGE_SIZE)) fail('EINVAL', 'RAM page records do not match their count');
    const pages = m.opts.mem / PAGE_SIZE;
    for (let k = 0; k < n; k++) {
      const i = r.u32();
      if (i >= pages) fail('EINVAL', `RAM page ${i} is beyond RAM`);
      m.mm.copyToUser(m.ramHva + i * PAGE_SIZE, r.bytes(PAGE_SIZE));
    }
    r.end();
  },
};
