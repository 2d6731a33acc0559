import { DriverCore, type EventFd, FdTable, fail } from '@tsvirt/core-bus';
import { MdevCore, type MdevDevice } from '@tsvirt/mdev-core';
import {
  DRM_PLANE_TYPE_PRIMARY,
  type IommuGroupRef,
  ioctl,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_NUM_REGIONS,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_SUBTYPE_GFX_EDID,
  VFIO_REGION_TYPE_GFX,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioCore,
  type VfioDeviceFile,
  type VfioIommu,
  type VfioIommuDriver,
  type VfioVma,
} from '@tsvirt/vfio-core';
import {
  type MpciMapAnswer,
  type MpciMapRequest,
  type MpciMigrationOps,
  type MpciParentOps,
  type MpciPgprot,
  type MpciSetIrqs,
  mpciIrqs,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_PM,
  PCI_CAPABILITY_LIST,
  PCI_COMMAND,
  PCI_INTERRUPT_PIN,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  VfioMpciDriver,
} from '../src/index.ts';

export const UUID = 'c0ffee00-0000-4000-8000-000000000001';
export const UUID2 = 'c0ffee00-0000-4000-8000-000000000002';
export const PAGE = 4096;
export const BAR0_SIZE = 0x1000n;
export const BAR2_SIZE = 0x10000n;
/** Host frames backing the first device's BAR2 ("VRAM"). */
export const VRAM_PFN = 0x100;
/** The parent's own BAR2 resource, for the mmap fallback. */
export const PARENT_BAR2 = 0x4000_0000n;

export const CFG = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX);
export const BAR0 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX);
export const BAR2 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);
/** A device-specific region (an EDID blob), index 9. */
export const EDID_INDEX = VFIO_PCI_NUM_REGIONS;

// BAR0 registers of the fake device.
export const REG_ID = 0x00;
export const REG_SCRATCH = 0x04;
/** Writing raises the interrupt: MSI vector = value - 1 when MSI is on, else INTx. */
export const REG_RAISE = 0x08;
/** Writing clears the interrupt status (drops the INTx level). */
export const REG_ACK = 0x0c;
export const ID_VALUE = 0xc0ffee01;

/** Host "physical" memory: 4 KiB frames by pfn. */
export class FakeHostMemory {
  readonly frames = new Map<number, Uint8Array>();
  frame(pfn: number): Uint8Array {
    let f = this.frames.get(pfn);
    if (f === undefined) {
      f = new Uint8Array(PAGE);
      this.frames.set(pfn, f);
    }
    return f;
  }
}

/** Per-mdev state of the fake device. */
export interface FakeState {
  config: Uint8Array;
  regs: DataView;
  vramPfn: number;
  pcie: boolean;
  resets: number;
  opens: number;
}

/**
 * A small vendor driver: config space with PM -> MSI (4 vectors) [-> PCIe]
 * capabilities and INTx pin A, a trapped register BAR0, an mmap-able BAR2
 * backed by host frames, a device-specific EDID region, a display plane.
 * Every access it sees is logged as "r4 0x...": width and file offset.
 */
export interface FakeOpts {
  /** The vfio-mpci driver to bind with (a second copy's, say); default this copy's. */
  makeDriver?: (vfio: VfioCore) => VfioMpciDriver;
  mapFallback?: boolean;
  noDisplay?: boolean;
  noReset?: boolean;
  /** Do not log accesses (benchmarks). */
  quiet?: boolean;
  /** Give the vendor a set_irqs op that records each request in `ctl.irqSets`. */
  vendorSetIrqs?: boolean;
  /** The mm can map a whole answer at once (remapPfnRange). */
  remap?: boolean;
  /** Give the vendor migration ops: the blob is "FMIG" and the scratch register; stop/start are logged. */
  migration?: boolean;
}

