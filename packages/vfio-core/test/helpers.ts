import { Device, type Driver, FdTable } from '@tsvirt/core-bus';
import {
  type IommuGroup,
  ioctl,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioCore,
  type VfioDevice,
  type VfioDeviceOps,
} from '../src/index.ts';
import { FakeIommuDriver } from './fake-iommu.ts';

export const vfioPci: Driver = { name: 'vfio-pci', bus: 'pci', probe() {}, remove() {} };
export const e1000: Driver = { name: 'e1000e', bus: 'pci', probe() {}, remove() {} };

/** Device ops that log every call. */
export function recordingOps(log: string[], extra: Partial<VfioDeviceOps> = {}): VfioDeviceOps {
  return {
    open: (d) => log.push(`open ${d.name}`),
    release: (d) => log.push(`release ${d.name}`),
    ioctl: (_d, cmd) => {
      log.push(`ioctl ${cmd}`);
      return 7;
    },
    read: (_d, buf, off) => {
      buf.fill(0xab);
      log.push(`read ${buf.length}@${off.toString(16)}`);
      return buf.length;
    },
    write: (_d, buf, off) => {
      log.push(`write ${buf.length}@${off.toString(16)}`);
      return buf.length;
    },
    request: (d, n) => log.push(`request ${d.name} ${n}`),
    ...extra,
  };
}

export interface Setup {
  core: VfioCore;
  drv: FakeIommuDriver;
  fds: FdTable;
  ig: IommuGroup;
  pdev: Device;
  vdev: VfioDevice;
  log: string[];
}

/** A host with one backend and one PCI function in IOMMU group 5, bound to vfio-pci. */
export function setup(opts: { ops?: Partial<VfioDeviceOps> } = {}): Setup {
  const core = new VfioCore();
  const drv = new FakeIommuDriver();
  core.registerIommuDriver(drv);
  const ig = core.iommuGroups.alloc({ id: 5 });
  const pdev = new Device('0000:00:05.0', 'pci');
  core.iommuGroups.addDevice(ig, pdev);
  pdev.driver = vfioPci;
  const log: string[] = [];
  const vdev = core.registerGroupDev(pdev, recordingOps(log, opts.ops));
  return { core, drv, fds: new FdTable(), ig, pdev, vdev, log };
}

/** open container and group 5, attach, set type1v2: returns the fds. */
export function attach(s: Setup, opts: { iommu?: boolean } = {}): { cfd: number; gfd: number } {
  const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
  const gfd = s.core.open(s.fds, '/dev/vfio/5');
  ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
  if (opts.iommu !== false) ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  return { cfd, gfd };
}

export function openDevice(s: Setup, gfd: number, name = '0000:00:05.0'): number {
  return ioctl(s.fds, gfd, VFIO_GROUP_GET_DEVICE_FD, name);
}
