import { DriverCore, fail } from '@tsvirt/core-bus';
import {
  MdevCore,
  type MdevDevice,
  type MdevDriver,
  type MdevParentInfo,
  type MdevParentOps,
} from '../src/index.ts';

export const U1 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
export const U2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002';
export const U3 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1003';

/** A vendor that logs its calls and can be told to refuse create/remove. */
export function vendor(log: string[] = []) {
  const ctl = { refuseCreate: false, refuseRemove: false };
  const ops: MdevParentOps = {
    create(mdev) {
      log.push(`create ${mdev.uuid}`);
      if (ctl.refuseCreate) fail('ENOSPC', 'vendor is out of VRAM');
      mdev.drvdata = { regs: new Uint8Array(16) };
    },
    remove(mdev) {
      log.push(`remove ${mdev.uuid}`);
      if (ctl.refuseRemove) fail('EBUSY', 'vendor says busy');
    },
  };
  return { ops, ctl, log };
}

export function parentInfo(ops: MdevParentOps, extra: Partial<MdevParentInfo> = {}): MdevParentInfo {
  return {
    name: 'mtty',
    ops,
    maxInstances: 4,
    types: [
      { id: '1', name: 'Single port serial', deviceApi: 'vfio-pci', description: 'one port' },
      { id: '2', name: 'Dual port serial', deviceApi: 'vfio-pci', maxInstances: 1 },
    ],
    ...extra,
  };
}

export function setup() {
  const driverCore = new DriverCore();
  const core = new MdevCore(driverCore);
  const v = vendor();
  core.registerParent(parentInfo(v.ops));
  return { driverCore, core, ...v };
}

/** A bus driver for vfio-pci mdevs that records probe/remove. */
export function busDriver(log: string[], apis: string[] = ['vfio-pci']): MdevDriver {
  return {
    name: 'test-mpci',
    bus: 'mdev',
    deviceApis: apis,
    probe(mdev: MdevDevice) {
      log.push(`probe ${mdev.uuid}`);
    },
    remove(mdev: MdevDevice) {
      log.push(`unbind ${mdev.uuid}`);
    },
  };
}
