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
/** _IOC direction for an ioctl that transfers no size-encoded argument. */
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

/** The VFIO API version VFIO_GET_API_VERSION returns. */
export const VFIO_API_VERSION = 0;

// Extensions (VFIO_CHECK_EXTENSION arguments; IOMMU types for VFIO_SET_IOMMU).
/** Extension/IOMMU type: the type1 IOMMU backend with v1 unmap semantics. */
export const VFIO_TYPE1_IOMMU = 1;
/** Extension/IOMMU type: the POWER sPAPR TCE IOMMU backend. */
export const VFIO_SPAPR_TCE_IOMMU = 2;
/** Extension/IOMMU type: type1 v2, whose unmaps may not split a mapping. */
export const VFIO_TYPE1v2_IOMMU = 3;
/** The IOMMU enforces DMA cache coherence (e.g. PCIe No-Snoop stripping). */
export const VFIO_DMA_CC_IOMMU = 4;
/** Extension: POWER EEH error recovery support. */
export const VFIO_EEH = 5;
/** Extension/IOMMU type: nested type1 (no longer offered by current kernels). */
export const VFIO_TYPE1_NESTING_IOMMU = 6;
/** Extension/IOMMU type: sPAPR TCE v2 IOMMU. */
export const VFIO_SPAPR_TCE_v2_IOMMU = 7;
/** Extension/IOMMU type: no-IOMMU mode (unsafe, no DMA isolation). */
export const VFIO_NOIOMMU_IOMMU = 8;
/** VFIO_DMA_UNMAP_FLAG_ALL is supported. */
export const VFIO_UNMAP_ALL = 9;
/** VFIO_DMA_MAP_FLAG_VADDR / VFIO_DMA_UNMAP_FLAG_VADDR are supported. */
export const VFIO_UPDATE_VADDR = 10;

/** ioctl type byte of every VFIO ioctl (';'). */
export const VFIO_TYPE = ';'.charCodeAt(0); // 0x3b
/** First ioctl number of the VFIO range. */
export const VFIO_BASE = 100;

/** A VFIO ioctl number: _IO(VFIO_TYPE, VFIO_BASE + n). */
const vfioIo = (n: number): number => _IO(VFIO_TYPE, VFIO_BASE + n);

// ---------------------------------------------------------------------------
// Capability chains (struct vfio_info_cap_header): `next` is an offset from
// the start of the info struct, 0 ends the chain.

/** struct vfio_info_cap_header: capability id, version and the offset of the next one. */
export interface VfioInfoCapHeader {
  /** Capability id. */
  id: number; // u16
  /** Capability version. */
  version: number; // u16
  /** Offset of the next capability from the start of the info struct; 0 ends the chain. */
  next: number; // u32
}
/** sizeof(struct vfio_info_cap_header). */
export const VFIO_INFO_CAP_HEADER_SIZE = 8;

// ---------------------------------------------------------------------------
// Container ioctls (/dev/vfio/vfio).

/** Container ioctl: returns VFIO_API_VERSION. */
export const VFIO_GET_API_VERSION = vfioIo(0);
/** Container ioctl: whether an extension (e.g. an IOMMU type) is supported. */
export const VFIO_CHECK_EXTENSION = vfioIo(1);
/** Container ioctl: attach the IOMMU backend of the given type. */
export const VFIO_SET_IOMMU = vfioIo(2);

// ---------------------------------------------------------------------------
// Group ioctls (/dev/vfio/$GROUP).

/** struct vfio_group_status */
export interface VfioGroupStatus {
  /** Size of the argument buffer as the caller filled it. */
  argsz: number;
  /** VFIO_GROUP_FLAGS_* bits. */
  flags: number;
}
/** sizeof(struct vfio_group_status). */
export const VFIO_GROUP_STATUS_SIZE = 8;
/** Every device in the group is bound to a VFIO driver or to no driver. */
export const VFIO_GROUP_FLAGS_VIABLE = 1 << 0;
/** The group is attached to a container. */
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 1 << 1;

