import { DriverCore, EventFd, FdTable, fail, type KernelFile } from '@tsvirt/core-bus';
import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MmStruct,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import { VFIO_IOMMU_NOTIFY_DMA_UNMAP, type VfioIommuType1, VfioIommuType1Driver } from '@tsvirt/iommu-type1';
import { MdevCore, type MdevDevice } from '@tsvirt/mdev-core';
import {
  type DmaUnmapEvent,
  ioctl,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_SET_IRQS,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_NOTIFY,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  type VfioContainerFile,
  VfioCore,
  type VfioDevice,
  VfioDeviceFile,
  type VfioGroupFile,
  vfio_dma_rw,
  vfio_pin_pages,
  vfio_register_notifier,
  vfio_unpin_pages,
  vfio_unregister_notifier,
} from '@tsvirt/vfio-core';
import {
  type MpciDevice,
  type MpciIrqs,
  type MpciParentOps,
  mpciDevice,
  mpciIrqs,
  mpciVfioDevice,
  VfioMpciDriver,
} from '@tsvirt/vfio-mpci';
import type { FuzzOp, FuzzTarget, FuzzTargetFactory } from '../harness.ts';
import { fuzzU32, fuzzU64, type Rng } from '../rng.ts';

const PAGE = 4096;
const REGION_SHIFT = 40n;
const CONFIG_INDEX = 7;
const BAR0_SIZE = 4096;
const BAR2_PAGES = 4;
const BAR2_SIZE = BAR2_PAGES * PAGE;
/** Guest RAM the VMM maps for DMA. */
const RAM = 1 << 20;
const UUIDS = ['5a3e1b8c-0f4d-4e7a-9b61-2c8d7e6f5a41', '5a3e1b8c-0f4d-4e7a-9b61-2c8d7e6f5a42'];

/** The vendor's per-device state (mdev.drvdata). */
interface VendorDev {
  config: Uint8Array;
  regs: Uint8Array;
  /** First of the contiguous host frames behind BAR2 ("VRAM"). */
  vram: number;
  /** IOVA pfn -> pins it holds through vfio_pin_pages(). */
  pins: Map<number, number>;
  notifier: ((ev: number, d: DmaUnmapEvent) => void) | undefined;
  vdev: VfioDevice | undefined;
}

const st = (mdev: MdevDevice) => mdev.drvdata as VendorDev;

/** FNV-1a of a byte array, for "did the device state change". */
function fnv(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return (h >>> 0).toString(16);
}

/** The MpciIrqs' INTx unmask virqfd (private in vfio-mpci), to count eventfd listeners it should hold. */
function unmaskFd(irqs: MpciIrqs): EventFd | undefined {
  return (irqs as unknown as { intxUnmask?: { fd: EventFd } }).intxUnmask?.fd;
}

type Fd =
  | { kind: 'container'; file: VfioContainerFile }
  | { kind: 'group'; file: VfioGroupFile }
  | { kind: 'device'; file: VfioDeviceFile }
  | { kind: 'eventfd'; file: EventFd };

/**
 * A full VFIO stack with mediated PCI devices, driven as a careless VMM
 * would: containers, groups and device fds in one descriptor table, info
 * ioctls with random argsz and indexes, SET_IRQS with random flags and
 * eventfds (closed ones, non-eventfds), region accesses at random offsets
 * and sizes, mmap of the VRAM BAR and faults through it, DMA mappings the
 * vendor pins through, resets, forced and plain removals, closes in any
 * order.
 */
class VfioMpciTarget implements FuzzTarget {
  readonly phys = new HostPhysMemory({ totalFrames: 1 << 14 });
  readonly mm = new MmStruct(this.phys, { rlimitMemlock: 64 * PAGE });
  readonly vfio = new VfioCore();
  readonly mdevs = new MdevCore(new DriverCore(), { groups: this.vfio.mdevIommuGroups });
  readonly fds = new FdTable();
  readonly open = new Map<number, Fd>();
  readonly eventfds: EventFd[] = [];
  readonly devices: MdevDevice[] = [];
  readonly vdevs = new Map<MdevDevice, VfioDevice>();
  readonly deviceFiles: VfioDeviceFile[] = [];
  readonly containers: VfioContainerFile[] = [];
  readonly ram: number;
  readonly vendor: MpciParentOps;
  readonly ops: FuzzOp[];

