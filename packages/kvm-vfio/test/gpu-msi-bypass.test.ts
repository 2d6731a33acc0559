import { coreBusModule, EventFd, FdTable, ModuleLoader, WORK_QUEUE, type WorkQueue } from '@tsvirt/core-bus';
import {
  createHostMmModule,
  HOST_MM,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type MmStruct,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import {
  iommuType1Module,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_IOMMU_MAP_DMA,
} from '@tsvirt/iommu-type1';
import { createKvmCoreModule, KVM, KVM_DEV_TYPE_VFIO, type Kvm } from '@tsvirt/kvm-core';
import { MDEV_CORE, type MdevCore, mdevCoreModule } from '@tsvirt/mdev-core';
import {
  createSampleGpuModule,
  INT_FENCE,
  OP_FENCE,
  REG_INT_ENABLE,
  REG_RING_BASE_HI,
  REG_RING_BASE_LO,
  REG_RING_SIZE,
  REG_RING_TAIL,
} from '@tsvirt/sample-vendor-gpu';
import {
  ioctl,
  VFIO_CORE,
  VFIO_DEVICE_SET_IRQS,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  type VfioCore,
  VfioDeviceFile,
  vfioCoreModule,
} from '@tsvirt/vfio-core';
import { vfioMpciModule } from '@tsvirt/vfio-mpci';
import { describe, expect, it } from 'vitest';
import {
  createKvmVfioModule,
  encodeFd,
  IrqBypass,
  KVM_DEV_VFIO_FILE,
  KVM_DEV_VFIO_FILE_ADD,
} from '../src/index.ts';
import { type ArchLog, toyArch } from './helpers.ts';

// The whole path with a real mediated device: the sample GPU finishes a
// FENCE and sends its MSI; vfio-mpci's trigger for that vector is a bypass
// producer, the VMM's KVM_IRQFD on the same eventfd a consumer; the host's
// modules (kvm-vfio gives its manager to both /dev/kvm and VFIO) connect
// them, and the interrupt reaches the VM's interrupt state (the toy arch's
// setIrq) without the eventfd being signalled or the VMM running.

const CFG = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX);
const BAR0 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX);
const RAM_IOVA = 0x8000_0000n;
const RAM_SIZE = 1 << 20;
const GSI = 40;

function host() {
  const files = new FdTable();
  const mgr = new IrqBypass();
  const loader = new ModuleLoader();
  loader.loadHost([
    coreBusModule,
    createHostMmModule({ phys: { totalFrames: 1 << 14 }, mm: { rlimitMemlock: 1 << 30 } }),
    vfioCoreModule,
    iommuType1Module,
    mdevCoreModule,
    vfioMpciModule,
    createSampleGpuModule(),
    createKvmCoreModule({ files }),
    createKvmVfioModule({ bypass: mgr }),
  ]);
  const c = loader.host;
  const log: ArchLog = { calls: [], routes: new Map(), raised: [], noncoherent: [] };
  const kvm = c.resolve<Kvm>(KVM);
  kvm.registerArch(toyArch(log));
  return {
    files,
    mgr,
    log,
    kvm,
    vfio: c.resolve<VfioCore>(VFIO_CORE),
    mm: c.resolve<MmStruct>(HOST_MM),
    mdevs: c.resolve<MdevCore>(MDEV_CORE),
    loader,
  };
}