/** Group ioctl: read struct vfio_group_status. */
export const VFIO_GROUP_GET_STATUS = vfioIo(3);
/** Argument: the container file descriptor (an int). */
export const VFIO_GROUP_SET_CONTAINER = vfioIo(4);
/** Group ioctl: detach the group from its container. */
export const VFIO_GROUP_UNSET_CONTAINER = vfioIo(5);
/** Argument: the device name (a string); returns a new device fd. */
export const VFIO_GROUP_GET_DEVICE_FD = vfioIo(6);

// ---------------------------------------------------------------------------
// Device ioctls.

/** struct vfio_device_info */
export interface VfioDeviceInfo {
  /** Size of the argument buffer as the caller filled it. */
  argsz: number;
  /** VFIO_DEVICE_FLAGS_* bits. */
  flags: number;
  /** Number of regions the device exposes. */
  num_regions: number;
  /** Number of IRQ indexes the device exposes. */
  num_irqs: number;
  /** Offset of the first capability, or 0. */
  cap_offset: number;
  /** Padding. */
  pad: number;
}
/** sizeof(struct vfio_device_info) with cap_offset/pad; 16 before caps existed. */
export const VFIO_DEVICE_INFO_SIZE = 24;
/** The device supports VFIO_DEVICE_RESET. */
export const VFIO_DEVICE_FLAGS_RESET = 1 << 0;
/** The device is a vfio-pci device. */
export const VFIO_DEVICE_FLAGS_PCI = 1 << 1;
/** The device is a vfio-platform device. */
export const VFIO_DEVICE_FLAGS_PLATFORM = 1 << 2;
/** The device is a vfio-amba device. */
export const VFIO_DEVICE_FLAGS_AMBA = 1 << 3;
/** The device is a vfio-ccw device. */
export const VFIO_DEVICE_FLAGS_CCW = 1 << 4;
/** The device is a vfio-ap device. */
export const VFIO_DEVICE_FLAGS_AP = 1 << 5;
/** The device is a vfio-fsl-mc device. */
export const VFIO_DEVICE_FLAGS_FSL_MC = 1 << 6;
/** The info has a capability chain at cap_offset. */
export const VFIO_DEVICE_FLAGS_CAPS = 1 << 7;
/** The device is a vfio-cdx device. */
export const VFIO_DEVICE_FLAGS_CDX = 1 << 8;
/** Device ioctl: read struct vfio_device_info. */
export const VFIO_DEVICE_GET_INFO = vfioIo(7);

// `device_api` strings of mdev types.
/** device_api of a PCI mdev type. */
export const VFIO_DEVICE_API_PCI_STRING = 'vfio-pci';
/** device_api of a platform mdev type. */
export const VFIO_DEVICE_API_PLATFORM_STRING = 'vfio-platform';
/** device_api of an AMBA mdev type. */
export const VFIO_DEVICE_API_AMBA_STRING = 'vfio-amba';
/** device_api of a CCW mdev type. */
export const VFIO_DEVICE_API_CCW_STRING = 'vfio-ccw';
/** device_api of an AP mdev type. */
export const VFIO_DEVICE_API_AP_STRING = 'vfio-ap';

/** struct vfio_region_info */
export interface VfioRegionInfo {
  /** Size of the argument buffer as the caller filled it. */
  argsz: number;
  /** VFIO_REGION_INFO_FLAG_* bits. */
  flags: number;
  /** Region index to query. */
  index: number;
  /** Offset of the first capability, or 0. */
  cap_offset: number;
  /** Region size in bytes. */
  size: bigint;
  /** Offset of the region within the device fd. */
  offset: bigint;
}
/** sizeof(struct vfio_region_info). */
export const VFIO_REGION_INFO_SIZE = 32;
/** The region may be read through the device fd. */
export const VFIO_REGION_INFO_FLAG_READ = 1 << 0;
/** The region may be written through the device fd. */
export const VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
/** The region (or its sparse areas) may be mmap'ed. */
export const VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
/** The info has a capability chain at cap_offset. */
export const VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;
/** Device ioctl: read struct vfio_region_info for one index. */
export const VFIO_DEVICE_GET_REGION_INFO = vfioIo(8);