  constructor(rng: Rng) {
    this.vfio.registerIommuDriver(new VfioIommuType1Driver({ mm: this.mm, dmaEntryLimit: 16 }));
    this.mdevs.registerDriver(new VfioMpciDriver(this.vfio));
    this.vendor = this.makeVendor(rng);
    this.mdevs.registerParent({
      name: 'fz',
      ops: this.vendor,
      types: [{ id: 'a', deviceApi: 'vfio-pci' }],
      maxInstances: 2,
    });
    this.ram = this.mm.mmap({
      length: RAM,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS,
    });
    this.createMdev(UUIDS[0]!);
    if (rng.chance(0.5)) this.createMdev(UUIDS[1]!);
    this.ops = this.makeOps();
  }

  private createMdev(uuid: string): void {
    const m = this.mdevs.createDevice('fz', 'fz-a', uuid);
    this.devices.push(m);
    this.vdevs.set(m, mpciVfioDevice(m)!);
  }

  private liveMdevs(): MdevDevice[] {
    return this.devices.filter((d) => d.active);
  }

  private fdsOf(kind: Fd['kind']): number[] {
    return [...this.open].filter(([, f]) => f.kind === kind).map(([fd]) => fd);
  }

  /** An fd argument: mostly one of the wanted kind, sometimes another kind, closed, or absurd. */
  private fdArg(r: Rng, kind: Fd['kind']): number {
    const want = this.fdsOf(kind);
    const x = r.below(20);
    if (x < 16 && want.length > 0) return r.pick(want);
    if (x < 18 && this.open.size > 0) return r.pick([...this.open.keys()]);
    return r.pick([-1, 99, this.open.size, 0x7fff_ffff]);
  }

  private install(f: Fd): number {
    const fd = this.fds.install(f.file as KernelFile);
    this.open.set(fd, f);
    return fd;
  }

  private deviceFile(r: Rng): VfioDeviceFile | undefined {
    const fds = this.fdsOf('device');
    if (fds.length === 0) return undefined;
    return (this.open.get(r.pick(fds)) as { file: VfioDeviceFile }).file;
  }

  // --- the vendor: config space with an MSI capability, BAR0 registers, BAR2 VRAM ---------------

