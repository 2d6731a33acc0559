import { fail } from '@tsvirt/core-bus';
import type { Machine, Passthrough } from '../../machine.ts';
import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';
import { MigrationError } from '../stream.ts';

export function passthroughAt(m: Machine, slot: number): Passthrough {
  const p = m.passthrough.find((x) => x.slot === slot);
  if (p === undefined)
    throw new MigrationError(`stream has a PCI function in slot ${slot}, this VM does not`);
  return p;
}

/**
 * The VMM's own PCI state of each passed-through function, one instance
 * per slot (QEMU's "vfio-pci" vmstate holds the emulated config): the BAR
 * registers and the command register's decode bits, which live in the VMM,
 * not in the device. Loading them yields the BAR moves, which go through
 * the memory map as a guest's BAR write would, so the BAR regions land in
 * the PCI windows again and mmapped BARs become memslots where they were.
 */
export const pciSection: SectionHandler = {
  id: 'pci',
  version: 1,
  instances: (m) => m.passthrough.map((p) => p.slot),
  save(m, w) {
    for (const p of m.passthrough) {
      const st = p.fn.bars.saveState();
      const out = new ByteWriter();
      for (const r of st.regs) out.u32(r);
      w.section('pci', p.slot, 1, out.u32(st.command).finish());
    }
  },
  load(m, s) {
    const p = passthroughAt(m, s.instance);
    const r = new ByteReader(s.payload, `section 'pci' instance ${s.instance}`);
    const regs = Uint32Array.from({ length: 6 }, () => r.u32());
    const command = r.u32();
    r.end();
    if (command > 0xffff) fail('EINVAL', `bad command register 0x${command.toString(16)}`);
    for (const c of p.fn.bars.loadState(regs, command)) m.barMoved(p.fn, c);
  },
};
