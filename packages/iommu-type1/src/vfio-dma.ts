import type { MmStruct } from '@tsvirt/host-mm';

/** One page pinned for a vendor driver (struct vfio_pfn): the host pfn and a refcount. */
export interface VfioPfn {
  /** Host pfn of the pinned page. */
  pfn: number;
  /** Number of vfio_pin_pages() pins held on it. */
  refCount: number;
}

/**
 * One DMA mapping (struct vfio_dma): [iova, iova + size) of IOVA backed by
 * user memory at vaddr of `mm`, with the pages vendor drivers pinned
 * (pfn_list, keyed by IOVA pfn) and, while dirty tracking is on, a bitmap
 * with one bit per smallest IOMMU page.
 */
export class VfioDma {
  /** The pages pinned through vfio_pin_pages(), by IOVA pfn. */
  readonly pfnList = new Map<number, VfioPfn>();
  /** Dirty bits (little-endian bit order, as a Linux bitmap of u64 words); undefined when not tracking. */
  bitmap: Uint8Array | undefined = undefined;
  /** The pages are pinned and mapped in the hardware domains. */
  iommuMapped = false;
  /** VFIO_DMA_UNMAP_FLAG_VADDR was used; vaddr is stale until MAP_DMA with FLAG_VADDR. */
  vaddrInvalid = false;
  /** Host pfns pinned for the hardware domains, one per page (0..size/4K), when iommuMapped. */
  hostPfns: Int32Array | Float64Array | undefined = undefined;
  /** Pages of `hostPfns` pinned for the domain (normal pages, not PFNMAP). */
  lockedPages = 0;

  constructor(
    /** IOVA of the first byte. */
    public iova: bigint,
    /** Size in bytes. */
    public size: bigint,
    /** Process virtual address backing the mapping. */
    public vaddr: bigint,
    /** IOMMU_READ | IOMMU_WRITE. */
    public prot: number,
    /** The address space that made the mapping (dma->mm). */
    public mm: MmStruct,
    /** CAP_IPC_LOCK of the mapper, captured at MAP_DMA (dma->lock_cap). */
    public lockCap: boolean,
  ) {}

  /** One past the last byte. */
  get end(): bigint {
    return this.iova + this.size;
  }

  /** Number of 4 KiB pages. */
  get npages(): number {
    return Number(this.size >> 12n);
  }
}