/** What a VMM does: the GPU in a type1 container with guest RAM mapped, its group given to the VM's KVM-VFIO device, MSI on. */
function bringUp() {
  const h = host();
  const { files: fds } = h;
  const mdev = h.mdevs.createDevice('sample-gpu', 'sample_gpu-small', '0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
  const cfd = h.vfio.open(fds, '/dev/vfio/vfio');
  const gfd = h.vfio.open(fds, `/dev/vfio/${mdev.iommuGroup!.id}`);
  ioctl(fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
  ioctl(fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const ram = h.mm.mmap({
    length: RAM_SIZE,
    prot: PROT_READ | PROT_WRITE,
    flags: MAP_PRIVATE | MAP_ANONYMOUS,
  });
  ioctl(fds, cfd, VFIO_IOMMU_MAP_DMA, {
    argsz: 32,
    flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
    vaddr: BigInt(ram),
    iova: RAM_IOVA,
    size: BigInt(RAM_SIZE),
  });
  const wq = h.loader.host.resolve<WorkQueue>(WORK_QUEUE);
  const dfd = ioctl(fds, gfd, VFIO_GROUP_GET_DEVICE_FD, mdev.uuid);
  const device = fds.getAs(dfd, VfioDeviceFile);
  const wr = (pos: bigint, v: number, len = 4) => {
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = (v >>> (8 * i)) & 0xff;
    device.write(b, pos);
  };

  const vm = h.kvm.createVm();
  const kvfio = vm.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 })!;
  kvfio.setAttr({
    flags: 0,
    group: KVM_DEV_VFIO_FILE,
    attr: BigInt(KVM_DEV_VFIO_FILE_ADD),
    addr: 0x1000n,
    data: encodeFd(gfd),
  });

  // Memory decode + bus master; a 4-entry ring at the start of guest RAM; FENCE interrupts on.
  wr(CFG + 4n, 0x6, 2);
  wr(BAR0 + BigInt(REG_RING_BASE_LO), Number(RAM_IOVA & 0xffff_ffffn));
  wr(BAR0 + BigInt(REG_RING_BASE_HI), Number(RAM_IOVA >> 32n));
  wr(BAR0 + BigInt(REG_RING_SIZE), 4);
  wr(BAR0 + BigInt(REG_INT_ENABLE), INT_FENCE);
  const msi = new EventFd();
  const efd = fds.install(msi);
  device.ioctl(VFIO_DEVICE_SET_IRQS, {
    argsz: 24,
    flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
    index: VFIO_PCI_MSI_IRQ_INDEX,
    start: 0,
    count: 1,
    data: [efd],
  });

  let tail = 0;
  /** The guest queues a FENCE and rings the doorbell. */
  const fence = (value: number) => {
    const c = new Uint8Array(32);
    const dv = new DataView(c.buffer);
    dv.setUint32(0, OP_FENCE, true);
    dv.setUint32(24, value, true);
    h.mm.copyToUser(ram + tail * 32, c);
    tail = (tail + 1) % 4;
    wr(BAR0 + BigInt(REG_RING_TAIL), tail);
    // The doorbell queued the engine's work; run it, as the VMM's loop would.
    wq.drain();
  };
  return { ...h, mdev, gfd, dfd, device, vm, kvfio, msi, efd, fence };
}

describe('IRQ bypass with a real mediated device (sample GPU MSI -> KVM irqfd)', () => {
  it('the modules wire both sides: the MSI trigger is a producer as soon as SET_IRQS names it', () => {
    const s = bringUp();
    expect(s.vfio.irqBypass).toBe(s.mgr);
    expect(s.kvm.irqBypass).toBe(s.mgr);
    expect(s.mgr.producers.map((p) => p.token)).toEqual([s.msi]);
    expect(s.mgr.connections).toBe(0);
  });

  it('with an irqfd on the MSI eventfd, a FENCE reaches the VM directly: no eventfd signal, no VMM', () => {
    const s = bringUp();
    let vmmWakeups = 0;
    s.msi.listen(() => vmmWakeups++);
    s.vm.irqfd({ fd: s.efd, gsi: GSI, flags: 0 });
    expect(s.mgr.connections).toBe(1);
    // the arch heard of the route as numbers: the device's host irq for MSI vector 0, and the gsi
    const hostIrq = s.mgr.producers[0]!.irq;
    expect(s.log.calls).toEqual([`add number:${hostIrq} number:${GSI}`]);
    s.fence(1);
    s.fence(2);
    expect(s.log.raised).toEqual([GSI, GSI]);
    expect(s.msi.value).toBe(0n);
    expect(vmmWakeups).toBe(0);

    // KVM_IRQFD deassign: the same FENCE now signals the eventfd for the VMM to relay.
    s.vm.irqfd({ fd: s.efd, gsi: GSI, flags: 1 });
    expect(s.mgr.connections).toBe(0);
    expect(s.log.calls).toEqual([`add number:${hostIrq} number:${GSI}`, `del ${hostIrq} ${GSI}`]);
    s.fence(3);
    expect(s.log.raised).toEqual([GSI, GSI]);
    expect(s.msi.read()).toBe(1n);
    expect(vmmWakeups).toBe(1);
  });

  it('the VMM dying (its descriptor table closed) disconnects and unregisters everything', () => {
    const s = bringUp();
    s.vm.irqfd({ fd: s.efd, gsi: GSI, flags: 0 });
    expect(s.mgr.connections).toBe(1);
    s.files.closeAll();
    expect(s.mgr.connections).toBe(0);
    expect(s.mgr.producers).toEqual([]);
    expect(s.mgr.consumers).toEqual([]);
    expect(s.log.routes.size).toBe(0);
    expect(s.kvm.vms).toEqual([]);
  });
});
