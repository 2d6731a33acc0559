import type { EventFd } from '@tsvirt/core-bus';
import type { MdevDevice, MdevParentOps } from '@tsvirt/mdev-core';
import type { VfioDeviceGfxPlaneInfo } from '@tsvirt/vfio-core';
import type { MpciMigrationOps } from './migration.ts';

/** A window of a region that may be mmapped (struct vfio_region_sparse_mmap_area). */
export interface MpciSparseArea {
  /** Offset of the area within the region. */
  offset: bigint;
  /** Size of the area in bytes. */
  size: bigint;
}

/**
 * What a vendor says about one region (the seed's get_region_info): its
 * size, whether it may be mmapped (and which windows, when not all of it),
 * and for a device-specific region (index >= VFIO_PCI_NUM_REGIONS) its
 * VFIO_REGION_INFO_CAP_TYPE type/subtype. A BAR that does not exist has size 0.
 */
export interface MpciRegionInfo {
  /** Region size in bytes. */
  size: bigint;
  /** Defaults to READ | WRITE for a non-empty region; MMAP is added when `mmap` is true. */
  flags?: number;
  /** The region may be mmapped. */
  mmap?: boolean;
  /** The mmappable areas, when only parts of the region are (sparse mmap capability). */
  sparse?: readonly MpciSparseArea[];
  /** Device-specific region type and subtype (VFIO_REGION_INFO_CAP_TYPE). */
  type?: {
    /** VFIO_REGION_TYPE_* value. */
    type: number;
    /** Subtype within the type. */
    subtype: number;
  };
}

/**
 * A fault in an mmapped region, as the seed's validate_map_request() gets
 * it: the region, the page-aligned offset in the region of the faulting
 * page, the user address and how much of the mapping is left from it, and
 * the mapping's page protection.
 */
export interface MpciMapRequest {
  /** Region index. */
  index: number;
  /** Page-aligned offset of the faulting page within the region. */
  offset: bigint;
  /** User address of the faulting page. */
  virtaddr: number;
  /** Bytes from `virtaddr` to the end of the mapping. */
  remaining: number;
  /** The mapping's protection (vm_page_prot): what the answer maps with unless it says otherwise. */
  prot: MpciPgprot;
}

/**
 * Page protection of a device mapping (the seed's pgprot_t, reduced to what
 * a vendor may choose): the access the page-table entries allow, and the
 * memory type. `access` is PROT_READ | PROT_WRITE | PROT_EXEC bits; `cache`
 * is 'uc' for pgprot_noncached() (what vfio-pci gives BAR mmaps), 'wc' for
 * pgprot_writecombine(), 'wb' for ordinary cached memory.
 */
export interface MpciPgprot {
  /** PROT_READ | PROT_WRITE | PROT_EXEC bits. */
  access: number;
  /** Memory type of the mapping. */
  cache: MpciPgprotCache;
}

/** The cache attribute of a device mapping: uncached, write-combining or write-back. */
export type MpciPgprotCache = 'uc' | 'wc' | 'wb';

/**
 * The vendor's answer, as the seed's validate_map_request() fills its
 * out-parameters: map `size` bytes of host frames from `pfn` at user address
 * `virtaddr` (default: the faulting page's address) with `prot` (default:
 * the mapping's own protection, vm_page_prot). The range must be non-empty,
 * page-sized, inside the mapping and cover the faulting page, or the access
 * faults; every page of it is mapped at once (remap_pfn_range()).
 */
export interface MpciMapAnswer {
  /** First host page frame to map. */
  pfn: number;
  /** Bytes to map, a multiple of the page size. */
  size: number;
  /** User address to map at; default the faulting page. */
  virtaddr?: number;
  /** Protection to map with; default the mapping's vm_page_prot. */
  prot?: MpciPgprot;
}

/**
 * A VFIO_DEVICE_SET_IRQS request as the seed hands it to the vendor's
 * set_irqs(), once vfio-mpci has checked the header
 * (vfio_set_irqs_validate_and_prepare(): argsz, index, flags, start/count
 * against the interrupts the config space gives, data size).
 */
