import type { Machine } from '../../machine.ts';
import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';
import { MigrationError } from '../stream.ts';

interface SlotShape {
  gfn: number;
  npages: number;
  flags: number;
}

function layout(m: Machine): SlotShape[] {
  return m.vm
    .allMemslots()
    .map((s) => ({ gfn: s.baseGfn, npages: s.npages, flags: s.flags }))
    .sort((a, b) => a.gfn - b.gfn);
}

const fmt = (s: SlotShape) => `gpa 0x${(s.gfn * 4096).toString(16)}+0x${(s.npages * 4096).toString(16)}`;

/**
 * The KVM memslot layout the guest ran with: RAM (slot 0) and every
 * mmapped BAR piece. Written after the devices and loaded last, when the
 * destination has re-applied the BARs through its memory map, so it checks
 * that the same guest-physical ranges are backed by memslots with the same
 * flags (slot numbers and host addresses are the destination's own).
 */
export const memslotsSection: SectionHandler = {
  id: 'memslots',
  version: 1,
  instances: () => [0],
  save(m, w) {
    const slots = layout(m);
    const out = new ByteWriter().u32(slots.length);
    for (const s of slots) out.u64(s.gfn).u64(s.npages).u32(s.flags);
    w.section('memslots', 0, 1, out.finish());
  },
  load(m, s) {
    const r = new ByteReader(s.payload, "section 'memslots'");
    const n = r.u32();
    const saved: SlotShape[] = [];
    for (let i = 0; i < n && r.left > 0; i++) saved.push({ gfn: r.num(), npages: r.num(), flags: r.u32() });
    r.end();
    const here = layout(m);
    const len = Math.max(saved.length, here.length);
    for (let i = 0; i < len; i++) {
      const a = saved[i];
      const b = here[i];
      if (a && b && a.gfn === b.gfn && a.npages === b.npages && a.flags === b.flags) continue;
      throw new MigrationError(
        `memslot layout differs: ${a ? fmt(a) : 'nothing'} in the stream, ${b ? fmt(b) : 'nothing'} here`,
      );
    }
  },
};