/** Region capability: sparse mmap areas (struct vfio_region_info_cap_sparse_mmap). */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP = 1;
/** One mmap-able area of a region (struct vfio_region_sparse_mmap_area). */
export interface VfioRegionSparseMmapArea {
  /** Offset of the area within the region. */
  offset: bigint;
  /** Size of the area in bytes. */
  size: bigint;
}
/** struct vfio_region_info_cap_sparse_mmap: the areas of a region that may be mmap'ed. */
export interface VfioRegionInfoCapSparseMmap {
  /** Capability header. */
  header: VfioInfoCapHeader;
  /** Number of areas that follow. */
  nr_areas: number;
  /** Reserved, zero. */
  reserved: number;
  /** The mmap-able areas. */
  areas: VfioRegionSparseMmapArea[];
}
/** Header (8) + nr_areas (4) + reserved (4); each area is 16 bytes. */
export const VFIO_REGION_INFO_CAP_SPARSE_MMAP_SIZE = 16;
/** sizeof(struct vfio_region_sparse_mmap_area). */
export const VFIO_REGION_SPARSE_MMAP_AREA_SIZE = 16;

/** Region capability: device-specific region type (struct vfio_region_info_cap_type). */
export const VFIO_REGION_INFO_CAP_TYPE = 2;
/** struct vfio_region_info_cap_type: a device-specific region's type and subtype. */
export interface VfioRegionInfoCapType {
  /** Capability header. */
  header: VfioInfoCapHeader;
  /** Region type (VFIO_REGION_TYPE_*). */
  type: number;
  /** Region subtype within the type. */
  subtype: number;
}
/** sizeof(struct vfio_region_info_cap_type). */
export const VFIO_REGION_INFO_CAP_TYPE_SIZE = 16;
/** Region capability: the MSI-X table may be mmap'ed. */
export const VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;
/** Region capability: POWER NVLink2 SSA target (support gone from current kernels). */
export const VFIO_REGION_INFO_CAP_NVLINK2_SSATGT = 4;
/** Region capability: POWER NVLink2 link speed (support gone from current kernels). */
export const VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD = 5;

/** Region type bit: the type is a PCI vendor id (low 16 bits). */
export const VFIO_REGION_TYPE_PCI_VENDOR_TYPE = 0x80000000; // 1 << 31, as unsigned
/** Mask of the vendor id in a vendor region type. */
export const VFIO_REGION_TYPE_PCI_VENDOR_MASK = 0xffff;
/** Region type: graphics (subtypes VFIO_REGION_SUBTYPE_GFX_*). */
export const VFIO_REGION_TYPE_GFX = 1;
/** Region type: CCW (s390 channel I/O). */
export const VFIO_REGION_TYPE_CCW = 2;
/** Region type: migration v1 region (deprecated). */
export const VFIO_REGION_TYPE_MIGRATION_DEPRECATED = 3;
/** Intel IGD subtype: the OpRegion. */
export const VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION = 1;
/** Intel IGD subtype: host bridge config space. */
export const VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG = 2;
/** Intel IGD subtype: LPC bridge config space. */
export const VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG = 3;
/** Graphics subtype: the EDID region. */
export const VFIO_REGION_SUBTYPE_GFX_EDID = 1;

/** struct vfio_irq_info */
export interface VfioIrqInfo {
  /** Size of the argument buffer as the caller filled it. */
  argsz: number;
  /** VFIO_IRQ_INFO_* bits. */
  flags: number;
  /** IRQ index to query. */
  index: number;
  /** Number of vectors at this index. */
  count: number;
}
/** sizeof(struct vfio_irq_info). */
export const VFIO_IRQ_INFO_SIZE = 16;
/** The IRQ can signal an eventfd. */
export const VFIO_IRQ_INFO_EVENTFD = 1 << 0;
/** The IRQ can be masked. */
export const VFIO_IRQ_INFO_MASKABLE = 1 << 1;
/** The IRQ is masked automatically when it fires (level-triggered, e.g. INTx). */
export const VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
/** The vector count cannot be changed without disabling first. */
export const VFIO_IRQ_INFO_NORESIZE = 1 << 3;
/** Device ioctl: read struct vfio_irq_info for one index. */
export const VFIO_DEVICE_GET_IRQ_INFO = vfioIo(9);

