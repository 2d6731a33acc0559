import type { MdevDevice, MdevParentOps } from '@tsvirt/mdev-core';
import type { VfioDeviceGfxPlaneInfo } from '@tsvirt/vfio-core';

/** A window of a region that may be mmapped (struct vfio_region_sparse_mmap_area). */
export interface MpciSparseArea {
  offset: bigint;
  size: bigint;
}

/**
 * What a vendor says about one region (the seed's get_region_info): its
 * size, whether it may be mmapped (and which windows, when not all of it),
 * and for a device-specific region (index >= VFIO_PCI_NUM_REGIONS) its
 * VFIO_REGION_INFO_CAP_TYPE type/subtype. A BAR that does not exist has size 0.
 */
export interface MpciRegionInfo {
  size: bigint;
  /** Defaults to READ | WRITE for a non-empty region; MMAP is added when `mmap` is true. */
  flags?: number;
  mmap?: boolean;
  sparse?: readonly MpciSparseArea[];
  type?: { type: number; subtype: number };
}

/**
 * A fault in an mmapped region, as the seed's validate_map_request() gets
 * it: the region, the page-aligned offset in the region of the faulting
 * page, and the user address and how much of the mapping is left from it.
 */
export interface MpciMapRequest {
  index: number;
  offset: bigint;
  virtaddr: number;
  /** Bytes from `virtaddr` to the end of the mapping. */
  remaining: number;
}

/**
 * The vendor's answer: host pfn of the page at `virtaddr` and how many bytes
 * from there are contiguous host memory it allows mapping (must be > 0, page
 * multiple, and end inside the mapping, or the access faults).
 */
export interface MpciMapAnswer {
  pfn: number;
  size: number;
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
 * - `validateMapRequest` maps faults of mmapped regions; without it the
 *   parent's resource for that index is mapped (the seed's fallback).
 * - `reset` serves VFIO_DEVICE_RESET (and adds VFIO_DEVICE_FLAGS_RESET).
 * - `queryGfxPlane` makes it a display device (VFIO_DEVICE_QUERY_GFX_PLANE):
 *   fill the plane (format, size, stride, region_index...) of a
 *   VFIO_GFX_PLANE_TYPE_REGION query.
 *
 * Interrupts: get the device's interrupt lines with `mpciIrqs(mdev)` and
 * call `trigger(index, vector)` or `setIntx(level)`.
 */
export interface MpciParentOps extends MdevParentOps {
  read(mdev: MdevDevice, buf: Uint8Array, pos: bigint): number;
  write(mdev: MdevDevice, buf: Uint8Array, pos: bigint): number;
  getRegionInfo(mdev: MdevDevice, index: number): MpciRegionInfo | undefined;
  numRegions?(mdev: MdevDevice): number;
  validateMapRequest?(mdev: MdevDevice, req: MpciMapRequest): MpciMapAnswer;
  reset?(mdev: MdevDevice): void;
  queryGfxPlane?(mdev: MdevDevice, plane: VfioDeviceGfxPlaneInfo): void;
}

/** Does a parent give what vfio-mpci needs? */
export function isMpciParentOps(ops: MdevParentOps): ops is MpciParentOps {
  const o = ops as Partial<MpciParentOps>;
  return (
    typeof o.read === 'function' && typeof o.write === 'function' && typeof o.getRegionInfo === 'function'
  );
}
