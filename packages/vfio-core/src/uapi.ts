/**
 * The VFIO user ABI (include/uapi/linux/vfio.h): API version, extension ids,
 * ioctl request numbers, flag bits, region/IRQ indexes and struct shapes.
 * Values are the kernel's; struct interfaces mirror the C structs field for
 * field (u64 -> bigint, u32/u16 -> number).
 */

// ---------------------------------------------------------------------------
// ioctl request encoding (include/uapi/asm-generic/ioctl.h). Every VFIO ioctl
// is _IO(): direction NONE and size 0, because the structs carry `argsz`.

const IOC_NRSHIFT = 0;
const IOC_TYPESHIFT = 8;
const IOC_SIZESHIFT = 16;
const IOC_DIRSHIFT = 30;
export const IOC_NONE = 0;

/** _IOC(dir, type, nr, size). */
export function _IOC(dir: number, type: number, nr: number, size: number): number {
  return (
    ((dir << IOC_DIRSHIFT) | (type << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT) | (size << IOC_SIZESHIFT)) >>> 0
  );
}

/** _IO(type, nr): an ioctl with no size-encoded argument. */
export function _IO(type: number, nr: number): number {
  return _IOC(IOC_NONE, type, nr, 0);
}

export const VFIO_API_VERSION = 0;

// Extensions (VFIO_CHECK_EXTENSION arguments; IOMMU types for VFIO_SET_IOMMU).
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_SPAPR_TCE_IOMMU = 2;
export const VFIO_TYPE1v2_IOMMU = 3;
/** The IOMMU enforces DMA cache coherence (e.g. PCIe No-Snoop stripping). */
export const VFIO_DMA_CC_IOMMU = 4;
export const VFIO_EEH = 5;
export const VFIO_TYPE1_NESTING_IOMMU = 6;
export const VFIO_SPAPR_TCE_v2_IOMMU = 7;
export const VFIO_NOIOMMU_IOMMU = 8;
/** VFIO_DMA_UNMAP_FLAG_ALL is supported. */
export const VFIO_UNMAP_ALL = 9;
/** VFIO_DMA_MAP_FLAG_VADDR / VFIO_DMA_UNMAP_FLAG_VADDR are supported. */
export const VFIO_UPDATE_VADDR = 10;

export const VFIO_TYPE = ';'.charCodeAt(0); // 0x3b
export const VFIO_BASE = 100;

/** A VFIO ioctl number: _IO(VFIO_TYPE, VFIO_BASE + n). */
const vfioIo = (n: number): number => _IO(VFIO_TYPE, VFIO_BASE + n);

// ---------------------------------------------------------------------------
// Capability chains (struct vfio_info_cap_header): `next` is an offset from
// the start of the info struct, 0 ends the chain.

/** struct vfio_info_cap_header: capability id, version and the offset of the next one. */
export interface VfioInfoCapHeader {
  id: number; // u16
  version: number; // u16
  next: number; // u32
}
export const VFIO_INFO_CAP_HEADER_SIZE = 8;

// ---------------------------------------------------------------------------
// Container ioctls (/dev/vfio/vfio).

export const VFIO_GET_API_VERSION = vfioIo(0);
export const VFIO_CHECK_EXTENSION = vfioIo(1);
export const VFIO_SET_IOMMU = vfioIo(2);

// ---------------------------------------------------------------------------
// Group ioctls (/dev/vfio/$GROUP).

/** struct vfio_group_status */
export interface VfioGroupStatus {
  argsz: number;
  flags: number;
}
export const VFIO_GROUP_STATUS_SIZE = 8;
export const VFIO_GROUP_FLAGS_VIABLE = 1 << 0;
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1;

export const VFIO_GROUP_GET_STATUS = vfioIo(3);
/** Argument: the container file descriptor (an int). */
export const VFIO_GROUP_SET_CONTAINER = vfioIo(4);
export const VFIO_GROUP_UNSET_CONTAINER = vfioIo(5);
/** Argument: the device name (a string); returns a new device fd. */
export const VFIO_GROUP_GET_DEVICE_FD = vfioIo(6);

// ---------------------------------------------------------------------------
// Device ioctls.