export function fakeVendor(host: FakeHostMemory, opts: FakeOpts = {}) {
  const log: string[] = [];
  const ctl = {
    badMapAnswer: undefined as undefined | { pfn: number; size: number },
    failRead: false,
    /** Replaces the answer of validate_map_request when set. */
    mapAnswer: undefined as undefined | ((mdev: MdevDevice, req: MpciMapRequest) => MpciMapAnswer),
    mapCalls: 0,
    /** What set_irqs received (with `vendorSetIrqs`). */
    irqSets: [] as Omit<MpciSetIrqs, 'eventfd'>[],
    /** set_irqs resolves each eventfd it gets here. */
    irqFds: [] as EventFd[],
  };
  const st = (mdev: MdevDevice) => mdev.drvdata as FakeState;
  let nextPfn = VRAM_PFN;

  const cfgRead = (s: FakeState, off: number, buf: Uint8Array) =>
    buf.set(s.config.subarray(off, off + buf.length));
  const cfgWrite = (mdev: MdevDevice, off: number, buf: Uint8Array) => {
    const s = st(mdev);
    for (let i = 0; i < buf.length; i++) {
      const o = off + i;
      if (o === PCI_COMMAND) {
        const before = s.config[o]!;
        s.config[o] = buf[i]! & 0x07;
        // Memory decode turned off: revoke direct access to BAR2.
        if (before & 0x02 && !(s.config[o]! & 0x02)) mdev.invalidateMapping(BAR2, BAR2_SIZE);
      } else if (o === PCI_COMMAND + 1) {
        s.config[o] = buf[i]! & 0x04;
      } else if (o === 0x3c || o === 0x52) {
        // Interrupt line; MSI message control low byte (enable bit only).
        s.config[o] = o === 0x52 ? (s.config[o]! & ~1) | (buf[i]! & 1) : buf[i]!;
      }
    }
  };
  const raise = (mdev: MdevDevice, v: number) => {
    const irqs = mpciIrqs(mdev)!;
    if (st(mdev).config[0x52]! & 1) irqs.trigger(VFIO_PCI_MSI_IRQ_INDEX, v - 1);
    else irqs.setIntx(true);
  };

  const ops: MpciParentOps = {
    create(mdev) {
      const pcie = mdev.type.id === 'pcie';
      const c = new Uint8Array(256);
      const dv = new DataView(c.buffer);
      dv.setUint16(0, 0x1234, true);
      dv.setUint16(2, 0x11e1, true);
      dv.setUint16(PCI_STATUS, PCI_STATUS_CAP_LIST, true);
      dv.setUint32(0x08, 0x03800001, true);
      c[PCI_CAPABILITY_LIST] = 0x40;
      c[PCI_INTERRUPT_PIN] = 1;
      c[0x40] = PCI_CAP_ID_PM;
      c[0x41] = 0x50;
      c[0x50] = PCI_CAP_ID_MSI;
      c[0x51] = pcie ? 0x70 : 0;
      dv.setUint16(0x52, 0x0084, true); // 64-bit, Multiple Message Capable = 4
      if (pcie) {
        c[0x70] = PCI_CAP_ID_EXP;
        c[0x71] = 0x90;
        c[0x90] = PCI_CAP_ID_MSIX;
        dv.setUint16(0x92, 7, true); // Table Size N-1: 8 vectors
      }
      const regs = new DataView(new ArrayBuffer(Number(BAR0_SIZE)));
      regs.setUint32(REG_ID, ID_VALUE, true);
      const vramPfn = nextPfn;
      nextPfn += Number(BAR2_SIZE) / PAGE;
      mdev.drvdata = { config: c, regs, vramPfn, pcie, resets: 0, opens: 0 } satisfies FakeState;
    },
    remove() {},
    open(mdev) {
      st(mdev).opens++;
    },
    release(mdev) {
      st(mdev).opens--;
    },
    getRegionInfo(_mdev, index) {
      if (index === VFIO_PCI_CONFIG_REGION_INDEX) return { size: 256n };
      if (index === VFIO_PCI_BAR0_REGION_INDEX) return { size: BAR0_SIZE };
      if (index === VFIO_PCI_BAR2_REGION_INDEX)
        return { size: BAR2_SIZE, mmap: true, sparse: [{ offset: 0n, size: BAR2_SIZE }] };
      if (index === EDID_INDEX)
        return {
          size: 0x100n,
          flags: VFIO_REGION_INFO_FLAG_READ,
          type: { type: VFIO_REGION_TYPE_GFX, subtype: VFIO_REGION_SUBTYPE_GFX_EDID },
        };
      return undefined;
    },
    numRegions: () => VFIO_PCI_NUM_REGIONS + 1,
    read(mdev, buf, pos) {
      if (ctl.failRead) return 0;
      if (!opts.quiet) log.push(`r${buf.length} 0x${pos.toString(16)}`);
      const s = st(mdev);
      const index = Number(pos >> 40n);
      const off = Number(pos & 0xff_ffff_ffffn);
      if (index === VFIO_PCI_CONFIG_REGION_INDEX) cfgRead(s, off, buf);
      else if (index === VFIO_PCI_BAR0_REGION_INDEX) buf.set(new Uint8Array(s.regs.buffer, off, buf.length));
      else if (index === VFIO_PCI_BAR2_REGION_INDEX) {
        const f = host.frame(s.vramPfn + Math.floor(off / PAGE));
        buf.set(f.subarray(off % PAGE, (off % PAGE) + buf.length));
      } else buf.fill(0xed);
      return buf.length;
    },
    write(mdev, buf, pos) {
      if (!opts.quiet) log.push(`w${buf.length} 0x${pos.toString(16)}`);
      const s = st(mdev);
      const index = Number(pos >> 40n);
      const off = Number(pos & 0xff_ffff_ffffn);
      if (index === VFIO_PCI_CONFIG_REGION_INDEX) cfgWrite(mdev, off, buf);
      else if (index === VFIO_PCI_BAR0_REGION_INDEX) {
        if (off === REG_RAISE) raise(mdev, buf[0]!);
        else if (off === REG_ACK) mpciIrqs(mdev)!.setIntx(false);
        else if (off >= REG_SCRATCH && off < REG_SCRATCH + 4)
          new Uint8Array(s.regs.buffer, off, buf.length).set(buf);
      } else if (index === VFIO_PCI_BAR2_REGION_INDEX) {
        host.frame(s.vramPfn + Math.floor(off / PAGE)).set(buf, off % PAGE);
      }
      return buf.length;
    },
    validateMapRequest(mdev, req) {
      ctl.mapCalls++;
      if (ctl.mapAnswer) return ctl.mapAnswer(mdev, req);
      if (ctl.badMapAnswer) return ctl.badMapAnswer;
      if (req.index !== VFIO_PCI_BAR2_REGION_INDEX) fail('EINVAL', 'only BAR2 maps');
      const page = Number(req.offset) / PAGE;
      const left = Number(BAR2_SIZE - req.offset);
      return { pfn: st(mdev).vramPfn + page, size: Math.min(left, req.remaining) };
    },
    reset(mdev) {
      const s = st(mdev);
      s.resets++;
      s.regs.setUint32(REG_SCRATCH, 0, true);
      s.config[PCI_COMMAND] = 0;
    },
    queryGfxPlane(_mdev, plane) {
      plane.drm_plane_type = DRM_PLANE_TYPE_PRIMARY;
      plane.drm_format = 0x34325258; // DRM_FORMAT_XRGB8888 ('XR24')
      plane.width = 64;
      plane.height = 32;
      plane.stride = 256;
      plane.size = 256 * 32;
      plane.region_index = VFIO_PCI_BAR2_REGION_INDEX;
    },
  };
  if (opts.vendorSetIrqs)
    ops.setIrqs = (_mdev, req) => {
      const { eventfd, ...rest } = req;
      ctl.irqSets.push({ ...rest, data: [...rest.data] });
      if (req.flags & VFIO_IRQ_SET_DATA_EVENTFD)
        for (const fd of req.data) if (fd >= 0) ctl.irqFds.push(eventfd(fd));
    };
  if (opts.migration)
    (ops as { migration?: MpciMigrationOps }).migration = {
      save(mdev) {
        log.push('mig save');
        const out = new Uint8Array(8);
        out.set([0x46, 0x4d, 0x49, 0x47]);
        out.set(new Uint8Array(st(mdev).regs.buffer, REG_SCRATCH, 4), 4);
        return out;
      },
      load(mdev, blob) {
        if (blob.length !== 8 || blob[0] !== 0x46 || blob[3] !== 0x47)
          fail('EINVAL', 'not a fake device blob');
        log.push('mig load');
        new Uint8Array(st(mdev).regs.buffer, REG_SCRATCH, 4).set(blob.subarray(4));
      },
      stop: () => log.push('mig stop'),
      start: () => log.push('mig start'),
    };
  if (opts.mapFallback) delete (ops as Partial<MpciParentOps>).validateMapRequest;
  if (opts.noDisplay) delete (ops as Partial<MpciParentOps>).queryGfxPlane;
  if (opts.noReset) delete (ops as Partial<MpciParentOps>).reset;
  return { ops, log, ctl, st };
}