/**
 * struct vfio_irq_set. `data` follows the header: nothing for DATA_NONE,
 * `count` bytes (u8 bools) for DATA_BOOL, `count` s32 fds for DATA_EVENTFD.
 */
export interface VfioIrqSet {
  /** Size of the argument buffer including data. */
  argsz: number;
  /** One VFIO_IRQ_SET_DATA_* and one VFIO_IRQ_SET_ACTION_* bit. */
  flags: number;
  /** IRQ index. */
  index: number;
  /** First vector. */
  start: number;
  /** Number of vectors. */
  count: number;
  /** Per-vector payload, as the DATA_* flag says. */
  data?: Uint8Array | Int32Array | readonly number[];
}
/** sizeof(struct vfio_irq_set) without data. */
export const VFIO_IRQ_SET_SIZE = 20;
/** No data: act on all vectors in the range. */
export const VFIO_IRQ_SET_DATA_NONE = 1 << 0;
/** Data is one u8 boolean per vector. */
export const VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
/** Data is one s32 eventfd per vector (-1 tears down). */
export const VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
/** Action: mask the vectors. */
export const VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
/** Action: unmask the vectors. */
export const VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
/** Action: trigger the vectors, or set their trigger eventfds. */
export const VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;
/** All VFIO_IRQ_SET_DATA_* bits. */
export const VFIO_IRQ_SET_DATA_TYPE_MASK =
  VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_DATA_EVENTFD;
/** All VFIO_IRQ_SET_ACTION_* bits. */
export const VFIO_IRQ_SET_ACTION_TYPE_MASK =
  VFIO_IRQ_SET_ACTION_MASK | VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_ACTION_TRIGGER;
/** Device ioctl: set IRQ signaling (struct vfio_irq_set). */
export const VFIO_DEVICE_SET_IRQS = vfioIo(10);

/** Device ioctl: reset the device. */
export const VFIO_DEVICE_RESET = vfioIo(11);

// PCI region indexes (vfio-pci's fixed layout).
/** vfio-pci region index of BAR 0. */
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
/** vfio-pci region index of BAR 1. */
export const VFIO_PCI_BAR1_REGION_INDEX = 1;
/** vfio-pci region index of BAR 2. */
export const VFIO_PCI_BAR2_REGION_INDEX = 2;
/** vfio-pci region index of BAR 3. */
export const VFIO_PCI_BAR3_REGION_INDEX = 3;
/** vfio-pci region index of BAR 4. */
export const VFIO_PCI_BAR4_REGION_INDEX = 4;
/** vfio-pci region index of BAR 5. */
export const VFIO_PCI_BAR5_REGION_INDEX = 5;
/** vfio-pci region index of the expansion ROM. */
export const VFIO_PCI_ROM_REGION_INDEX = 6;
/** vfio-pci region index of config space. */
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
/** Legacy VGA ranges 0xa0000-0xbffff, 0x3b0-0x3bb, 0x3c0-0x3df. */
export const VFIO_PCI_VGA_REGION_INDEX = 8;
/** Number of fixed vfio-pci region indexes. */
export const VFIO_PCI_NUM_REGIONS = 9;

// PCI IRQ indexes.
/** vfio-pci IRQ index of INTx. */
export const VFIO_PCI_INTX_IRQ_INDEX = 0;
/** vfio-pci IRQ index of MSI. */
export const VFIO_PCI_MSI_IRQ_INDEX = 1;
/** vfio-pci IRQ index of MSI-X. */
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;
/** vfio-pci IRQ index of the AER error notifier. */
export const VFIO_PCI_ERR_IRQ_INDEX = 3;
/** vfio-pci IRQ index of the device request notifier. */
export const VFIO_PCI_REQ_IRQ_INDEX = 4;
/** Number of vfio-pci IRQ indexes. */
export const VFIO_PCI_NUM_IRQS = 5;