/** struct vfio_device_info */
export interface VfioDeviceInfo {
  argsz: number;
  flags: number;
  num_regions: number;
  num_irqs: number;
  cap_offset: number;
  pad: number;
}
/** sizeof(struct vfio_device_info) with cap_offset/pad; 16 before caps existed. */
export const VFIO_DEVICE_INFO_SIZE = 24;
export const VFIO_DEVICE_FLAGS_RESET = 1 << 0;
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1;
export const VFIO_DEVICE_FLAGS_PLATFORM = 1 << 2;
export const VFIO_DEVICE_FLAGS_AMBA = 1 << 3;
export const VFIO_DEVICE_FLAGS_CCW = 1 << 4;
export const VFIO_DEVICE_FLAGS_AP = 1 << 5;
export const VFIO_DEVICE_FLAGS_FSL_MC = 1 << 6;
export const VFIO_DEVICE_FLAGS_CAPS = 1 << 7;
export const VFIO_DEVICE_FLAGS_CDX = 1 << 8;
export const VFIO_DEVICE_GET_INFO = vfioIo(7);

// `device_api` strings of mdev types.
export const VFIO_DEVICE_API_PCI_STRING = 'vfio-pci';
export const VFIO_DEVICE_API_PLATFORM_STRING = 'vfio-platform';
export const VFIO_DEVICE_API_AMBA_STRING = 'vfio-amba';
export const VFIO_DEVICE_API_CCW_STRING = 'vfio-ccw';
export const VFIO_DEVICE_API_AP_STRING = 'vfio-ap';

/** struct vfio_region_info */
export interface VfioRegionInfo {
  argsz: number;
  flags: number;
  index: number;
  cap_offset: number;
  size: bigint;
  offset: bigint;
}
export const VFIO_REGION_INFO_SIZE = 32;
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
export const VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;
export const VFIO_DEVICE_GET_REGION_INFO = vfioIo(8);

/** Region capability: sparse mmap areas (struct vfio_region_info_cap_sparse_mmap). */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP = 1;
/** One mmap-able area of a region (struct vfio_region_sparse_mmap_area). */
export interface VfioRegionSparseMmapArea {
  offset: bigint;
  size: bigint;
}
/** struct vfio_region_info_cap_sparse_mmap: the areas of a region that may be mmap'ed. */
export interface VfioRegionInfoCapSparseMmap {
  header: VfioInfoCapHeader;
  nr_areas: number;
  reserved: number;
  areas: VfioRegionSparseMmapArea[];
}
/** Header (8) + nr_areas (4) + reserved (4); each area is 16 bytes. */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP_SIZE = 16;
export const VFIO_REGION_SPARSE_MMAP_AREA_SIZE = 16;

/** Region capability: device-specific region type (struct vfio_region_info_cap_type). */
export const VFIO_REGION_INFO_CAP_TYPE = 2;
/** struct vfio_region_info_cap_type: a device-specific region's type and subtype. */
export interface VfioRegionInfoCapType {
  header: VfioInfoCapHeader;
  type: number;
  subtype: number;
}
export const VFIO_REGION_INFO_CAP_TYPE_SIZE = 16;
export const VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;
export const VFIO_REGION_INFO_CAP_NVLINK2_SSATGT = 4;
export const VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD = 5;

export const VFIO_REGION_TYPE_PCI_VENDOR_TYPE = 0x80000000; // 1 << 31, as unsigned
export const VFIO_REGION_TYPE_PCI_VENDOR_MASK = 0xffff;
export const VFIO_REGION_TYPE_GFX = 1;
export const VFIO_REGION_TYPE_CCW = 2;
export const VFIO_REGION_TYPE_MIGRATION_DEPRECATED = 3;
export const VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION = 1;
export const VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG = 2;
export const VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG = 3;
export const VFIO_REGION_SUBTYPE_GFX_EDID = 1;

/** struct vfio_irq_info */
export interface VfioIrqInfo {
  argsz: number;
  flags: number;
  index: number;
  count: number;
}
export const VFIO_IRQ_INFO_SIZE = 16;
export const VFIO_IRQ_INFO_EVENTFD = 1 << 0;
export const VFIO_IRQ_INFO_MASKABLE = 1 << 1;
export const VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
export const VFIO_IRQ_INFO_NORESIZE = 1 << 3;
export const VFIO_DEVICE_GET_IRQ_INFO = vfioIo(9);

/**
 * struct vfio_irq_set. `data` follows the header: nothing for DATA_NONE,
 * `count` bytes (u8 bools) for DATA_BOOL, `count` s32 fds for DATA_EVENTFD.
 */
export interface VfioIrqSet {
  argsz: number;
  flags: number;
  index: number;
  start: number;
  count: number;
  data?: Uint8Array | Int32Array | readonly number[];
}
export const VFIO_IRQ_SET_SIZE = 20;
export const VFIO_IRQ_SET_DATA_NONE = 1 << 0;
export const VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
export const VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
export const VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
export const VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
export const VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
export const VFIO_IRQ_SET_DATA_TYPE_MASK =
  VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD;