  private makeVendor(rng: Rng): MpciParentOps {
    const phys = this.phys;
    const msiMmc = rng.int(0, 5);
    const pcie = rng.chance(0.5);
    const dropDma = (s: VendorDev) => {
      if (s.vdev === undefined) return;
      for (const [pfn, n] of s.pins) vfio_unpin_pages(s.vdev, new Array<number>(n).fill(pfn));
      s.pins.clear();
      if (s.notifier !== undefined) vfio_unregister_notifier(s.vdev, VFIO_IOMMU_NOTIFY, s.notifier);
      s.notifier = undefined;
      s.vdev = undefined;
    };
    const dma = (mdev: MdevDevice, reg: number, v: number) => {
      const s = st(mdev);
      // The device's DMA engine: a failure is a device error status, never an exception to the guest.
      try {
        if (s.vdev === undefined) return;
        if (reg === 8) {
          vfio_pin_pages(s.vdev, [v % 512], 3);
          s.pins.set(v % 512, (s.pins.get(v % 512) ?? 0) + 1);
        } else if (reg === 12) {
          for (const [pfn, n] of s.pins) vfio_unpin_pages(s.vdev, new Array<number>(n).fill(pfn));
          s.pins.clear();
        } else {
          vfio_dma_rw(s.vdev, BigInt((v % 512) * PAGE), s.regs.subarray(64, 64 + 256), (v & 1) === 1);
        }
      } catch {
        s.regs[0xff] = 1;
      }
    };
    const vendor: MpciParentOps = {
      create(mdev) {
        const config = new Uint8Array(256);
        config[0x06] = 0x10; // PCI_STATUS_CAP_LIST
        config[0x34] = 0x40;
        config[0x3d] = 1; // INTx pin A
        config[0x40] = 0x05; // MSI
        config[0x41] = pcie ? 0x50 : 0;
        config[0x42] = msiMmc << 1;
        if (pcie) config[0x50] = 0x10; // PCI Express
        const vram = phys.allocContiguous(BAR2_PAGES, 1);
        for (let i = 0; i < BAR2_PAGES; i++) phys.frame(vram + i).fill(0);
        const s: VendorDev = {
          config,
          regs: new Uint8Array(BAR0_SIZE),
          vram,
          pins: new Map(),
          notifier: undefined,
          vdev: undefined,
        };
        mdev.drvdata = s;
      },
      remove(mdev) {
        const s = st(mdev);
        // A forced remove of an open device: drop the DMA state the (skipped) release would have.
        dropDma(s);
        phys.freeFrames(s.vram, BAR2_PAGES);
      },
      open(mdev) {
        const s = st(mdev);
        const vdev = mpciVfioDevice(mdev)!;
        const nb = (_ev: number, d: DmaUnmapEvent) => {
          const first = Number(d.iova / BigInt(PAGE));
          const last = Number((d.iova + d.size - 1n) / BigInt(PAGE));
          for (const [pfn, n] of [...s.pins]) {
            if (pfn < first || pfn > last) continue;
            vfio_unpin_pages(vdev, new Array<number>(n).fill(pfn));
            s.pins.delete(pfn);
          }
        };
        vfio_register_notifier(vdev, VFIO_IOMMU_NOTIFY, VFIO_IOMMU_NOTIFY_DMA_UNMAP, nb);
        s.notifier = nb;
        s.vdev = vdev;
      },
      release(mdev) {
        dropDma(st(mdev));
      },
      getRegionInfo(_mdev, index) {
        if (index === CONFIG_INDEX) return { size: 256n };
        if (index === 0) return { size: BigInt(BAR0_SIZE) };
        if (index === 2) return { size: BigInt(BAR2_SIZE), mmap: true };
        return undefined;
      },
      read(mdev, buf, pos) {
        const s = st(mdev);
        const index = Number(pos >> REGION_SHIFT);
        const off = Number(pos & ((1n << REGION_SHIFT) - 1n));
        if (index === CONFIG_INDEX) buf.set(s.config.subarray(off, off + buf.length));
        else if (index === 0) buf.set(s.regs.subarray(off, off + buf.length));
        else if (index === 2) {
          const f = phys.frame(s.vram + Math.floor(off / PAGE));
          buf.set(f.subarray(off % PAGE, (off % PAGE) + buf.length));
        }
        return buf.length;
      },
      write(mdev, buf, pos) {
        const s = st(mdev);
        const index = Number(pos >> REGION_SHIFT);
        const off = Number(pos & ((1n << REGION_SHIFT) - 1n));
        if (index === CONFIG_INDEX) return buf.length; // config space is read-only here
        if (index === 2) {
          phys.frame(s.vram + Math.floor(off / PAGE)).set(buf, off % PAGE);
          return buf.length;
        }
        s.regs.set(buf, off);
        const v = buf.reduce((acc, b, i) => acc + b * 256 ** i, 0);
        const irqs = mpciIrqs(mdev);
        if (off === 0) irqs?.setIntx(v !== 0);
        else if (off === 4 && irqs !== undefined) {
          const idx = irqs.type === 'msix' ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
          irqs.trigger(irqs.type === 'intx' ? VFIO_PCI_INTX_IRQ_INDEX : idx, v % 40);
        } else if (off === 8 || off === 12 || off === 16) dma(mdev, off, v);
        // A vendor may answer short.
        return off === 0x80 && buf.length > 1 ? 1 : buf.length;
      },
      validateMapRequest(mdev, req) {
        const s = st(mdev);
        const page = Number(req.offset) / PAGE;
        if (req.index !== 2 || page >= BAR2_PAGES) fail('EINVAL', 'not VRAM');
        if (s.regs[0x90] === 1) return { pfn: -1, size: PAGE }; // a confused vendor: refused by vfio-mpci
        // The rest of the mapping within VRAM, when register 0x91 asks for it; else one page.
        if (s.regs[0x91] === 1) {
          const size = Math.min(req.remaining, (BAR2_PAGES - page) * PAGE);
          return { pfn: s.vram + page, size };
        }
        return { pfn: s.vram + page, size: PAGE };
      },
      reset(mdev) {
        st(mdev).regs.fill(0);
      },
    };
    return vendor;
  }

