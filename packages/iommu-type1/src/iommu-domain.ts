/**
 * A hardware IOMMU's translation domain (struct iommu_domain), as much of it
 * as type1 needs: the page sizes it can map, its aperture and reserved
 * regions (which shape the container's usable IOVA ranges), and a page table
 * from IOVA pfn to host pfn that a passthrough device model can walk.
 */
export interface HwIommuConfig {
  /** iommu_domain->pgsize_bitmap. Default 4 KiB | 2 MiB | 1 GiB. */
  pgsizeBitmap?: bigint;
  /** domain->geometry.aperture_start/end (inclusive). Default [0, 2^48 - 1]. */
  apertureStart?: bigint;
  /** Last usable IOVA of the aperture (inclusive). */
  apertureEnd?: bigint;
  /** Reserved regions (inclusive), e.g. an MSI doorbell window, never usable for DMA. */
  reservedRegions?: readonly {
    /** First IOVA of the range. */
    start: bigint;
    /** Last IOVA of the range (inclusive). */
    end: bigint;
  }[];
  /** The IOMMU enforces DMA cache coherency (VFIO_DMA_CC_IOMMU). Default true. */
  enforceCacheCoherency?: boolean;
}

/** A hardware IOMMU domain (struct iommu_domain) built from a `HwIommuConfig`, with its IOVA-to-host page table. */
export class IommuDomain {
  /** Page sizes the domain can map (pgsize_bitmap). */
  readonly pgsizeBitmap: bigint;
  /** First usable IOVA (geometry.aperture_start). */
  readonly apertureStart: bigint;
  /** Last usable IOVA (geometry.aperture_end, inclusive). */
  readonly apertureEnd: bigint;
  /** Reserved IOVA regions (inclusive), never used for DMA. */
  readonly reservedRegions: readonly {
    /** First IOVA of the range. */
    start: bigint;
    /** Last IOVA of the range (inclusive). */
    end: bigint;
  }[];
  /** The IOMMU enforces DMA cache coherency (VFIO_DMA_CC_IOMMU). */
  readonly enforceCacheCoherency: boolean;
  /**
   * The IO page table, IOVA pfn -> host pfn, in two levels as hardware has
   * it: a directory keyed by IOVA pfn / 512 (a Map of leaves, so it holds
   * one entry per 2 MiB of mapped IOVA, well under a Map's 2^24 limit) of
   * 512-entry leaves holding host pfn + 1 (0 = not present), each followed
   * by its count of present entries, so an emptied leaf is freed at once.
   */
  private readonly dir = new Map<number, Uint32Array>();
  private count = 0;

  constructor(cfg: HwIommuConfig = {}) {
    this.pgsizeBitmap = cfg.pgsizeBitmap ?? (1n << 12n) | (1n << 21n) | (1n << 30n);
    this.apertureStart = cfg.apertureStart ?? 0n;
    this.apertureEnd = cfg.apertureEnd ?? (1n << 48n) - 1n;
    this.reservedRegions = [...(cfg.reservedRegions ?? [])].sort((a, b) => (a.start < b.start ? -1 : 1));
    this.enforceCacheCoherency = cfg.enforceCacheCoherency ?? true;
  }

  /** iommu_map() of one 4 KiB page. */
  map(iovaPfn: number, hostPfn: number): void {
    const key = Math.floor(iovaPfn / 512);
    let leaf = this.dir.get(key);
    if (leaf === undefined) {
      leaf = new Uint32Array(513);
      this.dir.set(key, leaf);
    }
    const i = iovaPfn % 512;
    if (leaf[i] === 0) {
      this.count++;
      leaf[512]!++;
    }
    leaf[i] = hostPfn + 1;
  }

  /** iommu_unmap() of one 4 KiB page; a leaf left empty is freed. */
  unmap(iovaPfn: number): void {
    const key = Math.floor(iovaPfn / 512);
    const leaf = this.dir.get(key);
    const i = iovaPfn % 512;
    if (leaf === undefined || leaf[i] === 0) return;
    leaf[i] = 0;
    this.count--;
    if (--leaf[512]! === 0) this.dir.delete(key);
  }

  /** iommu_iova_to_phys() at page granularity: the host pfn, or undefined when not mapped. */
  iovaToPfn(iovaPfn: number): number | undefined {
    const v = this.dir.get(Math.floor(iovaPfn / 512))?.[iovaPfn % 512];
    return v === undefined || v === 0 ? undefined : v - 1;
  }

  /** Number of IOVA pages mapped in the domain. */
  get mappedPages(): number {
    return this.count;
  }

  /**
   * The usable IOVA ranges (the container's iova_list): the aperture minus
   * the reserved regions, as vfio_iommu_aper_resize() and
   * vfio_iommu_resv_exclude() compute them.
   */
  iovaRanges(): {
    /** First IOVA of the range. */
    start: bigint;
    /** Last IOVA of the range (inclusive). */
    end: bigint;
  }[] {
    let list = [{ start: this.apertureStart, end: this.apertureEnd }];
    for (const r of this.reservedRegions) {
      const out: { start: bigint; end: bigint }[] = [];
      for (const n of list) {
        if (r.end < n.start || r.start > n.end) {
          out.push(n);
          continue;
        }
        if (r.start > n.start) out.push({ start: n.start, end: r.start - 1n });
        if (r.end < n.end) out.push({ start: r.end + 1n, end: n.end });
      }
      list = out;
    }
    return list;
  }
}
