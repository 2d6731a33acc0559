import { type FdTable, fail, KernelError } from '@tsvirt/core-bus';
import type { MdevDevice } from '@tsvirt/mdev-core';
import {
  VFIO_DEVICE_FLAGS_PCI,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO,
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_QUERY_GFX_PLANE,
  VFIO_DEVICE_RESET,
  VFIO_DEVICE_SET_IRQS,
  VFIO_GFX_PLANE_TYPE_PROBE,
  VFIO_GFX_PLANE_TYPE_REGION,
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS,
  VFIO_PCI_NUM_REGIONS,
  VFIO_PCI_OFFSET_SHIFT,
  VFIO_PCI_REQ_IRQ_INDEX,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  type VfioDevice,
  type VfioDeviceGfxPlaneInfo,
  type VfioDeviceInfo,
  type VfioDeviceOps,
  type VfioIrqBypass,
  type VfioIrqInfo,
  type VfioIrqSet,
  type VfioVma,
} from '@tsvirt/vfio-core';
import { MpciIrqs } from './irqs.ts';
import { MpciMigration } from './migration.ts';
import {
  defaultRemapPfnRange,
  defaultZapVmaPtes,
  type MpciMmapHost,
  mpciMmap,
  type RemapPfnRange,
  type ZapVmaPtes,
} from './mmap.ts';
import {
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_INTERRUPT_PIN,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_QMASK,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_QSIZE,
  pciFindCapability,
} from './pci-config.ts';
import { getRegionInfo, type MpciRegion, makeRegion, type VfioRegionInfoWithCaps } from './region-info.ts';
import { vendorSetIrqs } from './vendor-irqs.ts';
import type { MpciParentOps } from './vendor-ops.ts';

/** offsetofend(struct vfio_device_info, num_irqs). */
const DEVICE_INFO_MINSZ = 16;
/** offsetofend(struct vfio_irq_info, count). */
const IRQ_INFO_MINSZ = 16;
/** offsetofend(struct vfio_device_gfx_plane_info, region_index). */
const GFX_PLANE_MINSZ = 60;
const CONFIG_BASE = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX);
/** Bytes per region in the device file (1 << VFIO_PCI_OFFSET_SHIFT). */
const REGION_SPAN = 2 ** Number(VFIO_PCI_OFFSET_SHIFT);
/** The largest offset whose region index fits in 2^53 arithmetic. */
const MAX_POS = (1n << 53n) - 1n;

function argOf<T>(arg: unknown, ioctl: string): T {
  if (arg === null || typeof arg !== 'object') fail('EFAULT', 'no argument', ioctl);
  return arg as T;
}

/**
 * One mediated PCI device as VFIO sees it (the seed's vfio_mpci.c, with
 * vfio-pci-core semantics): the `VfioDeviceOps` registered with vfio-core.
 * It owns the VFIO side (info ioctls, interrupts, access splitting, mmap)
 * and calls the vendor's `MpciParentOps` for the device model.
 */
export class MpciDevice implements VfioDeviceOps, MpciMmapHost {
  /** Driver name. */
  readonly name = 'vfio-mpci';
  /** The device's interrupt lines. */
  readonly irqs: MpciIrqs;
  /** Region info cached on first open (the seed's mpci_get_device_info), until last close. */
  private regions: (MpciRegion | undefined)[] | undefined;
  /** The descriptor table the device was opened from: SET_IRQS resolves eventfds there. */
  private fds: FdTable | undefined;
  /** The mdev was removed under an open file: every operation now fails. */
  revoked = false;
  /** The VFIO device this is registered as (set by the driver's probe). */
  vdev: VfioDevice | undefined = undefined;
  /** Migration v2 when the vendor can save and load its device (VFIO_DEVICE_FEATURE_MIGRATION). */
  readonly migration: MpciMigration | undefined;

  constructor(
    /** The mdev this VFIO device drives. */
    readonly mdev: MdevDevice,
    /** The vendor's callbacks. */
    readonly ops: MpciParentOps,
    /** How mappings are zapped on revoke or reset. */
    readonly zapVmaPtes: ZapVmaPtes = defaultZapVmaPtes,
    /** The host's IRQ bypass manager (the driver passes VfioCore.irqBypass). */
    irqBypass: () => VfioIrqBypass | undefined = () => undefined,
    /** How a fault maps the vendor's whole answer (remap_pfn_range()); default: `vma.mm.remapPfnRange`. */
    readonly remapPfnRange: RemapPfnRange = defaultRemapPfnRange,
  ) {
    this.irqs = new MpciIrqs(
      (i) => this.irqCount(i),
      () => this.isPcie(),
      irqBypass,
    );
    this.migration = ops.migration === undefined ? undefined : new MpciMigration(mdev, ops.migration);
  }

