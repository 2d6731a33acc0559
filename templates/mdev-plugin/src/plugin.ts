// A vendor mdev driver as a tsvirt plugin: one PCI function with a 4 KiB
// register BAR. Rename the parent, type and IDs, then grow the registers.
//
//   BAR0 + 0x0  ID       (read-only) 0x48454c4f, "HELO"
//   BAR0 + 0x4  SCRATCH  (read/write)
//   BAR0 + 0x8  IRQ      (write 1: raise INTx, 0: lower it; reads the level)
import { defineModule } from '@tsvirt/core-bus';
import { MDEV_CORE, type MdevCore, type MdevDevice } from '@tsvirt/mdev-core';
import { type MpciParentOps, mpciIrqs, PciConfigSpace } from '@tsvirt/vfio-mpci';

export const VENDOR_ID = 0x7e57;
export const DEVICE_ID = 0x0100;
export const ID_VALUE = 0x48454c4f;
const BAR0_SIZE = 4096;

// A VFIO region offset is `index << 40 | offset`; index 7 is the config space.
const CONFIG_REGION = 7n;
const BAR0_REGION = 0n;
const regionOf = (pos: bigint) => pos >> 40n;
const offsetOf = (pos: bigint) => Number(pos & 0xff_ffff_ffffn);

/** Everything one instance knows; it lives on the mdev (mdev.drvdata), never in a module-level map. */
export interface HelloState {
  config: PciConfigSpace;
  scratch: number;
  irq: number;
}
const state = (mdev: MdevDevice) => mdev.drvdata as HelloState;

export const ops: MpciParentOps = {
  create(mdev) {
    const config = new PciConfigSpace({ vendor: VENDOR_ID, device: DEVICE_ID, classCode: 0xff0000 }).setBar(
      0,
      {
        size: BAR0_SIZE,
      },
    );
    mdev.drvdata = { config, scratch: 0, irq: 0 } satisfies HelloState;
  },
  remove() {},
  getRegionInfo(mdev, index) {
    if (index === Number(CONFIG_REGION)) return { size: BigInt(state(mdev).config.size) };
    if (index === Number(BAR0_REGION)) return { size: BigInt(BAR0_SIZE) };
    return undefined; // no other BARs
  },
  read(mdev, buf, pos) {
    const s = state(mdev);
    if (regionOf(pos) === CONFIG_REGION) {
      s.config.read(offsetOf(pos), buf);
      return buf.length;
    }
    const reg = offsetOf(pos);
    const v = reg === 0x0 ? ID_VALUE : reg === 0x4 ? s.scratch : reg === 0x8 ? s.irq : 0;
    // Accesses are 1, 2 or 4 bytes, naturally aligned: give the bytes of the dword asked for.
    const shift = (reg & 3) * 8;
    for (let i = 0; i < buf.length; i++) buf[i] = (v >>> (shift + 8 * i)) & 0xff;
    return buf.length;
  },
  write(mdev, buf, pos) {
    const s = state(mdev);
    if (regionOf(pos) === CONFIG_REGION) {
      s.config.write(offsetOf(pos), buf);
      return buf.length;
    }
    if (buf.length !== 4) return buf.length; // registers take dword writes; others are dropped
    const v = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0, true);
    const reg = offsetOf(pos);
    if (reg === 0x4) s.scratch = v;
    if (reg === 0x8) {
      s.irq = v & 1;
      s.config.setInterruptStatus(s.irq === 1);
      mpciIrqs(mdev)?.setIntx(s.irq === 1);
    }
    return buf.length;
  },
};

export default defineModule({
  name: 'hello-mdev',
  scope: 'host',
  dependsOn: ['mdev-core', 'vfio-mpci'],
  register(c) {
    c.resolve<MdevCore>(MDEV_CORE).registerParent({
      name: 'hello',
      ops,
      types: [{ id: 'basic', deviceApi: 'vfio-pci' }],
      maxInstances: 4,
    });
  },
});
