import { Device, type Driver, EventFd, FdTable, fail } from '@tsvirt/core-bus';
import { KVM_DEV_TYPE_VFIO, Kvm, type KvmArchOps, type KvmDevice, type KvmVm } from '@tsvirt/kvm-core';
import {
  ioctl,
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_CC_IOMMU,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioCore,
  type VfioDevice,
  type VfioDeviceOps,
  type VfioIommu,
  type VfioIommuDriver,
} from '@tsvirt/vfio-core';
import { EventfdIrqProducer, IrqBypass, type KvmVfioOptions, registerKvmVfio } from '../src/index.ts';

const vfioPci: Driver = { name: 'vfio-pci', bus: 'pci', probe() {}, remove() {} };

/** A type1-like backend; `coherent` says whether it answers VFIO_DMA_CC_IOMMU. */
class TinyIommuDriver implements VfioIommuDriver {
  readonly name = 'tiny';
  /** Whether the next container opened keeps DMA coherent. */
  coherent = true;
  checkExtension(ext: number): number {
    if (ext === VFIO_TYPE1v2_IOMMU) return 1;
    return ext === VFIO_DMA_CC_IOMMU && this.coherent ? 1 : 0;
  }
  open(arg: number): VfioIommu {
    if (arg !== VFIO_TYPE1v2_IOMMU) fail('EINVAL', 'tiny: type not served');
    const coherent = this.coherent;
    const ext = (e: number) => (e === VFIO_TYPE1v2_IOMMU || (e === VFIO_DMA_CC_IOMMU && coherent) ? 1 : 0);
    return {
      release() {},
      ioctl: (cmd, a) => (cmd === VFIO_CHECK_EXTENSION ? ext(a as number) : fail('ENOTTY', 'tiny')),
      attachGroup() {},
      detachGroup() {},
      pinPages: () => fail('EINVAL', 'tiny'),
      unpinPages: () => 0,
      dmaRw: () => fail('EINVAL', 'tiny'),
      registerNotifier() {},
      unregisterNotifier() {},
    };
  }
}

/**
 * A VFIO bus driver's interrupts in miniature: INTx (index 0, one line) and
 * MSI (index 1, four vectors), each with a host irq and, once a trigger
 * eventfd is set, a bypass producer registered with the manager.
 */
export class FakeIrqs {
  readonly producers = new Map<string, EventfdIrqProducer>();
  constructor(
    readonly base: number,
    readonly mgr: IrqBypass,
  ) {}
  hostIrq(index: number, vector: number): number | undefined {
    const n = index === 0 ? 1 : index === 1 ? 4 : 0;
    return vector < n ? this.base + index * 32 + vector : undefined;
  }
  setTrigger(index: number, vector: number, fd: EventFd | undefined): void {
    const key = `${index}:${vector}`;
    const old = this.producers.get(key);
    if (old !== undefined) {
      this.mgr.unregisterProducer(old);
      this.producers.delete(key);
    }
    if (fd === undefined) return;
    const p = new EventfdIrqProducer(fd, this.hostIrq(index, vector)!);
    this.mgr.registerProducer(p);
    this.producers.set(key, p);
  }
  fire(index: number, vector: number): void {
    this.producers.get(`${index}:${vector}`)?.fire();
  }
  clear(): void {
    for (const p of this.producers.values()) this.mgr.unregisterProducer(p);
    this.producers.clear();
  }
}

export interface ArchLog {
  calls: string[];
  /** host irq -> gsi routes the arch holds (bypass/forward). */
  routes: Map<number, number>;
  /** gsis raised through setIrq. */
  raised: number[];
  noncoherent: boolean[];
  /** Run inside irqBypassAddProducer (to kill the VM mid-callout). */
  onAdd?: () => void;
  failAdd?: boolean;
}

export function toyArch(log: ArchLog): KvmArchOps {
  return {
    name: 'toy',
    vmInit() {},
    vmDestroy() {},
    prepareMemoryRegion() {},
    commitMemoryRegion() {},
    flushShadowMemslot() {},
    enableLogDirtyPtMasked() {},
    vcpuCreate() {},
    vcpuDestroy() {},
    vcpuRun() {},
    setIrq(_vm, gsi, level) {
      if (level) log.raised.push(gsi);
    },
    irqBypassAddProducer(_vm, hostIrq, gsi) {
      log.calls.push(`add ${typeof hostIrq}:${hostIrq} ${typeof gsi}:${gsi}`);
      if (log.failAdd) fail('EINVAL', 'toy: refused');
      if (log.routes.has(hostIrq)) fail('EBUSY', 'toy: route exists');
      log.routes.set(hostIrq, gsi);
      log.onAdd?.();
    },
    irqBypassDelProducer(_vm, hostIrq, gsi) {
      log.calls.push(`del ${hostIrq} ${gsi}`);
      log.routes.delete(hostIrq);
    },
    noncoherentDmaChanged(_vm, nc) {
      log.noncoherent.push(nc);
    },
  };
}

export interface World {
  fds: FdTable;
  core: VfioCore;
  kvm: Kvm;
  vm: KvmVm;
  mgr: IrqBypass;
  log: ArchLog;
  /** IOMMU group ids 5 (coherent backend) and 6 (non-coherent backend). */
  vdevs: VfioDevice[];
  irqs: FakeIrqs[];
  iommu: TinyIommuDriver;
}

/** Two PCI functions in groups 5 and 6; /dev/kvm with the toy arch, one VM and the VFIO device type. */
export function world(opts: KvmVfioOptions = {}): World {
  const fds = new FdTable();
  const mgr = new IrqBypass();
  const core = new VfioCore();
  const iommu = new TinyIommuDriver();
  core.registerIommuDriver(iommu);
  const vdevs: VfioDevice[] = [];
  const irqs: FakeIrqs[] = [];
  for (const [id, base] of [
    [5, 100],
    [6, 200],
  ] as const) {
    const ig = core.iommuGroups.alloc({ id });
    const pdev = new Device(`0000:00:0${id}.0`, 'pci');
    core.iommuGroups.addDevice(ig, pdev);
    pdev.driver = vfioPci;
    const fi = new FakeIrqs(base, mgr);
    const ops: VfioDeviceOps & { irqs: FakeIrqs } = { irqs: fi, release: () => fi.clear() };
    irqs.push(fi);
    vdevs.push(core.registerGroupDev(pdev, ops));
  }
  const log: ArchLog = { calls: [], routes: new Map(), raised: [], noncoherent: [] };
  const kvm = new Kvm({ arch: toyArch(log), files: fds, irqBypass: mgr });
  registerKvmVfio(kvm, opts);
  const vm = kvm.createVm();
  return { fds, core, kvm, vm, mgr, log, vdevs, irqs, iommu };
}

/** Open a container with `coherent` IOMMU and group `id` in it; returns the group fd. */
export function openGroup(w: World, id: number, coherent = true): number {
  w.iommu.coherent = coherent;
  const cfd = w.core.open(w.fds, '/dev/vfio/vfio');
  const gfd = w.core.open(w.fds, `/dev/vfio/${id}`);
  ioctl(w.fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
  ioctl(w.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  w.fds.close(cfd);
  return gfd;
}

export function openDevice(w: World, gfd: number, id: number): number {
  return ioctl(w.fds, gfd, VFIO_GROUP_GET_DEVICE_FD, `0000:00:0${id}.0`);
}

export function createVfioDevice(w: World): KvmDevice {
  const cd = { type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 };
  return w.vm.createDevice(cd)!;
}

export const code = (c: string) => ({ code: c });
export { EventFd };