  // --- the user side --------------------------------------------------------------------------

  private makeOps(): FuzzOp[] {
    const region = (r: Rng) => BigInt(r.pick([0, 0, 2, 2, CONFIG_INDEX, 1, 6, 8, 9, 0x1fff])) << REGION_SHIFT;
    const irqIndex = (r: Rng) => (r.chance(0.95) ? r.below(VFIO_PCI_NUM_IRQS) : fuzzU32(r, () => 5));
    return [
      {
        name: 'open /dev/vfio/vfio',
        run: () => {
          const fd = this.vfio.open(this.fds, '/dev/vfio/vfio');
          const file = this.fds.get(fd) as VfioContainerFile;
          this.open.set(fd, { kind: 'container', file });
          this.containers.push(file);
        },
      },
      {
        name: 'open /dev/vfio/<group>',
        weight: 2,
        run: (r) => {
          const live = this.liveMdevs();
          const id = live.length > 0 && r.chance(0.9) ? r.pick(live).iommuGroup!.id : r.int(0, 2000);
          const fd = this.vfio.open(this.fds, r.chance(0.97) ? `/dev/vfio/${id}` : `/dev/vfio/0${id}`);
          this.open.set(fd, { kind: 'group', file: this.fds.get(fd) as VfioGroupFile });
        },
      },
      {
        name: 'GROUP_SET/UNSET_CONTAINER, GET_STATUS',
        weight: 3,
        run: (r) => {
          const g = this.fdArg(r, 'group');
          const which = r.below(5);
          if (which < 3) ioctl(this.fds, g, VFIO_GROUP_SET_CONTAINER, this.fdArg(r, 'container'));
          else if (which === 3) ioctl(this.fds, g, VFIO_GROUP_UNSET_CONTAINER);
          else ioctl(this.fds, g, VFIO_GROUP_GET_STATUS, { argsz: fuzzU32(r, () => 8), flags: 0 });
        },
      },
      {
        name: 'VFIO_SET_IOMMU',
        weight: 2,
        run: (r) => {
          const t = r.pick([VFIO_TYPE1v2_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU, 8, 0]);
          ioctl(this.fds, this.fdArg(r, 'container'), VFIO_SET_IOMMU, t);
        },
      },
      {
        name: 'GROUP_GET_DEVICE_FD',
        weight: 3,
        run: (r) => {
          const live = this.liveMdevs();
          const name =
            live.length > 0 && r.chance(0.9) ? r.pick(live).uuid : r.pick([UUIDS[1]!, '', 'x'.repeat(5000)]);
          const fd = ioctl(this.fds, this.fdArg(r, 'group'), VFIO_GROUP_GET_DEVICE_FD, name);
          const file = this.fds.get(fd) as VfioDeviceFile;
          this.open.set(fd, { kind: 'device', file });
          this.deviceFiles.push(file);
        },
      },
      {
        name: 'eventfd',
        run: () => {
          const e = new EventFd();
          this.eventfds.push(e);
          this.install({ kind: 'eventfd', file: e });
        },
      },
      {
        name: 'close / dup',
        weight: 2,
        run: (r) => {
          if (r.chance(0.1) && this.open.size > 0) {
            const fd = r.pick([...this.open.keys()]);
            const nfd = this.fds.dup(fd);
            this.open.set(nfd, this.open.get(fd)!);
            return;
          }
          const fd = this.open.size > 0 && r.chance(0.95) ? r.pick([...this.open.keys()]) : r.int(-1, 40);
          this.fds.close(fd);
          this.open.delete(fd);
        },
      },
      {
        name: 'GET_INFO / GET_REGION_INFO / GET_IRQ_INFO',
        weight: 3,
        run: (r) => {
          const f = this.deviceFile(r);
          if (f === undefined) return;
          const which = r.below(3);
          if (which === 0)
            f.ioctl(VFIO_DEVICE_GET_INFO, {
              argsz: fuzzU32(r, () => r.pick([16, 24])),
              flags: 0,
              num_regions: 0,
              num_irqs: 0,
            });
          else if (which === 1)
            f.ioctl(VFIO_DEVICE_GET_REGION_INFO, {
              argsz: fuzzU32(r, () => r.pick([32, 32, 64, 16])),
              flags: 0,
              index: fuzzU32(r, () => r.below(12)),
              cap_offset: 0,
              size: 0n,
              offset: 0n,
            });
          else
            f.ioctl(VFIO_DEVICE_GET_IRQ_INFO, {
              argsz: fuzzU32(r, () => 16),
              flags: 0,
              index: irqIndex(r),
              count: 0,
            });
        },
      },
      { name: 'SET_IRQS', weight: 6, run: (r) => this.setIrqs(r) },
      {
        name: 'region read/write',
        weight: 6,
        run: (r) => {
          const f = this.deviceFile(r);
          if (f === undefined) return;
          const off = BigInt(
            r.chance(0.8) ? r.pick([0, 4, 8, 12, 16, 0x3c, 0x40, 0x80, 0x90, 0x91]) : r.below(BAR2_SIZE + 8),
          );
          const pos = r.chance(0.97) ? region(r) | off : (fuzzU64(r, () => 0n) as bigint);
          const len = r.chance(0.9) ? r.pick([1, 2, 4, 4, 8, 3]) : r.pick([0, 7, 300]);
          const buf = new Uint8Array(len);
          if (r.chance(0.5)) {
            for (let i = 0; i < len; i++) buf[i] = r.chance(0.5) ? r.below(3) : r.below(256);
            f.write(buf, pos);
          } else f.read(buf, pos);
        },
      },
      {
        name: 'mmap BAR2',
        weight: 2,
        run: (r) => {
          const f = this.deviceFile(r);
          if (f === undefined) return;
          const page = r.chance(0.9) ? r.below(BAR2_PAGES) : r.pick([BAR2_PAGES, 1 << 20]);
          const idx = r.chance(0.9) ? 2n : region(r) >> REGION_SHIFT;
          this.mm.mmap({
            length: r.chance(0.9) ? r.int(1, BAR2_PAGES - page || 1) * PAGE : r.pick([1, 5 * PAGE]),
            prot: r.pick([PROT_READ, PROT_READ | PROT_WRITE]),
            flags: r.chance(0.95) ? MAP_SHARED : MAP_PRIVATE,
            file: f,
            offset: Number(idx << REGION_SHIFT) + page * PAGE,
          });
        },
      },
      {
        name: 'munmap',
        run: (r) => {
          const maps = this.mm.vmaList.filter((v) => v.file !== undefined);
          if (maps.length === 0) return;
          const v = r.pick(maps);
          const at = v.start + r.below((v.end - v.start) / PAGE) * PAGE;
          this.mm.munmap(at, r.chance(0.5) ? v.end - at : PAGE);
        },
      },
      {
        name: 'fault (touch a mapping)',
        weight: 4,
        run: (r) => {
          const maps = this.mm.vmaList.filter((v) => v.file !== undefined);
          if (maps.length === 0) return;
          const v = r.pick(maps);
          const at = v.start + r.below(v.end - v.start);
          if (r.chance(0.5)) this.mm.hvaToPfn(at, r.chance(0.4));
          else {
            // Within one page: a copy over two pages may fault in the first and fail on the
            // second, which Linux does too (a short copy), so it is no "change on failure".
            const b = new Uint8Array(Math.min(r.int(1, 64), PAGE - (at % PAGE)));
            if (r.chance(0.5)) this.mm.copyFromUser(at, b);
            else this.mm.copyToUser(at, b.fill(7));
          }
        },
      },
      {
        name: 'MAP_DMA / UNMAP_DMA',
        weight: 2,
        run: (r) => {
          const c = this.fdArg(r, 'container');
          const iova = BigInt(r.below(512) * PAGE);
          const size = BigInt(r.pick([1, 2, 16, 64]) * PAGE);
          if (r.chance(0.6))
            ioctl(this.fds, c, VFIO_IOMMU_MAP_DMA, {
              argsz: 32,
              flags: VFIO_DMA_MAP_FLAG_READ | (r.chance(0.8) ? VFIO_DMA_MAP_FLAG_WRITE : 0),
              vaddr: BigInt(this.ram + r.below(RAM / PAGE - 64) * PAGE),
              iova,
              size,
            });
          else ioctl(this.fds, c, VFIO_IOMMU_UNMAP_DMA, { argsz: 24, flags: 0, iova, size });
        },
      },
      {
        name: 'RESET',
        weight: 0.5,
        run: (r) => {
          this.deviceFile(r)?.ioctl(VFIO_DEVICE_RESET);
        },
      },
      {
        name: 'remove / create mdev',
        weight: 0.4,
        run: (r) => {
          const live = this.liveMdevs();
          if (live.length > 0 && r.chance(0.6)) {
            this.mdevs.removeDevice(r.pick(live).uuid, { force: r.chance(0.3) });
          } else {
            this.createMdev(r.pick(UUIDS));
          }
        },
      },
    ];
  }