/** Device ioctl: list the devices a PCI hot reset would affect. */
export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = vfioIo(12);
/** Device ioctl: perform a PCI hot reset. */
export const VFIO_DEVICE_PCI_HOT_RESET = vfioIo(13);

/** struct vfio_device_gfx_plane_info (`region_index` and `dmabuf_id` share a union). */
export interface VfioDeviceGfxPlaneInfo {
  /** Size of the argument buffer as the caller filled it. */
  argsz: number;
  /** VFIO_GFX_PLANE_TYPE_* bits. */
  flags: number;
  /** DRM plane type (DRM_PLANE_TYPE_*). */
  drm_plane_type: number;
  /** DRM fourcc pixel format. */
  drm_format: number;
  /** DRM format modifier. */
  drm_format_mod: bigint;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Bytes per line. */
  stride: number;
  /** Size of the plane in bytes. */
  size: number;
  /** Horizontal position of the plane (cursor). */
  x_pos: number;
  /** Vertical position of the plane (cursor). */
  y_pos: number;
  /** Cursor hotspot x. */
  x_hot: number;
  /** Cursor hotspot y. */
  y_hot: number;
  /** Union with `dmabuf_id`: the region holding the plane for TYPE_REGION. */
  region_index: number;
  /** Union with region_index: the dmabuf id for TYPE_DMABUF. */
  dmabuf_id?: number;
  /** Reserved, zero. */
  reserved: number;
}
/** sizeof(struct vfio_device_gfx_plane_info). */
export const VFIO_DEVICE_GFX_PLANE_INFO_SIZE = 64;
/** Only probe whether the plane type is supported. */
export const VFIO_GFX_PLANE_TYPE_PROBE = 1 << 0;
/** The plane is exported as a dmabuf. */
export const VFIO_GFX_PLANE_TYPE_DMABUF = 1 << 1;
/** The plane lives in a device region. */
export const VFIO_GFX_PLANE_TYPE_REGION = 1 << 2;
/** Device ioctl: query a display plane (struct vfio_device_gfx_plane_info). */
export const VFIO_DEVICE_QUERY_GFX_PLANE = vfioIo(14);
/** Device ioctl: get a dmabuf fd for a plane by dmabuf_id. */
export const VFIO_DEVICE_GET_GFX_DMABUF = vfioIo(15);
/** Device ioctl: attach an eventfd that writes a device register. */
export const VFIO_DEVICE_IOEVENTFD = vfioIo(16);
/** Device ioctl: get, set or probe a device feature (struct vfio_device_feature). */
export const VFIO_DEVICE_FEATURE = vfioIo(17);

// DRM plane types used in drm_plane_type (include/uapi/drm/drm_mode.h).
/** DRM overlay plane. */
export const DRM_PLANE_TYPE_OVERLAY = 0;
/** DRM primary plane. */
export const DRM_PLANE_TYPE_PRIMARY = 1;
/** DRM cursor plane. */
export const DRM_PLANE_TYPE_CURSOR = 2;

// ---------------------------------------------------------------------------
// Region offsets within a device fd: vfio-pci (and mdev drivers after it)
// place region `index` at `index << 40` (VFIO_PCI_OFFSET_SHIFT).

/** Shift of the region index in a vfio-pci device fd offset. */
export const VFIO_PCI_OFFSET_SHIFT = 40n;
/** Mask of the offset within a region. */
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
}
/** iova_pgsizes is valid. */
export const VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
/** The info has a capability chain at cap_offset. */
export const VFIO_IOMMU_INFO_CAPS = 1 << 1;
/** type1 info capability: valid IOVA ranges. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
/** type1 info capability: dirty page tracking parameters. */
export const VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;
/** type1 info capability: how many more DMA mappings are allowed. */
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;
/** Container ioctl: read struct vfio_iommu_type1_info. */
export const VFIO_IOMMU_GET_INFO = vfioIo(12);

