/**
 * The type1 IOMMU's user ABI (include/uapi/linux/vfio.h). The ioctl numbers,
 * flag bits and the struct shapes shared with vfio-core live in
 * `@tsvirt/vfio-core`'s uapi and are re-exported here; this file adds the
 * capability structs, the dirty-page structs and the sizes type1 checks
 * `argsz` against.
 */
import type { VfioBitmap, VfioInfoCapHeader } from '@tsvirt/vfio-core';

export {
  IOMMU_READ,
  IOMMU_WRITE,
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_CC_IOMMU,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_VADDR,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_DMA_UNMAP_FLAG_VADDR,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_INFO_CAPS,
  VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_PIN_PAGES_MAX_ENTRIES,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1_NESTING_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_UNMAP_ALL,
  VFIO_UPDATE_VADDR,
  type VfioBitmap,
  type VfioIommuType1DmaMap,
  type VfioIommuType1DmaUnmap,
  type VfioIommuType1Info,
} from '@tsvirt/vfio-core';

/** sizeof(struct vfio_iommu_type1_info) with cap_offset/pad; 16 is offsetofend(iova_pgsizes). */
export const VFIO_IOMMU_TYPE1_INFO_SIZE = 24;
export const VFIO_IOMMU_TYPE1_INFO_MINSZ = 16;
/** offsetofend(struct vfio_iommu_type1_dma_map, size). */
export const VFIO_IOMMU_TYPE1_DMA_MAP_SIZE = 32;
/** offsetofend(struct vfio_iommu_type1_dma_unmap, size). */
export const VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZE = 24;
/** sizeof(struct vfio_bitmap): pgsize, size, data pointer. */
export const VFIO_BITMAP_SIZE = 24;
/** offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags). */
export const VFIO_IOMMU_TYPE1_DIRTY_BITMAP_SIZE = 8;
/** sizeof(struct vfio_iommu_type1_dirty_bitmap_get): iova, size, vfio_bitmap. */
export const VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZE = 40;

/** struct vfio_iova_range: an inclusive [start, end] of usable IOVA. */
export interface VfioIovaRange {
  start: bigint;
  end: bigint;
}

/** struct vfio_iommu_type1_info_cap_iova_range. */
export interface VfioIommuType1InfoCapIovaRange {
  header: VfioInfoCapHeader;
  nr_iovas: number;
  reserved: number;
  iova_ranges: VfioIovaRange[];
}
/** Header (8) + nr_iovas (4) + reserved (4); 16 per range. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_SIZE = 16;

/** struct vfio_iommu_type1_info_cap_migration. */
export interface VfioIommuType1InfoCapMigration {
  header: VfioInfoCapHeader;
  flags: number;
  pgsize_bitmap: bigint;
  max_dirty_bitmap_size: bigint;
}
/** Header (8) + flags (4) + padding (4) + two u64. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION_SIZE = 32;

/** struct vfio_iommu_type1_info_dma_avail. */
export interface VfioIommuType1InfoDmaAvail {
  header: VfioInfoCapHeader;
  avail: number;
}
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL_SIZE = 12;

/** A capability in VFIO_IOMMU_GET_INFO's chain: IOVA ranges, migration, or DMA mappings available. */
export type VfioIommuType1InfoCap =
  | VfioIommuType1InfoCapIovaRange
  | VfioIommuType1InfoCapMigration
  | VfioIommuType1InfoDmaAvail;

/**
 * struct vfio_iommu_type1_info as this model fills it: the kernel copies the
 * capability chain after the struct when `argsz` is big enough; here the
 * chain comes back parsed in `caps`, each header's `next` the byte offset
 * it would have in the user buffer.
 */
export interface VfioIommuType1InfoArg {
  argsz: number;
  flags: number;
  iova_pgsizes: bigint;
  cap_offset: number;
  pad: number;
  caps?: VfioIommuType1InfoCap[];
}

/** struct vfio_iommu_type1_dirty_bitmap_get. */
export interface VfioIommuType1DirtyBitmapGet {
  iova: bigint;
  size: bigint;
  bitmap: VfioBitmap;
}

/** struct vfio_iommu_type1_dirty_bitmap; `data` holds the GET_BITMAP range. */
export interface VfioIommuType1DirtyBitmap {
  argsz: number;
  flags: number;
  data?: VfioIommuType1DirtyBitmapGet;
}

/** DIRTY_BITMAP_BYTES(n): bytes of a bitmap of n bits, rounded up to whole u64s. */
export function DIRTY_BITMAP_BYTES(n: number): number {
  return Math.ceil(n / 64) * 8;
}
/** DIRTY_BITMAP_PAGES_MAX: INT_MAX pages per request. */
export const DIRTY_BITMAP_PAGES_MAX = 0x7fffffff;
/** DIRTY_BITMAP_SIZE_MAX: 256 MiB of bitmap. */
export const DIRTY_BITMAP_SIZE_MAX = DIRTY_BITMAP_BYTES(DIRTY_BITMAP_PAGES_MAX);

/** Default of the dma_entry_limit module parameter. */
export const DEFAULT_DMA_ENTRY_LIMIT = 65535;
