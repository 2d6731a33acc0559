// A minimal vendor mdev driver, loadable as a plugin by file path: a PCI
// device with a 4 KiB register BAR holding a scratch register (0x0) and a
// doorbell (0x4: writing 1 raises INTx, writing 0 lowers it).
import { defineModule } from '@tsvirt/core-bus';
import { MDEV_CORE, type MdevCore, type MdevDevice } from '@tsvirt/mdev-core';
import { type MpciParentOps, mpciIrqs } from '@tsvirt/vfio-mpci';

interface Tiny {
  config: Uint8Array;
  scratch: number;
}
const state = (mdev: MdevDevice) => mdev.drvdata as Tiny;

const ops: MpciParentOps = {
  create(mdev) {
    const config = new Uint8Array(256);
    config.set([0x57, 0x7e, 0xff, 0x00], 0); // vendor 0x7e57, device 0x00ff
    config.set([0x00, 0x00, 0x80, 0xff], 8); // class 0xff8000 (unassigned)
    config[0x3d] = 1; // INTA
    mdev.drvdata = { config, scratch: 0 } satisfies Tiny;
  },
  remove() {},
  getRegionInfo: (_mdev, index) => (index === 7 ? { size: 256n } : index === 0 ? { size: 4096n } : undefined),
  read(mdev, buf, pos) {
    const s = state(mdev);
    const off = Number(pos & 0xffffffffffn);
    if (pos >> 40n === 7n) buf.set(s.config.subarray(off, off + buf.length));
    else
      new DataView(buf.buffer, buf.byteOffset).setUint32(
        0,
        off === 0 && buf.length === 4 ? s.scratch : 0,
        true,
      );
    return buf.length;
  },
  write(mdev, buf, pos) {
    if (pos >> 40n !== 0n || buf.length !== 4) return buf.length; // config space is read-only here
    const v = new DataView(buf.buffer, buf.byteOffset).getUint32(0, true);
    if (pos === 0n) state(mdev).scratch = v;
    if (pos === 4n) mpciIrqs(mdev)?.setIntx(v === 1);
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