/** struct vfio_iommu_type1_dma_map */
export interface VfioIommuType1DmaMap {
  /** Size of the argument buffer as the caller filled it. */
  argsz: number;
  /** VFIO_DMA_MAP_FLAG_* bits. */
  flags: number;
  /** Process virtual address of the memory to map. */
  vaddr: bigint;
  /** IO virtual address the device uses. */
  iova: bigint;
  /** Size of the mapping in bytes. */
  size: bigint;
}
/** The device may read through this mapping. */
export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
/** The device may write through this mapping. */
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
/** Only update the vaddr of an existing mapping (live update). */
export const VFIO_DMA_MAP_FLAG_VADDR = 1 << 2;
/** Container ioctl: map process memory for device DMA. */
export const VFIO_IOMMU_MAP_DMA = vfioIo(13);

/** struct vfio_bitmap */
export interface VfioBitmap {
  /** Page size each bit of the bitmap covers. */
  pgsize: bigint;
  /** Size of the bitmap in bytes. */
  size: bigint;
  /** The bitmap, one bit per page. */
  data: Uint8Array;
}

/** struct vfio_iommu_type1_dma_unmap (with the trailing vfio_bitmap for GET_DIRTY_BITMAP). */
export interface VfioIommuType1DmaUnmap {
  /** Size of the argument buffer as the caller filled it. */
  argsz: number;
  /** VFIO_DMA_UNMAP_FLAG_* bits. */
  flags: number;
  /** IO virtual address of the range to unmap. */
  iova: bigint;
  /** Size of the range in bytes; on return, the size unmapped. */
  size: bigint;
  /** Dirty bitmap to fill when GET_DIRTY_BITMAP is set. */
  bitmap?: VfioBitmap;
}
/** Also return the dirty bitmap of the unmapped range. */
export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1 << 0;
/** Unmap every mapping (iova and size must be 0). */
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
/** Invalidate the vaddr of mappings instead of unmapping them (live update). */
export const VFIO_DMA_UNMAP_FLAG_VADDR = 1 << 2;
/** Container ioctl: unmap an IOVA range. */
export const VFIO_IOMMU_UNMAP_DMA = vfioIo(14);

/** Container ioctl: enable the IOMMU (sPAPR only). */
export const VFIO_IOMMU_ENABLE = vfioIo(15);
/** Container ioctl: disable the IOMMU (sPAPR only). */
export const VFIO_IOMMU_DISABLE = vfioIo(16);

/** Start dirty page tracking. */
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_START = 1 << 0;
/** Stop dirty page tracking. */
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP = 1 << 1;
/** Read the dirty bitmap of a range. */
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP = 1 << 2;
/** Container ioctl: control dirty page tracking (struct vfio_iommu_type1_dirty_bitmap). */
export const VFIO_IOMMU_DIRTY_PAGES = vfioIo(17);

// ---------------------------------------------------------------------------
// Kernel-internal limits that the external (mdev) API enforces.

/** log2 of the host page size. */
export const PAGE_SHIFT = 12;
/** Host page size in bytes. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** vfio_pin_pages(): at most PAGE_SIZE / sizeof(unsigned long) pfns per call. */
export const VFIO_PIN_PAGES_MAX_ENTRIES = PAGE_SIZE / 8;

// IOMMU prot bits passed to vfio_pin_pages (include/linux/iommu.h).
/** IOMMU prot: the device may read. */
export const IOMMU_READ = 1 << 0;
/** IOMMU prot: the device may write. */
export const IOMMU_WRITE = 1 << 1;

// ---------------------------------------------------------------------------
// VFIO_DEVICE_FEATURE (struct vfio_device_feature) and migration v2.

/** struct vfio_device_feature: `data` is the feature's payload struct. */
export interface VfioDeviceFeature<T = unknown> {
  /** Size of the argument buffer including data. */
  argsz: number;
  /** Feature number (VFIO_DEVICE_FEATURE_MASK) plus GET, SET or PROBE. */
  flags: number;
  /** The feature's payload. */
  data?: T;
}
/** offsetofend(struct vfio_device_feature, flags). */
export const VFIO_DEVICE_FEATURE_HDR_SIZE = 8;
/** Mask of the feature number in flags. */
export const VFIO_DEVICE_FEATURE_MASK = 0xffff;
/** Read the feature. */
export const VFIO_DEVICE_FEATURE_GET = 1 << 16;
/** Write the feature. */
export const VFIO_DEVICE_FEATURE_SET = 1 << 17;
/** Only ask whether the feature (with GET/SET) is supported. */
export const VFIO_DEVICE_FEATURE_PROBE = 1 << 18;

