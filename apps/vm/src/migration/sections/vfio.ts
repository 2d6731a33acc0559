import type { Machine } from '../../machine.ts';
import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';
import { MigrationError, sectionHeadLength } from '../stream.ts';
import { vfioLoadDevice, vfioSaveDeviceChunks } from '../vfio-migration.ts';
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
      // The blob (VRAM included: megabytes, while the VM is stopped) is copied once, from the
      // data fd's reads into the section buffer: the payload is the mdev type, then the blob.
      const chunks = vfioSaveDeviceChunks(p.fn.device, m.files);
      const type = new ByteWriter().str(p.mdev.type.sysfsName).finish();
      const size = chunks.reduce((n, c) => n + c.length, 0);
      const head = sectionHeadLength('vfio');
      const buf = new Uint8Array(head + type.length + 4 + size + 4);
      buf.set(type, head);
      let at = head + type.length;
      new DataView(buf.buffer).setUint32(at, size, true);
      at += 4;
      for (const c of chunks) {
        buf.set(c, at);
        at += c.length;
      }
      w.sectionInPlace(buf, 'vfio', p.slot, 1);
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

/**
 * The VMM's virtualised MSI enable of each passed-through function
 * (--irqchip aia; QEMU's vfio_pci_load_config() re-enabling MSI): the
 * message itself is in the device's config space (the 'vfio' section,
 * loaded before). A function that had MSI on gets its KVM MSI route, the
 * trigger eventfd bound with KVM_IRQFD and the vector enabled with
 * VFIO_DEVICE_SET_IRQS again, so its interrupts are posted through the
 * bypass on the destination too.
 */
export const vfioMsiSection: SectionHandler = {
  id: 'vfio-msi',
  version: 1,
  instances: (m) => (m.aia === undefined ? [] : m.passthrough.map((p) => p.slot)),
  save(m, w) {
    if (m.aia === undefined) return;
    for (const p of m.passthrough)
      w.section('vfio-msi', p.slot, 1, new ByteWriter().u8(p.fn.msiEnabled ? 1 : 0).finish());
  },
  load(m, s) {
    const p = passthroughAt(m, s.instance);
    const r = new ByteReader(s.payload, `section 'vfio-msi' instance ${s.instance}`);
    const on = r.u8();
    r.end();
    if (on > 1) throw new MigrationError(`slot ${s.instance}: bad MSI enable ${on}`);
    p.fn.loadMsiEnable(on === 1);
  },
};
