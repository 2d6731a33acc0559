import type { Machine } from '../../machine.ts';
import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';
import { MigrationError } from '../stream.ts';
import { vfioLoadDevice, vfioSaveDevice } from '../vfio-migration.ts';
import { passthroughAt } from './pci.ts';

/**
 * Each mediated device's own state, one instance per slot, through VFIO
 * migration v2 (the device blob from the data fd: for the sample GPU its
 * config space, registers, scan-out, the DMA engine's in-flight command
 * and ring position, and VRAM; a busy engine goes back on the host
 * workqueue when loaded). The mdev type leads the section so a device of
 * another type is refused by name. INTx wiring and the IOMMU container's
 * mappings are not in the stream: the destination creates them at boot as
 * the source did (guest RAM at IOVA = GPA), which is what the source had.
 */
export const vfioSection: SectionHandler = {
  id: 'vfio',
  version: 1,
  instances: (m) => m.passthrough.map((p) => p.slot),
  save(m, w) {
    for (const p of m.passthrough) {
      const data = vfioSaveDevice(p.fn.device, m.files);
      w.section('vfio', p.slot, 1, new ByteWriter().str(p.mdev.type.sysfsName).blob(data).finish());
    }
  },
  load(m: Machine, s) {
    const p = passthroughAt(m, s.instance);
    const r = new ByteReader(s.payload, `section 'vfio' instance ${s.instance}`);
    const type = r.str();
    const data = r.blob();
    r.end();
    if (type !== p.mdev.type.sysfsName)
      throw new MigrationError(
        `slot ${s.instance}: mdev type ${type} in the stream, ${p.mdev.type.sysfsName} here`,
      );
    vfioLoadDevice(p.fn.device, m.files, data);
  },
};