/** Feature: the SR-IOV VF token (vfio-pci). */
export const VFIO_DEVICE_FEATURE_PCI_VF_TOKEN = 0;
/** Feature: which migration states the device supports. */
export const VFIO_DEVICE_FEATURE_MIGRATION = 1;
/** Feature: read or change the migration state. */
export const VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE = 2;
/** Feature: enter low-power state (D3). */
export const VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY = 3;
/** Feature: enter low-power state with a wakeup eventfd. */
export const VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP = 4;
/** Feature: leave low-power state. */
export const VFIO_DEVICE_FEATURE_LOW_POWER_EXIT = 5;
/** Feature: start device DMA dirty logging. */
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_START = 6;
/** Feature: stop device DMA dirty logging. */
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP = 7;
/** Feature: report device DMA dirty pages. */
export const VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT = 8;
/** Feature: estimated size of the STOP_COPY data. */
export const VFIO_DEVICE_FEATURE_MIG_DATA_SIZE = 9;

/** struct vfio_device_feature_migration (GET): which optional states the driver has. */
export interface VfioDeviceFeatureMigration {
  /** VFIO_MIGRATION_* bits. */
  flags: bigint;
}
/** sizeof(struct vfio_device_feature_migration). */
export const VFIO_DEVICE_FEATURE_MIGRATION_SIZE = 8;
/** Supports STOP, STOP_COPY and RESUMING (mandatory). */
export const VFIO_MIGRATION_STOP_COPY = 1 << 0;
/** Supports RUNNING_P2P. */
export const VFIO_MIGRATION_P2P = 1 << 1;
/** Supports PRE_COPY. */
export const VFIO_MIGRATION_PRE_COPY = 1 << 2;

/** struct vfio_device_feature_mig_state (GET/SET): the state, and the data fd a SET may return. */
export interface VfioDeviceFeatureMigState {
  /** enum vfio_device_mig_state value. */
  device_state: number;
  /** Data fd returned by a SET that opens a data transfer, else -1. */
  data_fd: number;
}
/** sizeof(struct vfio_device_feature_mig_state). */
export const VFIO_DEVICE_FEATURE_MIG_STATE_SIZE = 8;

/** struct vfio_device_feature_mig_data_size (GET). */
export interface VfioDeviceFeatureMigDataSize {
  /** Estimated bytes of device state still to transfer in STOP_COPY. */
  stop_copy_length: bigint;
}
/** sizeof(struct vfio_device_feature_mig_data_size). */
export const VFIO_DEVICE_FEATURE_MIG_DATA_SIZE_SIZE = 8;

/** enum vfio_device_mig_state. */
export const VFIO_DEVICE_STATE_ERROR = 0;
/** Migration state: stopped, no DMA or interrupts. */
export const VFIO_DEVICE_STATE_STOP = 1;
/** Migration state: running normally. */
export const VFIO_DEVICE_STATE_RUNNING = 2;
/** Migration state: stopped, device state readable from the data fd. */
export const VFIO_DEVICE_STATE_STOP_COPY = 3;
/** Migration state: accepting device state written to the data fd. */
export const VFIO_DEVICE_STATE_RESUMING = 4;
/** Migration state: running, but not initiating peer-to-peer DMA. */
export const VFIO_DEVICE_STATE_RUNNING_P2P = 5;
/** Migration state: running while the data fd streams initial state. */
export const VFIO_DEVICE_STATE_PRE_COPY = 6;
/** Migration state: PRE_COPY without peer-to-peer DMA. */
export const VFIO_DEVICE_STATE_PRE_COPY_P2P = 7;

/** On a migration data fd: struct vfio_precopy_info. */
export const VFIO_MIG_GET_PRECOPY_INFO = vfioIo(21);