class NullIommu implements VfioIommu {
  release() {}
  ioctl(): number {
    return fail('ENOTTY', 'null backend');
  }
  attachGroup(_g: IommuGroupRef) {}
  detachGroup(_g: IommuGroupRef) {}
  pinPages(): number[] {
    return fail('EINVAL', 'null backend');
  }
  unpinPages(): number {
    return 0;
  }
  dmaRw() {}
  registerNotifier() {}
  unregisterNotifier() {}
}

const nullIommuDriver: VfioIommuDriver = {
  name: 'null-type1',
  checkExtension: (ext) => (ext === VFIO_TYPE1v2_IOMMU ? 1 : 0),
  open: () => new NullIommu(),
};

/** A host-mm stand-in: VMAs of device mappings and a page table filled by their fault handler. */
export class FakeMm {
  readonly ptes = new Map<number, number>();
  /** The protection of each present page (when mapped by remapPfnRange). */
  readonly prots = new Map<number, MpciPgprot>();
  private next = 0x7000_0000;
  faults = 0;
  /** remap_pfn_range(): present only when the stack was built with `remap`. */
  remapPfnRange?: (vma: VfioVma, addr: number, pfn: number, size: number, prot: MpciPgprot) => void;

  constructor(
    readonly host: FakeHostMemory,
    remap = false,
  ) {
    if (remap)
      this.remapPfnRange = (_vma, addr, pfn, size, prot) => {
        for (let i = 0; i < size / PAGE; i++) {
          const vpn = addr / PAGE + i;
          this.ptes.set(vpn, pfn + i);
          this.prots.set(vpn, prot);
        }
      };
  }