export const VFIO_IRQ_SET_ACTION_TYPE_MASK =
  VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER;
export const VFIO_DEVICE_SET_IRQS = vfioIo(10);

export const VFIO_DEVICE_RESET = vfioIo(11);

// PCI region indexes (vfio-pci's fixed layout).
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_BAR1_REGION_INDEX = 1;
export const VFIO_PCI_BAR2_REGION_INDEX = 2;
export const VFIO_PCI_BAR3_REGION_INDEX = 3;
export const VFIO_PCI_BAR4_REGION_INDEX = 4;
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
export const VFIO_PCI_ROM_REGION_INDEX = 6;
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
/** Legacy VGA ranges 0xa0000-0xbffff, 0x3b0-0x3bb, 0x3c0-0x3df. */
export const VFIO_PCI_VGA_REGION_INDEX = 8;
export const VFIO_PCI_NUM_REGIONS = 9;

// PCI IRQ indexes.
export const VFIO_PCI_INTX_IRQ_INDEX = 0;
export const VFIO_PCI_MSI_IRQ_INDEX = 1;
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;
export const VFIO_PCI_ERR_IRQ_INDEX = 3;
export const VFIO_PCI_REQ_IRQ_INDEX = 4;
export const VFIO_PCI_NUM_IRQS = 5;

export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = vfioIo(12);
export const VFIO_DEVICE_PCI_HOT_RESET = vfioIo(13);

/** struct vfio_device_gfx_plane_info (`region_index` and `dmabuf_id` share a union). */
export interface VfioDeviceGfxPlaneInfo {
  argsz: number;
  flags: number;
  drm_plane_type: number;
  drm_format: number;
  drm_format_mod: bigint;
  width: number;
  height: number;
  stride: number;
  size: number;
  x_pos: number;
  y_pos: number;
  x_hot: number;
  y_hot: number;
  /** Union with `dmabuf_id`: the region holding the plane for TYPE_REGION. */
  region_index: number;
  dmabuf_id?: number;
  reserved: number;
}
export const VFIO_DEVICE_GFX_PLANE_INFO_SIZE = 64;
export const VFIO_GFX_PLANE_TYPE_PROBE = 1 << 0;
export const VFIO_GFX_PLANE_TYPE_DMABUF = 1 << 1;
export const VFIO_GFX_PLANE_TYPE_REGION = 1 << 2;
export const VFIO_DEVICE_QUERY_GFX_PLANE = vfioIo(14);
export const VFIO_DEVICE_GET_GFX_DMABUF = vfioIo(15);
export const VFIO_DEVICE_IOEVENTFD = vfioIo(16);
export const VFIO_DEVICE_FEATURE = vfioIo(17);

// DRM plane types used in drm_plane_type (include/uapi/drm/drm_mode.h).
export const DRM_PLANE_TYPE_OVERLAY = 0;
export const DRM_PLANE_TYPE_PRIMARY = 1;
export const DRM_PLANE_TYPE_CURSOR = 2;

// ---------------------------------------------------------------------------
// Region offsets within a device fd: vfio-pci (and mdev drivers after it)
// place region `index` at `index << 40` (VFIO_PCI_OFFSET_SHIFT).

export const VFIO_PCI_OFFSET_SHIFT = 40n;
export const VFIO_PCI_OFFSET_MASK = (1n << VFIO_PCI_OFFSET_SHIFT) - 1n;

/** VFIO_PCI_INDEX_TO_OFFSET(index). */
export function VFIO_PCI_INDEX_TO_OFFSET(index: number): bigint {
  return BigInt(index) << VFIO_PCI_OFFSET_SHIFT;
}

/** VFIO_PCI_OFFSET_TO_INDEX(off). */
export function VFIO_PCI_OFFSET_TO_INDEX(off: bigint): number {
  return Number(off >> VFIO_PCI_OFFSET_SHIFT);
}

// ---------------------------------------------------------------------------
// Type1 IOMMU ioctls (container fd after VFIO_SET_IOMMU).

/** struct vfio_iommu_type1_info */
export interface VfioIommuType1Info {
  argsz: number;
  flags: number;
  iova_pgsizes: bigint;
  cap_offset: number;
  pad: number;
}
export const VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
export const VFIO_IOMMU_INFO_CAPS = 1 << 1;
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;
export const VFIO_IOMMU_GET_INFO = vfioIo(12);