  /** VFIO_DEVICE_SET_IRQS with every field drawn from near the valid ones. */
  private setIrqs(r: Rng): void {
    const f = this.deviceFile(r);
    if (f === undefined) return;
    const data = r.pick([
      VFIO_IRQ_SET_DATA_NONE,
      VFIO_IRQ_SET_DATA_BOOL,
      VFIO_IRQ_SET_DATA_EVENTFD,
      VFIO_IRQ_SET_DATA_EVENTFD,
    ]);
    const action = r.pick([
      VFIO_IRQ_SET_ACTION_TRIGGER,
      VFIO_IRQ_SET_ACTION_TRIGGER,
      VFIO_IRQ_SET_ACTION_MASK,
      VFIO_IRQ_SET_ACTION_UNMASK,
    ]);
    let flags = data | action;
    if (r.chance(0.03)) flags |= r.pick([VFIO_IRQ_SET_DATA_BOOL, 1 << 6, 1 << r.below(32)]);
    const index = r.chance(0.95) ? r.pick([0, 0, 1, 1, 2, 3, 4]) : fuzzU32(r, () => 5);
    const start = r.chance(0.85) ? (r.chance(0.7) ? 0 : r.below(4)) : fuzzU32(r, () => 31);
    const count = r.chance(0.85) ? r.pick([0, 1, 1, 1, 2, 4]) : fuzzU32(r, () => 32);
    const size = data === VFIO_IRQ_SET_DATA_EVENTFD ? 4 : data === VFIO_IRQ_SET_DATA_BOOL ? 1 : 0;
    const n = Math.min(Number.isInteger(count) && count > 0 ? count : 0, 64);
    const words = Array.from({ length: n }, () =>
      data === VFIO_IRQ_SET_DATA_EVENTFD ? (r.chance(0.15) ? -1 : this.fdArg(r, 'eventfd')) : r.below(2),
    );
    f.ioctl(VFIO_DEVICE_SET_IRQS, {
      argsz: r.chance(0.95) ? 20 + n * size : fuzzU32(r, () => 20),
      flags,
      index,
      start,
      count,
      data: r.chance(0.98) ? words : words.slice(1),
    });
  }

