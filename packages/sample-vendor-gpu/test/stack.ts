import {
  coreBusModule,
  EventFd,
  FdTable,
  ModuleLoader,
  type VmmModule,
  WORK_QUEUE,
  type WorkQueue,
} from '@tsvirt/core-bus';
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
import { MDEV_CORE, type MdevCore, type MdevDevice, mdevCoreModule } from '@tsvirt/mdev-core';
import {
  ioctl,
  VFIO_CORE,
  VFIO_DEVICE_SET_IRQS,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  type VfioCore,
  VfioDeviceFile,
  vfioCoreModule,
} from '@tsvirt/vfio-core';
import { vfioMpciModule } from '@tsvirt/vfio-mpci';
import {
  createSampleGpuModule,
  type GpuEngineBudget,
  SAMPLE_GPU_DRIVER,
  type SampleGpuDriver,
} from '../src/index.ts';

export const CFG = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX);
export const BAR0 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX);
export const BAR2 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);
/** Where the test's guest RAM sits in IOVA space, and its size. */
export const RAM_IOVA = 0x8000_0000n;
export const RAM_SIZE = 4 << 20;
export const UUIDS = [
  '5a3e1b8c-0f4d-4e7a-9b61-2c8d7e6f5a41',
  '5a3e1b8c-0f4d-4e7a-9b61-2c8d7e6f5a42',
  '5a3e1b8c-0f4d-4e7a-9b61-2c8d7e6f5a43',
  '5a3e1b8c-0f4d-4e7a-9b61-2c8d7e6f5a44',
];

/** The host: every layer loaded as modules, the GPU as a plugin (or `plugin`). */
export function host(
  opts: { vramPool?: number; plugin?: VmmModule; totalFrames?: number; engine?: GpuEngineBudget } = {},
) {
  const loader = new ModuleLoader();
  loader.loadHost([
    coreBusModule,
    createHostMmModule({
      phys: { totalFrames: opts.totalFrames ?? 1 << 17 },
      mm: { rlimitMemlock: 1 << 30 },
    }),
    vfioCoreModule,
    iommuType1Module,
    mdevCoreModule,
    vfioMpciModule,
    opts.plugin ??
      createSampleGpuModule({
        ...(opts.vramPool === undefined ? {} : { vramPool: opts.vramPool }),
        ...(opts.engine === undefined ? {} : { engine: opts.engine }),
      }),
  ]);
  const c = loader.host;
  return {
    loader,
    vfio: c.resolve<VfioCore>(VFIO_CORE),
    mm: c.resolve<MmStruct>(HOST_MM),
    mdevs: c.resolve<MdevCore>(MDEV_CORE),
    /** The host workqueue the GPU's DMA engine runs on. */
    wq: c.resolve<WorkQueue>(WORK_QUEUE),
    driver: opts.plugin ? undefined : c.resolve<SampleGpuDriver>(SAMPLE_GPU_DRIVER),
  };
}
export type Host = ReturnType<typeof host>;

/**
 * What a VMM does with a new mdev: container + group + device fd, the type1
 * IOMMU with guest RAM mapped at RAM_IOVA, and an INTx eventfd.
 */
export function openDevice(h: Host, mdev: MdevDevice, ramSize = RAM_SIZE) {
  const fds = new FdTable();
  const cfd = h.vfio.open(fds, '/dev/vfio/vfio');
  const gfd = h.vfio.open(fds, `/dev/vfio/${mdev.iommuGroup!.id}`);
  ioctl(fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
  ioctl(fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const dfd = ioctl(fds, gfd, VFIO_GROUP_GET_DEVICE_FD, mdev.uuid);
  const device = fds.getAs(dfd, VfioDeviceFile);
  const ram = h.mm.mmap({
    length: ramSize,
    prot: PROT_READ | PROT_WRITE,
    flags: MAP_PRIVATE | MAP_ANONYMOUS,
  });
  ioctl(fds, cfd, VFIO_IOMMU_MAP_DMA, {
    argsz: 32,
    flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
    vaddr: BigInt(ram),
    iova: RAM_IOVA,
    size: BigInt(ramSize),
  });
  const intx = new EventFd();
  device.ioctl(VFIO_DEVICE_SET_IRQS, {
    argsz: 24,
    flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
    index: VFIO_PCI_INTX_IRQ_INDEX,
    start: 0,
    count: 1,
    data: [fds.install(intx)],
  });
  const rd32 = (pos: bigint): number => {
    const b = new Uint8Array(4);
    device.read(b, pos);
    return new DataView(b.buffer).getUint32(0, true);
  };
  const wr32 = (pos: bigint, v: number): void => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    device.write(b, pos);
  };
  const rd16 = (pos: bigint): number => {
    const b = new Uint8Array(2);
    device.read(b, pos);
    return b[0]! | (b[1]! << 8);
  };
  const wr16 = (pos: bigint, v: number): void => {
    device.write(Uint8Array.of(v & 0xff, (v >> 8) & 0xff), pos);
  };
  /** Guest RAM access by IOVA (what the guest's CPU would do). */
  const guestWrite = (iova: bigint, data: Uint8Array) => h.mm.copyToUser(ram + Number(iova - RAM_IOVA), data);
  const guestRead = (iova: bigint, len: number) => {
    const d = new Uint8Array(len);
    h.mm.copyFromUser(ram + Number(iova - RAM_IOVA), d);
    return d;
  };
  /** Run the device work queued so far to completion (the engine is asynchronous). */
  const drain = () => h.wq.drain();
  return { fds, cfd, gfd, dfd, device, ram, intx, rd32, wr32, rd16, wr16, guestWrite, guestRead, drain };
}

/** The standard bring-up: create and open a GPU of `type`, memory decode + bus master on. */
export function gpu(
  type = 'small',
  opts: { vramPool?: number; ramSize?: number; engine?: GpuEngineBudget } = {},
) {
  const h = host(opts);
  const mdev = h.mdevs.createDevice('sample-gpu', `sample_gpu-${type}`, UUIDS[0]!);
  const d = openDevice(h, mdev, opts.ramSize);
  d.wr16(CFG + 4n, 0x6);
  return { h, mdev, ...d };
}

/** A 32-byte command, little-endian, as SPEC.md lays it out. */
export function cmd(
  opcode: number,
  o: { addr?: bigint; vram?: number; length?: number; value?: number } = {},
) {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, opcode, true);
  dv.setBigUint64(8, o.addr ?? 0n, true);
  dv.setUint32(16, o.vram ?? 0, true);
  dv.setUint32(20, o.length ?? 0, true);
  dv.setUint32(24, (o.value ?? 0) >>> 0, true);
  return b;
}

/** The errno name a call fails with (test-utils' errnoOf). */
export { errnoOf as code } from '@tsvirt/test-utils';