/** struct vfio_iommu_type1_dma_map */
export interface VfioIommuType1DmaMap {
  argsz: number;
  flags: number;
  vaddr: bigint;
  iova: bigint;
  size: bigint;
}
export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
export const VFIO_DMA_MAP_FLAG_VADDR = 1 << 2;
export const VFIO_IOMMU_MAP_DMA = vfioIo(13);

/** struct vfio_bitmap */
export interface VfioBitmap {
  pgsize: bigint;
  size: bigint;
  data: Uint8Array;
}

/** struct vfio_iommu_type1_dma_unmap (with the trailing vfio_bitmap for GET_DIRTY_BITMAP). */
export interface VfioIommuType1DmaUnmap {
  argsz: number;
  flags: number;
  iova: bigint;
  size: bigint;
  bitmap?: VfioBitmap;
}
export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
export const VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2;
export const VFIO_IOMMU_UNMAP_DMA = vfioIo(14);

export const VFIO_IOMMU_ENABLE = vfioIo(15);
export const VFIO_IOMMU_DISABLE = vfioIo(16);

export const VFIO_IOMMU_DIRTY_PAGES_FLAG_START = 1 << 0;
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP = 1 << 1;
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP = 1 << 2;
export const VFIO_IOMMU_DIRTY_PAGES = vfioIo(17);

// ---------------------------------------------------------------------------
// Kernel-internal limits that the external (mdev) API enforces.

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** vfio_pin_pages(): at most PAGE_SIZE / sizeof(unsigned long) pfns per call. */
export const VFIO_PIN_PAGES_MAX_ENTRIES = PAGE_SIZE / 8;

// IOMMU prot bits passed to vfio_pin_pages (include/linux/iommu.h).
export const IOMMU_READ = 1 << 0;
export const IOMMU_WRITE = 1 << 1;

// ---------------------------------------------------------------------------
// VFIO_DEVICE_FEATURE (struct vfio_device_feature) and migration v2.

/** struct vfio_device_feature: `data` is the feature's payload struct. */
export interface VfioDeviceFeature<T = unknown> {
  argsz: number;
  flags: number;
  data?: T;
}
/** offsetofend(struct vfio_device_feature, flags). */
export const VFIO_DEVICE_FEATURE_HDR_SIZE = 8;
export const VFIO_DEVICE_FEATURE_MASK = 0xffff;
export const VFIO_DEVICE_FEATURE_GET = 1 << 16;
export const VFIO_DEVICE_FEATURE_SET = 1 << 17;
export const VFIO_DEVICE_FEATURE_PROBE = 1 << 18;

export const VFIO_DEVICE_FEATURE_PCI_VF_TOKEN = 0;
export const VFIO_DEVICE_FEATURE_MIGRATION = 1;
export const VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE = 2;
export const VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY = 3;
export const VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP = 4;
export const VFIO_DEVICE_FEATURE_LOW_POWER_EXIT = 5;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_START = 6;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP = 7;
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT = 8;
export const VFIO_DEVICE_FEATURE_MIG_DATA_SIZE = 9;

/** struct vfio_device_feature_migration (GET): which optional states the driver has. */
export interface VfioDeviceFeatureMigration {
  flags: bigint;
}
export const VFIO_DEVICE_FEATURE_MIGRATION_SIZE = 8;
export const VFIO_MIGRATION_STOP_COPY = 1 << 0;
export const VFIO_MIGRATION_P2P = 1 << 1;
export const VFIO_MIGRATION_PRE_COPY = 1 << 2;

/** struct vfio_device_feature_mig_state (GET/SET): the state, and the data fd a SET may return. */
export interface VfioDeviceFeatureMigState {
  device_state: number;
  data_fd: number;
}
export const VFIO_DEVICE_FEATURE_MIG_STATE_SIZE = 8;

/** struct vfio_device_feature_mig_data_size (GET). */
export interface VfioDeviceFeatureMigDataSize {
  stop_copy_length: bigint;
}
export const VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZE = 8;

/** enum vfio_device_mig_state. */
export const VFIO_DEVICE_STATE_ERROR = 0;
export const VFIO_DEVICE_STATE_STOP = 1;
export const VFIO_DEVICE_STATE_RUNNING = 2;
export const VFIO_DEVICE_STATE_STOP_COPY = 3;
export const VFIO_DEVICE_STATE_RESUMING = 4;
export const VFIO_DEVICE_STATE_RUNNING_P2P = 5;
export const VFIO_DEVICE_STATE_PRE_COPY = 6;
export const VFIO_DEVICE_STATE_PRE_COPY_P2P = 7;

/** On a migration data fd: struct vfio_precopy_info. */
export const VFIO_MIG_GET_PRECOPY_INFO = vfioIo(21);