  private mpci(m: MdevDevice): MpciDevice | undefined {
    return mpciDevice(m);
  }

  snapshot(): string {
    const lines: string[] = [
      `fds ${[...this.open].map(([fd, f]) => `${fd}:${f.kind}`).join(',')} table ${this.fds.openCount}`,
      `groups ${this.vfio.groupIds().join(',')} iommuGroups ${this.vfio.iommuGroups
        .all()
        .map((g) => g.id)
        .join(',')}`,
      `mm ${this.mm.vmaList.map((v) => `${v.start.toString(16)}-${v.end.toString(16)}:${v.flags}:${v.pgoff}`).join(' ')} resident ${this.mm.residentPages} locked ${this.mm.lockedVm}`,
      `phys allocated ${this.phys.allocatedFrames} pinned ${this.phys.pinnedFrames}`,
      `eventfds ${this.eventfds.map((e) => `${e.id}:${e.value}:${e.listenerCount}:${e.closed}`).join(' ')}`,
    ];
    for (const id of this.vfio.groupIds()) {
      const g = this.vfio.group(id)!;
      lines.push(
        `group ${id} users ${g.containerUsers} container ${g.container !== undefined} file ${g.file !== undefined} devices ${g.devices.length}`,
      );
    }
    for (const c of this.containers) {
      const it = c.container.iommu as VfioIommuType1 | undefined;
      const dmas =
        it === undefined
          ? '-'
          : [...it.dmaList]
              .map((d) => `${d.iova}+${d.size}:${[...d.pfnList.values()].map((p) => p.refCount).join('/')}`)
              .join(',');
      lines.push(
        `container refs ${c.container.refs} groups ${c.container.groups.length} released ${c.isReleased} dma ${dmas}`,
      );
    }
    for (const m of this.devices) {
      const s = st(m);
      const md = this.mpci(m);
      const v = this.vdevs.get(m)!;
      let irq = '-';
      if (md !== undefined) {
        const q = md.irqs;
        const fds: string[] = [];
        for (let i = 0; i < VFIO_PCI_NUM_IRQS; i++) fds.push(String(q.eventfd(i)?.id ?? '-'));
        for (let i = 0; i < q.vectorCount; i++)
          fds.push(String(q.eventfd(q.type === 'msix' ? 2 : 1, i)?.id ?? '-'));
        irq = `${q.type} masked ${q.intxMasked} vectors ${q.vectorCount} unmask ${unmaskFd(q)?.id ?? '-'} fds ${fds.join(',')}`;
      }
      lines.push(
        `mdev ${m.uuid} active ${m.active} open ${m.openCount} refs ${m.refcount} vdev ${v.openCount}/${v.fileRefs}/${v.removing}/${v.removed} mpci ${md?.isOpen}/${md?.revoked} irq ${irq} maps ${m.physMappings.mappings.length} regs ${fnv(s.regs)} pins ${[...s.pins].join(',')} notifier ${s.notifier !== undefined}`,
      );
    }
    return lines.join('\n');
  }

