// A minimal vendor mdev driver, loadable as a plugin by file path: a PCI
// device with a 4 KiB register BAR holding a scratch register (0x0) and a
// doorbell (0x4: writing 1 raises INTx, writing 0 lowers it; reads give the
// level). Its config space is a PciConfigSpace, so the guest can enable the
// BAR (the command register is writable), size it and read the registers.
import { defineModule } from '@tsvirt/core-bus';
import { MDEV_CORE, type MdevCore, type MdevDevice } from '@tsvirt/mdev-core';
import { type MpciParentOps, mpciIrqs, PciConfigSpace } from '@tsvirt/vfio-mpci';

const CONFIG_REGION = 7n; // VFIO_PCI_CONFIG_REGION_INDEX
const BAR0_SIZE = 4096;

interface Tiny {
  config: PciConfigSpace;
  scratch: number;
  doorbell: number;
}
const state = (mdev: MdevDevice) => mdev.drvdata as Tiny;

const ops: MpciParentOps = {
  create(mdev) {
    const config = new PciConfigSpace({ vendor: 0x7e57, device: 0x00ff, classCode: 0xff8000 }).setBar(0, {
      size: BAR0_SIZE,
    });
    mdev.drvdata = { config, scratch: 0, doorbell: 0 } satisfies Tiny;
  },
  remove() {},
  getRegionInfo: (mdev, index) =>
    index === 7
      ? { size: BigInt(state(mdev).config.size) }
      : index === 0
        ? { size: BigInt(BAR0_SIZE) }
        : undefined,
  read(mdev, buf, pos) {
    const s = state(mdev);
    const off = Number(pos & 0xffffffffffn);
    if (pos >> 40n === CONFIG_REGION) {
      s.config.read(off, buf);
      return buf.length;
    }
    const v = buf.length !== 4 ? 0 : off === 0 ? s.scratch : off === 4 ? s.doorbell : 0;
    new DataView(buf.buffer, buf.byteOffset, buf.length).setUint32(0, v, true);
    return buf.length;
  },
  write(mdev, buf, pos) {
    const s = state(mdev);
    if (pos >> 40n === CONFIG_REGION) {
      s.config.write(Number(pos & 0xffffffffffn), buf);
      return buf.length;
    }
    if (buf.length !== 4) return buf.length;
    const v = new DataView(buf.buffer, buf.byteOffset).getUint32(0, true);
    if (pos === 0n) s.scratch = v;
    if (pos === 4n) {
      s.doorbell = v === 1 ? 1 : 0;
      s.config.setInterruptStatus(v === 1);
      mpciIrqs(mdev)?.setIntx(v === 1);
    }
    return buf.length;
  },
};

export default defineModule({
  name: 'tiny-mdev',
  scope: 'host',
  dependsOn: ['mdev-core', 'vfio-mpci'],
  register(c) {
    c.resolve<MdevCore>(MDEV_CORE).registerParent({
      name: 'tiny',
      ops,
      types: [{ id: 'mailbox', deviceApi: 'vfio-pci' }],
      maxInstances: 2,
    });
  },
});