  mmap(file: VfioDeviceFile, offset: bigint, length: number, shared = true): VfioVma & { mm: FakeMm } {
    const vma = {
      start: this.next,
      end: this.next + length,
      flags: 0x1 | 0x2 | (shared ? 0x8 : 0),
      pgoff: Number(offset / BigInt(PAGE)),
      ops: undefined as unknown,
      mm: this,
    };
    file.mmap(vma);
    this.next += length + PAGE;
    return vma;
  }

  private pfnOf(vma: VfioVma, addr: number): number {
    const vpn = Math.floor(addr / PAGE);
    const have = this.ptes.get(vpn);
    if (have !== undefined) return have;
    this.faults++;
    const pfn = (vma.ops as { fault(v: VfioVma, pgoff: number): number }).fault(
      vma,
      vma.pgoff + Math.floor((addr - vma.start) / PAGE),
    );
    this.ptes.set(vpn, pfn);
    return pfn;
  }

  /** A load through the mapping (faulting the page in if needed). */
  load(vma: VfioVma, addr: number): number {
    return this.host.frame(this.pfnOf(vma, addr))[addr % PAGE]!;
  }

  store(vma: VfioVma, addr: number, v: number): void {
    this.host.frame(this.pfnOf(vma, addr))[addr % PAGE] = v;
  }

  present(addr: number): boolean {
    return this.ptes.has(Math.floor(addr / PAGE));
  }

  zapVmaPtes(_vma: VfioVma, address: number, size: number): void {
    for (let a = address; a < address + size; a += PAGE) {
      this.ptes.delete(Math.floor(a / PAGE));
      this.prots.delete(Math.floor(a / PAGE));
    }
  }

  munmap(vma: VfioVma): void {
    this.zapVmaPtes(vma, vma.start, vma.end - vma.start);
    (vma.ops as { close?(v: VfioVma): void }).close?.(vma);
  }
}

/** The whole stack: driver core, VFIO, mdev core with vfio-core's groups, vfio-mpci, a vendor. */
export function stack(opts: FakeOpts = {}) {
  const driverCore = new DriverCore();
  const vfio = new VfioCore();
  vfio.registerIommuDriver(nullIommuDriver);
  const mdevs = new MdevCore(driverCore, { groups: vfio.mdevIommuGroups });
  const driver = opts.makeDriver?.(vfio) ?? new VfioMpciDriver(vfio);
  mdevs.registerDriver(driver);
  const host = new FakeHostMemory();
  const vendor = fakeVendor(host, opts);
  mdevs.registerParent({
    name: 'fakegpu',
    ops: vendor.ops,
    types: [
      { id: 'pci', deviceApi: 'vfio-pci' },
      { id: 'pcie', deviceApi: 'vfio-pci' },
    ],
    maxInstances: 2,
    resources: [undefined, undefined, { start: PARENT_BAR2, size: BAR2_SIZE }],
  });
  const fds = new FdTable();
  const mm = new FakeMm(host, opts.remap);
  return { driverCore, vfio, mdevs, driver, host, vendor, fds, mm };
}

export type Stack = ReturnType<typeof stack>;

/** Create an mdev, open container + group, set the IOMMU, get the device fd. */
export function openMdev(s: Stack, type = 'fakegpu-pci', uuid = UUID) {
  const mdev = s.mdevs.createDevice('fakegpu', type, uuid);
  const groupId = mdev.iommuGroup!.id;
  const cfd = s.vfio.open(s.fds, '/dev/vfio/vfio');
  const gfd = s.vfio.open(s.fds, `/dev/vfio/${groupId}`);
  ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
  ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const dfd = ioctl(s.fds, gfd, VFIO_GROUP_GET_DEVICE_FD, uuid);
  const file = s.fds.get(dfd) as VfioDeviceFile;
  return { mdev, cfd, gfd, dfd, file, state: s.vendor.st(mdev) };
}

export { VFIO_PCI_INTX_IRQ_INDEX };