  invariants(): string[] {
    const out: string[] = [];
    let wantListeners = 0;
    for (const m of this.devices) {
      const v = this.vdevs.get(m)!;
      const files = this.deviceFiles.filter((f) => f.device === v && !f.isReleased).length;
      if (v.openCount !== files) out.push(`${m.uuid}: vfio open_count ${v.openCount}, ${files} files open`);
      if (v.fileRefs !== files) out.push(`${m.uuid}: fileRefs ${v.fileRefs}, ${files} files open`);
      if (!m.released && m.openCount !== (files > 0 ? 1 : 0))
        out.push(`${m.uuid}: mdev open ${m.openCount} with ${files} files`);
      if (v.removed !== m.released)
        out.push(`${m.uuid}: vfio removed ${v.removed}, mdev released ${m.released}`);
      const md = this.mpci(m);
      if (md !== undefined) {
        const q = md.irqs;
        if (files === 0 && (q.type !== 'none' || q.vectorCount !== 0 || unmaskFd(q) !== undefined))
          out.push(`${m.uuid}: closed with irq ${q.type}/${q.vectorCount}`);
        if (md.isOpen !== files > 0) out.push(`${m.uuid}: mpci open ${md.isOpen} with ${files} files`);
        if (
          (q.type === 'msi' || q.type === 'msix') &&
          (q.vectorCount < 1 || q.vectorCount > md.irqCount(q.type === 'msi' ? 1 : 2))
        )
          out.push(`${m.uuid}: ${q.type} with ${q.vectorCount} vectors`);
        if ((q.type === 'none' || q.type === 'intx') && q.vectorCount !== 0)
          out.push(`${m.uuid}: ${q.type} with vectors`);
        const u = unmaskFd(q);
        if (u !== undefined) {
          if (q.type !== 'intx') out.push(`${m.uuid}: unmask eventfd without INTx`);
          if (!u.closed) wantListeners++;
        }
      }
      // Each mmap of the device is tracked for revocation, and forgotten at munmap.
      const vmas = this.mm.vmaList.filter(
        (x) => x.file instanceof VfioDeviceFile && x.file.device === v,
      ).length;
      if (m.physMappings.mappings.length !== vmas)
        out.push(`${m.uuid}: ${m.physMappings.mappings.length} tracked mappings, ${vmas} vmas`);
      // The vendor listens for DMA unmaps only between its open and its release.
      if (st(m).notifier !== undefined && v.openCount === 0)
        out.push(`${m.uuid}: vendor notifier registered while closed`);
    }
    const listeners = this.eventfds.reduce((n, e) => n + e.listenerCount, 0);
    if (listeners !== wantListeners)
      out.push(`${listeners} eventfd listeners, ${wantListeners} unmask virqfds`);
    for (const id of this.vfio.groupIds()) {
      const g = this.vfio.group(id)!;
      if ((g.container !== undefined) !== g.containerUsers > 0)
        out.push(`group ${id}: container ${g.container !== undefined}, ${g.containerUsers} users`);
    }
    let pins = 0;
    for (const m of this.devices) for (const n of st(m).pins.values()) pins += n;
    let counted = 0;
    for (const c of this.containers) {
      const it = c.container.iommu as VfioIommuType1 | undefined;
      if (it === undefined) continue;
      for (const d of it.dmaList) for (const p of d.pfnList.values()) counted += p.refCount;
    }
    if (pins !== counted) out.push(`vendors hold ${pins} pins, containers count ${counted}`);
    if (this.mm.lockedVm < 0) out.push(`locked_vm ${this.mm.lockedVm}`);
    return out;
  }

