import { fail, KernelError } from '@tsvirt/core-bus';
import {
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_PCI_NUM_REGIONS,
  VFIO_PCI_ROM_REGION_INDEX,
  VFIO_PCI_VGA_REGION_INDEX,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP,
  VFIO_REGION_INFO_CAP_SPARSE_MMAP_SIZE,
  VFIO_REGION_INFO_CAP_TYPE,
  VFIO_REGION_INFO_CAP_TYPE_SIZE,
  VFIO_REGION_INFO_FLAG_CAPS,
  VFIO_REGION_INFO_FLAG_MMAP,
  VFIO_REGION_INFO_FLAG_READ,
  VFIO_REGION_INFO_FLAG_WRITE,
  VFIO_REGION_INFO_SIZE,
  VFIO_REGION_SPARSE_MMAP_AREA_SIZE,
  type VfioRegionInfo,
  type VfioRegionInfoCapSparseMmap,
  type VfioRegionInfoCapType,
} from '@tsvirt/vfio-core';
import type { MpciRegionInfo } from './vendor-ops.ts';

const IOCTL = 'VFIO_DEVICE_GET_REGION_INFO';
/** offsetofend(struct vfio_region_info, offset): the whole fixed struct. */
const REGION_INFO_MINSZ = VFIO_REGION_INFO_SIZE;

/** A capability vfio_mpci puts in VFIO_DEVICE_GET_REGION_INFO's chain: sparse mmap or region type. */
export type VfioRegionInfoCap = VfioRegionInfoCapSparseMmap | VfioRegionInfoCapType;

/** struct vfio_region_info with the capability chain that follows it in the user buffer. */
export interface VfioRegionInfoWithCaps extends VfioRegionInfo {
  /** Written when `argsz` had room: the chain, each `header.next` an offset from the struct's start. */
  caps?: VfioRegionInfoCap[];
}

/** One region as cached on first open: what GET_REGION_INFO reports and read/write/mmap check. */
export interface MpciRegion {
  /** Region index. */
  index: number;
  /** Region size in bytes. */
  size: bigint;
  /** VFIO_REGION_INFO_FLAG_* bits. */
  flags: number;
  /** Mmappable areas, if only parts of the region are. */
  sparse:
    | readonly {
        /** Offset of the area within the region. */
        offset: bigint;
        /** Size of the area in bytes. */
        size: bigint;
      }[]
    | undefined;
  /** Device-specific region type and subtype, if any. */
  type:
    | {
        /** VFIO_REGION_TYPE_* value. */
        type: number;
        /** Subtype within the type. */
        subtype: number;
      }
    | undefined;
}

const align8 = (n: number) => (n + 7) & ~7;

/**
 * Turn the vendor's description of region `index` into the cached region.
 * ROM and VGA are not offered (the seed refuses them); a region of size 0
 * has no flags, as an absent BAR in vfio-pci.
 */
export function makeRegion(index: number, info: MpciRegionInfo | undefined): MpciRegion | undefined {
  if (index === VFIO_PCI_ROM_REGION_INDEX || index === VFIO_PCI_VGA_REGION_INDEX) return undefined;
  if (info === undefined) {
    if (index >= VFIO_PCI_NUM_REGIONS) return undefined;
    return { index, size: 0n, flags: 0, sparse: undefined, type: undefined };
  }
  const size = BigInt(info.size);
  if (size < 0n || size > 1n << 40n)
    throw new KernelError('EINVAL', `vendor region ${index}: size ${size} out of range`);
  let flags = 0;
  if (size > 0n) {
    flags = info.flags ?? VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    if (info.mmap) flags |= VFIO_REGION_INFO_FLAG_MMAP;
    // Config space is never mmapped.
    if (index === VFIO_PCI_CONFIG_REGION_INDEX) flags &= ~VFIO_REGION_INFO_FLAG_MMAP;
  }
  const sparse =
    info.sparse && info.sparse.length > 0 && size > 0n ? info.sparse.map((a) => ({ ...a })) : undefined;
  for (const a of sparse ?? []) {
    if (a.offset < 0n || a.size <= 0n || a.offset + a.size > size)
      throw new KernelError('EINVAL', `vendor region ${index}: sparse area outside the region`);
  }
  return { index, size, flags, sparse, type: index >= VFIO_PCI_NUM_REGIONS ? info.type : undefined };
}

/**
 * VFIO_DEVICE_GET_REGION_INFO as vfio_pci_ioctl_get_region_info(): argsz
 * below the fixed struct or an index with no region is EINVAL. Capabilities
 * (sparse mmap, region type) are chained 8-byte aligned after the struct;
 * when argsz has no room for them the needed size is written to argsz,
 * cap_offset is 0, and FLAG_CAPS says there is more.
 */
export function getRegionInfo(
  regions: readonly (MpciRegion | undefined)[],
  arg: VfioRegionInfoWithCaps,
): number {
  if (arg === null || typeof arg !== 'object') fail('EFAULT', 'no argument', IOCTL);
  if (!Number.isInteger(arg.argsz) || arg.argsz < REGION_INFO_MINSZ)
    fail('EINVAL', `argsz ${arg.argsz} < ${REGION_INFO_MINSZ}`, IOCTL);
  const index = arg.index;
  const r = Number.isInteger(index) && index >= 0 ? regions[index] : undefined;
  if (r === undefined) fail('EINVAL', `no region ${index}`, IOCTL);

  const caps: VfioRegionInfoCap[] = [];
  const sizes: number[] = [];
  if (r.sparse !== undefined && r.flags & VFIO_REGION_INFO_FLAG_MMAP) {
    caps.push({
      header: { id: VFIO_REGION_INFO_CAP_SPARSE_MMAP, version: 1, next: 0 },
      nr_areas: r.sparse.length,
      reserved: 0,
      areas: r.sparse.map((a) => ({ offset: a.offset, size: a.size })),
    });
    sizes.push(
      align8(VFIO_REGION_INFO_CAP_SPARSE_MMAP_SIZE + r.sparse.length * VFIO_REGION_SPARSE_MMAP_AREA_SIZE),
    );
  }
  if (r.type !== undefined) {
    caps.push({ header: { id: VFIO_REGION_INFO_CAP_TYPE, version: 1, next: 0 }, ...r.type });
    sizes.push(align8(VFIO_REGION_INFO_CAP_TYPE_SIZE));
  }

  arg.offset = VFIO_PCI_INDEX_TO_OFFSET(r.index);
  arg.size = r.size;
  arg.flags = r.flags;
  const capsSize = sizes.reduce((a, b) => a + b, 0);
  if (capsSize > 0) {
    arg.flags |= VFIO_REGION_INFO_FLAG_CAPS;
    if (arg.argsz < VFIO_REGION_INFO_SIZE + capsSize) {
      arg.argsz = VFIO_REGION_INFO_SIZE + capsSize;
      arg.cap_offset = 0;
    } else {
      // vfio_info_cap_shift(): offsets become relative to the start of the struct.
      let at = VFIO_REGION_INFO_SIZE;
      for (let i = 0; i < caps.length; i++) {
        at += sizes[i]!;
        caps[i]!.header.next = i + 1 < caps.length ? at : 0;
      }
      arg.cap_offset = VFIO_REGION_INFO_SIZE;
      arg.caps = caps;
    }
  }
  return 0;
}
