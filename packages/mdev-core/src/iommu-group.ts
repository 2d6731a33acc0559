import type { IommuGroupRef } from '@tsvirt/vfio-core';

/**
 * Where an mdev's IOMMU group comes from. Each mdev gets a group of its own
 * with no hardware IOMMU behind it (mdev_attach_iommu() in the seed;
 * vfio_register_emulated_iommu_dev() today), so the type1 backend treats it
 * as an external domain: pinning, not a page table, makes DMA possible.
 */
export interface MdevIommuGroups {
  /** Give a new mdev an IOMMU group of its own. */
  alloc(mdev: { readonly uuid: string }): IommuGroupRef;
  /** Release a group when its mdev goes away. */
  free(group: IommuGroupRef): void;
}

/** A stand-alone allocator: ids count up from `firstId`, freed ids are reused lowest first. */
export class LocalMdevIommuGroups implements MdevIommuGroups {
  private readonly used = new Set<number>();

  constructor(private readonly firstId = 1000) {}

  /** Allocate the lowest free group id from firstId. */
  alloc(): IommuGroupRef {
    let id = this.firstId;
    while (this.used.has(id)) id++;
    this.used.add(id);
    return { id, mdev: true };
  }

  /** Free a group id for reuse. */
  free(group: IommuGroupRef): void {
    this.used.delete(group.id);
  }
}