  teardown(rng: Rng): void {
    // Process exit, in a random order: every descriptor closes, then the mappings go.
    for (const fd of rng.shuffle([...this.open.keys()])) {
      this.fds.close(fd);
      this.open.delete(fd);
      if (rng.chance(0.1)) {
        const v = this.mm.vmaList.find((x) => x.file !== undefined);
        if (v !== undefined) this.mm.munmap(v.start, v.end - v.start);
      }
    }
    this.mm.exitMmap();
    for (const m of rng.shuffle(this.liveMdevs())) this.mdevs.removeDevice(m.uuid);
    this.mdevs.unregisterParent('fz');
  }

  leaks(): string[] {
    const out: string[] = [];
    for (const e of this.eventfds)
      if (e.listenerCount !== 0) out.push(`eventfd ${e.id}: ${e.listenerCount} listeners`);
    if (this.phys.pinnedFrames !== 0) out.push(`${this.phys.pinnedFrames} frames pinned`);
    if (this.mm.lockedVm !== 0) out.push(`locked_vm ${this.mm.lockedVm}`);
    if (this.phys.allocatedFrames !== 0) out.push(`${this.phys.allocatedFrames} frames allocated`);
    if (this.vfio.groupIds().length !== 0) out.push(`groups ${this.vfio.groupIds().join(',')} left`);
    if (this.vfio.iommuGroups.all().length !== 0)
      out.push(`${this.vfio.iommuGroups.all().length} IOMMU groups left`);
    for (const c of this.containers) {
      if (!c.isReleased || c.container.refs !== 0) out.push(`container refs ${c.container.refs}`);
      const it = c.container.iommu as VfioIommuType1 | undefined;
      if (it !== undefined && it.dmaList.size !== 0) out.push(`${it.dmaList.size} DMA mappings left`);
    }
    for (const m of this.devices) {
      const v = this.vdevs.get(m)!;
      if (!m.released) out.push(`mdev ${m.uuid} not released (refs ${m.refcount})`);
      if (!v.removed || v.openCount !== 0 || v.fileRefs !== 0) out.push(`vfio device ${m.uuid} not removed`);
      if (m.physMappings.mappings.length !== 0)
        out.push(`${m.uuid}: ${m.physMappings.mappings.length} mappings tracked`);
      if (st(m).notifier !== undefined || st(m).pins.size !== 0) out.push(`${m.uuid}: vendor DMA state left`);
    }
    return out;
  }
}

export const vfioMpciFuzz: FuzzTargetFactory = {
  name: 'vfio-mpci',
  create: (rng) => new VfioMpciTarget(rng),
};
