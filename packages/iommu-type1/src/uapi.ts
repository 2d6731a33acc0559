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
/** Smallest argsz VFIO_IOMMU_GET_INFO accepts: offsetofend(iova_pgsizes). */
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
  /** First usable IOVA. */
  start: bigint;
  /** Last usable IOVA (inclusive). */
  end: bigint;
}

/** struct vfio_iommu_type1_info_cap_iova_range. */
export interface VfioIommuType1InfoCapIovaRange {
  /** Capability header (id VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE). */
  header: VfioInfoCapHeader;
  /** Number of ranges. */
  nr_iovas: number;
  /** Reserved, zero. */
  reserved: number;
  /** The usable IOVA ranges. */
  iova_ranges: VfioIovaRange[];
}
/** Header (8) + nr_iovas (4) + reserved (4); 16 per range. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_SIZE = 16;

/** struct vfio_iommu_type1_info_cap_migration. */
export interface VfioIommuType1InfoCapMigration {
  /** Capability header (id VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION). */
  header: VfioInfoCapHeader;
  /** Reserved flags, zero. */
  flags: number;
  /** Page sizes dirty tracking supports. */
  pgsize_bitmap: bigint;
  /** Largest dirty bitmap size in bytes one GET_BITMAP may request. */
  max_dirty_bitmap_size: bigint;
}
/** Header (8) + flags (4) + padding (4) + two u64. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION_SIZE = 32;

/** struct vfio_iommu_type1_info_dma_avail. */
export interface VfioIommuType1InfoDmaAvail {
  /** Capability header (id VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL). */
  header: VfioInfoCapHeader;
  /** DMA mappings still allowed (dma_entry_limit minus mappings made). */
  avail: number;
}
/** sizeof(struct vfio_iommu_type1_info_dma_avail). */
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
  /** Size of the argument buffer as the caller filled it. */
  argsz: number;
  /** VFIO_IOMMU_INFO_* bits. */
  flags: number;
  /** Bitmap of supported IOMMU page sizes. */
  iova_pgsizes: bigint;
  /** Offset of the first capability, or 0. */
  cap_offset: number;
  /** Padding. */
  pad: number;
  /** The capability chain, when it fits in argsz. */
  caps?: VfioIommuType1InfoCap[];
}

/** struct vfio_iommu_type1_dirty_bitmap_get. */
export interface VfioIommuType1DirtyBitmapGet {
  /** IOVA of the range to report. */
  iova: bigint;
  /** Size of the range in bytes. */
  size: bigint;
  /** The user bitmap to fill. */
  bitmap: VfioBitmap;
}

/** struct vfio_iommu_type1_dirty_bitmap; `data` holds the GET_BITMAP range. */
export interface VfioIommuType1DirtyBitmap {
  /** Size of the argument buffer including data. */
  argsz: number;
  /** One VFIO_IOMMU_DIRTY_PAGES_FLAG_* bit. */
  flags: number;
  /** The range and bitmap for GET_BITMAP. */
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