export interface MpciSetIrqs {
  /** VFIO_IRQ_SET_DATA_* and VFIO_IRQ_SET_ACTION_* bits. */
  flags: number;
  /** IRQ index. */
  index: number;
  /** First vector. */
  start: number;
  /** Number of vectors. */
  count: number;
  /** `count` bools (0/1) for DATA_BOOL or fds for DATA_EVENTFD; empty for DATA_NONE. */
  data: readonly number[];
  /**
   * eventfd_ctx_fdget() in the descriptor table the device was opened
   * from: EBADF for a closed fd, EINVAL for one that is not an eventfd.
   */
  eventfd(fd: number): EventFd;
}

/**
 * The callbacks of a vendor driver for `vfio-pci` mdev types: the mdev-core
 * parent ops plus the PCI ones. A vendor writes only the device model;
 * vfio-mpci does the VFIO API (info ioctls, argsz, SET_IRQS and eventfds,
 * access splitting, mmap faults) around it.
 *
 * - `read`/`write` are required: every trapped access arrives here, already
 *   split into naturally aligned 4-, 2- or 1-byte pieces, at
 *   `pos = index << 40 | offset`. Config space (index 7) too: vfio-mpci
 *   reads it to find the INTx pin and the MSI/MSI-X/PCIe capabilities.
 *   Return the byte count (anything <= 0 fails the access with EFAULT).
 * - `getRegionInfo(mdev, index)` is required; it is asked once per region on
 *   the device's first open and cached until the last close.
 * - `numRegions` adds device-specific regions beyond VFIO_PCI_NUM_REGIONS.
 * - `validateMapRequest` maps faults of mmapped regions: its answer decides
 *   the range mapped and its protection; without it the parent's resource
 *   for that index is mapped (the seed's fallback).
 * - `setIrqs` takes VFIO_DEVICE_SET_IRQS over (the seed's set_irqs): the
 *   vendor then owns every interrupt eventfd, and `mpciIrqs(mdev)` has none
 *   to signal. Without it vfio-mpci runs vfio-pci's actions itself.
 * - `reset` serves VFIO_DEVICE_RESET (and adds VFIO_DEVICE_FLAGS_RESET).
 * - `queryGfxPlane` makes it a display device (VFIO_DEVICE_QUERY_GFX_PLANE):
 *   fill the plane (format, size, stride, region_index...) of a
 *   VFIO_GFX_PLANE_TYPE_REGION query.
 * - `migration` makes it migratable (migration v2, stop-copy): vfio-mpci
 *   runs the state machine and the data fd around the vendor's save/load.
 *
 * Interrupts: get the device's interrupt lines with `mpciIrqs(mdev)` and
 * call `trigger(index, vector)` or `setIntx(level)`.
 */
export interface MpciParentOps extends MdevParentOps {
  read(mdev: MdevDevice, buf: Uint8Array, pos: bigint): number;
  write(mdev: MdevDevice, buf: Uint8Array, pos: bigint): number;
  /** Describe region `index`; undefined if the device has none there. */
  getRegionInfo(mdev: MdevDevice, index: number): MpciRegionInfo | undefined;
  /** Total number of regions, if beyond VFIO_PCI_NUM_REGIONS. */
  numRegions?(mdev: MdevDevice): number;
  /** Decide what a fault in an mmapped region maps. */
  validateMapRequest?(mdev: MdevDevice, req: MpciMapRequest): MpciMapAnswer;
  /** Take VFIO_DEVICE_SET_IRQS over. */
  setIrqs?(mdev: MdevDevice, req: MpciSetIrqs): void;
  /** Reset the device (VFIO_DEVICE_RESET). */
  reset?(mdev: MdevDevice): void;
  /** Fill the display plane of a VFIO_DEVICE_QUERY_GFX_PLANE query. */
  queryGfxPlane?(mdev: MdevDevice, plane: VfioDeviceGfxPlaneInfo): void;
  /** Save/load hooks that make the device migratable. */
  readonly migration?: MpciMigrationOps;
}

/** Does a parent give what vfio-mpci needs? */
export function isMpciParentOps(ops: MdevParentOps): ops is MpciParentOps {
  const o = ops as Partial<MpciParentOps>;
  return (
    typeof o.read === 'function' && typeof o.write === 'function' && typeof o.getRegionInfo === 'function'
  );
}