  /** Whether the device is open (regions cached). */
  get isOpen(): boolean {
    return this.regions !== undefined;
  }

  liveRegions(): readonly (MpciRegion | undefined)[] | undefined {
    return this.revoked ? undefined : this.regions;
  }

  private live(op: string): (MpciRegion | undefined)[] {
    if (this.revoked || this.regions === undefined) fail('ENODEV', `mdev ${this.mdev.uuid} is gone`, op);
    return this.regions;
  }

  // --- config space, read as the seed does through the vendor -----------------

  private cfgByte(off: number): number {
    const b = new Uint8Array(1);
    try {
      if (this.ops.read(this.mdev, b, CONFIG_BASE + BigInt(off)) <= 0) return 0;
    } catch {
      return 0;
    }
    return b[0]!;
  }

  private cfgWord(off: number): number {
    return this.cfgByte(off) | (this.cfgByte(off + 1) << 8);
  }

  private isPcie(): boolean {
    return pciFindCapability((o) => this.cfgByte(o), PCI_CAP_ID_EXP) !== 0;
  }

  /** vfio_pci_get_irq_count(): from the INTx pin and the MSI/MSI-X/PCIe capabilities. */
  irqCount(index: number): number {
    const find = (id: number) => pciFindCapability((o) => this.cfgByte(o), id);
    switch (index) {
      case VFIO_PCI_INTX_IRQ_INDEX:
        return this.cfgByte(PCI_INTERRUPT_PIN) ? 1 : 0;
      case VFIO_PCI_MSI_IRQ_INDEX: {
        const pos = find(PCI_CAP_ID_MSI);
        return pos ? 1 << ((this.cfgWord(pos + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_QMASK) >> 1) : 0;
      }
      case VFIO_PCI_MSIX_IRQ_INDEX: {
        const pos = find(PCI_CAP_ID_MSIX);
        return pos ? (this.cfgWord(pos + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1 : 0;
      }
      case VFIO_PCI_ERR_IRQ_INDEX:
        return this.isPcie() ? 1 : 0;
      case VFIO_PCI_REQ_IRQ_INDEX:
        return 1;
      default:
        return 0;
    }
  }

  // --- VfioDeviceOps ------------------------------------------------------------

  /** open_device (first open): hold the mdev, let the vendor open, cache the regions. */
  open(vdev: VfioDevice): void {
    if (this.revoked) fail('ENODEV', `mdev ${this.mdev.uuid} is gone`, 'open');
    this.mdev.markOpen();
    try {
      this.ops.open?.(this.mdev);
      try {
        const n = Math.max(VFIO_PCI_NUM_REGIONS, this.ops.numRegions?.(this.mdev) ?? VFIO_PCI_NUM_REGIONS);
        const regions: (MpciRegion | undefined)[] = [];
        for (let i = 0; i < n; i++) regions.push(makeRegion(i, this.ops.getRegionInfo(this.mdev, i)));
        this.regions = regions;
      } catch (e) {
        this.ops.release?.(this.mdev);
        throw e;
      }
    } catch (e) {
      this.mdev.markClosed();
      throw e;
    }
    this.fds = (vdev.group.file as { fds?: FdTable } | undefined)?.fds;
  }

  /** close_device (last close): interrupts off, mappings revoked, vendor released, mdev let go. */
  release(_vdev: VfioDevice): void {
    this.irqs.disableAll();
    this.mdev.physMappings.invalidateAll();
    if (!this.revoked) this.ops.release?.(this.mdev);
    // vfio_device_ops.close_device: a migration session does not outlive the last close.
    this.migration?.reset();
    this.regions = undefined;
    this.fds = undefined;
    this.mdev.markClosed();
  }

  /** vfio_device_ops.request: the device is going away; ask user space through the REQ eventfd. */
  request(_vdev: VfioDevice, _count: number): void {
    this.irqs.request();
  }

  /** The mdev was removed under an open file (forced): fail everything from now on. */
  revoke(): void {
    this.revoked = true;
    this.irqs.disableAll();
    this.mdev.physMappings.invalidateAll();
  }

  ioctl(_vdev: VfioDevice, cmd: number, arg: unknown): number {
    const regions = this.live('ioctl');
    switch (cmd) {
      case VFIO_DEVICE_GET_INFO:
        return this.getInfo(argOf<VfioDeviceInfo>(arg, 'VFIO_DEVICE_GET_INFO'), regions.length);
      case VFIO_DEVICE_GET_REGION_INFO:
        return getRegionInfo(regions, argOf<VfioRegionInfoWithCaps>(arg, 'VFIO_DEVICE_GET_REGION_INFO'));
      case VFIO_DEVICE_GET_IRQ_INFO:
        return this.getIrqInfo(argOf<VfioIrqInfo>(arg, 'VFIO_DEVICE_GET_IRQ_INFO'));
      case VFIO_DEVICE_SET_IRQS: {
        const hdr = argOf<VfioIrqSet>(arg, 'VFIO_DEVICE_SET_IRQS');
        // The seed hands SET_IRQS to the vendor's set_irqs; without one, vfio-pci's actions run here.
        if (this.ops.setIrqs !== undefined)
          return vendorSetIrqs(
            this.mdev,
            this.ops.setIrqs.bind(this.ops),
            hdr,
            (i) => this.irqCount(i),
            this.fds,
          );
        return this.irqs.setIrqs(hdr, this.fds);
      }
      case VFIO_DEVICE_RESET:
        return this.reset();
      case VFIO_DEVICE_QUERY_GFX_PLANE:
        if (this.ops.queryGfxPlane !== undefined)
          return this.queryGfxPlane(argOf<VfioDeviceGfxPlaneInfo>(arg, 'VFIO_DEVICE_QUERY_GFX_PLANE'));
        break;
    }
    if (this.ops.ioctl !== undefined) return this.ops.ioctl(this.mdev, cmd, arg);
    return fail('ENOTTY', `unknown device ioctl 0x${cmd.toString(16)}`);
  }

  /** VFIO_DEVICE_GET_INFO: argsz below num_irqs' end is EINVAL. */
  private getInfo(info: VfioDeviceInfo, numRegions: number): number {
    if (!Number.isInteger(info.argsz) || info.argsz < DEVICE_INFO_MINSZ)
      fail('EINVAL', `argsz ${info.argsz} < ${DEVICE_INFO_MINSZ}`, 'VFIO_DEVICE_GET_INFO');
    info.flags = VFIO_DEVICE_FLAGS_PCI | (this.ops.reset ? VFIO_DEVICE_FLAGS_RESET : 0);
    info.num_regions = numRegions;
    info.num_irqs = VFIO_PCI_NUM_IRQS;
    return 0;
  }

  /**
   * VFIO_DEVICE_GET_IRQ_INFO as vfio_pci_ioctl_get_irq_info(): argsz too
   * small or index out of range EINVAL; ERR exists only on PCIe (else
   * EINVAL). INTx is maskable and automasked; the others cannot be resized.
   */
  private getIrqInfo(info: VfioIrqInfo): number {
    const IOCTL = 'VFIO_DEVICE_GET_IRQ_INFO';
    if (!Number.isInteger(info.argsz) || info.argsz < IRQ_INFO_MINSZ)
      fail('EINVAL', `argsz ${info.argsz} < ${IRQ_INFO_MINSZ}`, IOCTL);
    const index = info.index;
    if (!Number.isInteger(index) || index < 0 || index >= VFIO_PCI_NUM_IRQS)
      fail('EINVAL', `no irq index ${index}`, IOCTL);
    if (index === VFIO_PCI_ERR_IRQ_INDEX && !this.isPcie())
      fail('EINVAL', 'ERR is reported only for PCI Express devices', IOCTL);
    info.flags = VFIO_IRQ_INFO_EVENTFD;
    info.count = this.irqCount(index);
    if (index === VFIO_PCI_INTX_IRQ_INDEX) info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
    else info.flags |= VFIO_IRQ_INFO_NORESIZE;
    return 0;
  }

  /** VFIO_DEVICE_RESET: EINVAL without a vendor reset; mappings are zapped first, as vfio-pci. */
  private reset(): number {
    if (this.ops.reset === undefined) fail('EINVAL', 'device cannot reset', 'VFIO_DEVICE_RESET');
    this.mdev.physMappings.invalidateAll();
    this.ops.reset(this.mdev);
    // A reset ends any migration session and the device runs again (mtty_reset's state reset).
    this.migration?.reset();
    return 0;
  }

  /**
   * VFIO_DEVICE_QUERY_GFX_PLANE (as mdpy/mbochs answer it): argsz below
   * region_index's end EINVAL; PROBE succeeds only for PROBE|REGION; any
   * other flags but REGION are EINVAL; then the vendor describes the plane.
   */
  private queryGfxPlane(plane: VfioDeviceGfxPlaneInfo): number {
    const IOCTL = 'VFIO_DEVICE_QUERY_GFX_PLANE';
    if (!Number.isInteger(plane.argsz) || plane.argsz < GFX_PLANE_MINSZ)
      fail('EINVAL', `argsz ${plane.argsz} < ${GFX_PLANE_MINSZ}`, IOCTL);
    if (plane.flags & VFIO_GFX_PLANE_TYPE_PROBE) {
      if (plane.flags === (VFIO_GFX_PLANE_TYPE_PROBE | VFIO_GFX_PLANE_TYPE_REGION)) return 0;
      fail('EINVAL', 'only region planes are offered', IOCTL);
    }
    if (plane.flags !== VFIO_GFX_PLANE_TYPE_REGION)
      fail('EINVAL', `bad plane flags 0x${plane.flags.toString(16)}`, IOCTL);
    this.ops.queryGfxPlane!(this.mdev, plane);
    return 0;
  }

  // --- read / write ---------------------------------------------------------------

  read(_vdev: VfioDevice, buf: Uint8Array, offset: bigint): number {
    return this.rw(buf, offset, false);
  }

  /** pwrite() on the device file, forwarded to the vendor's write. */
  write(_vdev: VfioDevice, buf: Uint8Array, offset: bigint): number {
    return this.rw(buf, offset, true);
  }

  /**
   * The seed's vfio_mpci_read()/write(): the region is offset >> 40; an
   * access past the region's end is EINVAL and one that runs over it is cut
   * short (as vfio_pci_bar_rw()); the rest reaches the vendor in naturally
   * aligned 4-, 2- and 1-byte pieces (vfio_pci_core_do_io_rw()). The vendor's
   * count is what moved, as in the seed: a short one ends the access there
   * (a short read or write), a failed piece fails the access.
   */
  private rw(buf: Uint8Array, pos: bigint, write: boolean): number {
    const op = write ? 'write' : 'read';
    const regions = this.live(op);
    if (typeof pos !== 'bigint' || pos < 0n || pos > MAX_POS) fail('EINVAL', `bad offset ${pos}`, op);
    // Offsets stay below 2^53 (index < 2^13), so plain numbers do the arithmetic.
    const at = Number(pos);
    const index = Math.floor(at / REGION_SPAN);
    const off = at - index * REGION_SPAN;
    const r = regions[index];
    if (
      r === undefined ||
      (r.flags & (write ? VFIO_REGION_INFO_FLAG_WRITE : VFIO_REGION_INFO_FLAG_READ)) === 0
    )
      fail('EINVAL', `region ${index} cannot be ${write ? 'written' : 'read'}`, op);
    const size = Number(r.size);
    if (off >= size) fail('EINVAL', `offset 0x${off.toString(16)} is past region ${index}`, op);
    const count = Math.min(buf.length, size - off);
    // Fast path: one naturally aligned 1/2/4-byte access goes to the vendor as is.
    if (count === buf.length && (count === 4 || count === 2 || count === 1) && (off & (count - 1)) === 0)
      return this.piece(buf, pos, write);
    let done = 0;
    let p = off;
    const base = index * REGION_SPAN;
    while (done < count) {
      const rest = count - done;
      const n = rest >= 4 && p % 4 === 0 ? 4 : rest >= 2 && p % 2 === 0 ? 2 : 1;
      const got = this.piece(buf.subarray(done, done + n), BigInt(base + p), write);
      done += got;
      if (got < n) break;
      p += n;
    }
    return done;
  }

  /** Zeroed bounce buffers for reads, by size (the seed's kzalloc(count)). */
  private readonly bounce = [
    new Uint8Array(0),
    new Uint8Array(1),
    new Uint8Array(2),
    undefined,
    new Uint8Array(4),
  ];
  /** A vendor read is in progress: a nested one (an interrupt handler reading back) gets its own buffer. */
  private bouncing = false;

  /**
   * One 1/2/4-byte piece through the vendor. A read lands in a zeroed
   * bounce buffer and only the bytes the vendor says it moved reach `buf`
   * (the seed's copy_to_user(buf, ret_data, ret)); a count above the piece
   * counts as the piece. A count that is not a positive integer, or an
   * exception that is not a KernelError, is EFAULT: a region access never
   * throws a host exception.
   */
  private piece(buf: Uint8Array, where: bigint, write: boolean): number {
    const op = write ? 'write' : 'read';
    const n = buf.length;
    const nested = this.bouncing;
    const target = write ? buf : nested ? new Uint8Array(n) : this.bounce[n]!.fill(0);
    let got: number;
    this.bouncing = true;
    try {
      got = write ? this.ops.write(this.mdev, target, where) : this.ops.read(this.mdev, target, where);
    } catch (e) {
      if (e instanceof KernelError) throw e;
      return fail('EFAULT', `vendor ${op} at 0x${where.toString(16)} threw: ${String(e)}`, op);
    } finally {
      this.bouncing = nested;
    }
    if (!Number.isInteger(got) || got <= 0)
      fail('EFAULT', `vendor ${op} at 0x${where.toString(16)} moved ${String(got)} bytes`, op);
    const moved = Math.min(got, n);
    if (!write) {
      if (moved === n) buf.set(target);
      else buf.set(target.subarray(0, moved));
    }
    return moved;
  }

  /** mmap() of a region. */
  mmap(_vdev: VfioDevice, vma: VfioVma): void {
    mpciMmap(this, vma);
  }
}
