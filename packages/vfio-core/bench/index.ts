import { runSuite } from '@tsvirt/bench-harness';
import { Device, FdTable, fail } from '@tsvirt/core-bus';
import {
  ioctl,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioCore,
  VfioDeviceFile,
  type VfioDeviceOps,
  type VfioIommu,
  vfio_dma_rw,
} from '../src/index.ts';

// What the VFIO core adds on the trapped-access path: a device-file
// read/ioctl dispatched to the driver's ops, against calling the op
// directly; plus the vendor-API wrapper cost (vfio_dma_rw through the
// container-user check) and a whole GET_DEVICE_FD + close cycle.
const PER_ITER = 10_000;

const iommu: VfioIommu = {
  release() {},
  ioctl: () => fail('ENOTTY'),
  attachGroup() {},
  detachGroup() {},
  pinPages: () => [],
  unpinPages: () => 0,
  dmaRw(_iova, data) {
    data[0] = 1;
  },
  registerNotifier() {},
  unregisterNotifier() {},
};
const ops: VfioDeviceOps = {
  read(_d, buf, off) {
    buf[0] = Number(off & 0xffn);
    return buf.length;
  },
  ioctl: (_d, cmd) => cmd,
};

const core = new VfioCore();
core.registerIommuDriver({ name: 'bench', checkExtension: () => 1, open: () => iommu });
const pdev = new Device('0000:00:01.0', 'pci');
core.iommuGroups.addDevice(core.iommuGroups.alloc({ id: 1 }), pdev);
const vdev = core.registerGroupDev(pdev, ops);
const fds = new FdTable();
const cfd = core.open(fds, '/dev/vfio/vfio');
const gfd = core.open(fds, '/dev/vfio/1');
ioctl(fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
ioctl(fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
const dfd = ioctl(fds, gfd, VFIO_GROUP_GET_DEVICE_FD, pdev.name);
const file = fds.getAs(dfd, VfioDeviceFile);
const buf = new Uint8Array(4);
const off = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX) + 0x10n;

await runSuite('vfio-core: device-file dispatch and vendor API', [
  {
    name: 'ops.read direct (baseline)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) ops.read!(vdev, buf, off);
    },
    work: { count: PER_ITER, unit: 'reads' },
  },
  {
    name: 'VfioDeviceFile.read',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) file.read(buf, off);
    },
    work: { count: PER_ITER, unit: 'reads' },
    baseline: 'ops.read direct (baseline)',
  },
  {
    name: 'ops.ioctl direct (baseline)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) ops.ioctl!(vdev, 0x3b6b, undefined, fds);
    },
    work: { count: PER_ITER, unit: 'ioctls' },
  },
  {
    name: 'ioctl(fds, fd) -> device ioctl',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) ioctl(fds, dfd, 0x3b6b);
    },
    work: { count: PER_ITER, unit: 'ioctls' },
    baseline: 'ops.ioctl direct (baseline)',
  },
  {
    name: 'vfio_dma_rw, 4 bytes',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) vfio_dma_rw(vdev, 0x1000n, buf, false);
    },
    work: { count: PER_ITER, unit: 'calls' },
  },
  {
    name: 'GET_DEVICE_FD + close',
    fn: () => {
      for (let i = 0; i < 1000; i++) fds.close(ioctl(fds, gfd, VFIO_GROUP_GET_DEVICE_FD, pdev.name));
    },
    work: { count: 1000, unit: 'opens' },
  },
]);
