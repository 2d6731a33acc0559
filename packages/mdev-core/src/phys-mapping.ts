import { fail } from '@tsvirt/core-bus';

const bigMax = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const bigMin = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * Something that maps device pages into a process and can take them away
 * again: host-mm's VMA of a device mmap (its `zap` is zap_vma_ptes() /
 * unmap_mapping_range(): the PTEs go, the VMA stays, and the next access
 * faults into the fault handler again).
 */
export interface MdevMappingTarget {
  /** Drop the installed pages of [offset, offset + length) of this mapping (offsets into the device file). */
  zap(offset: bigint, length: bigint): void;
  /**
   * The window of the device file the mapping covers now, when it can
   * change after tracking began (a VMA split shrinks the original).
   */
  window?(): {
    /** Offset of the window in the device file. */
    start: bigint;
    /** Size of the window in bytes. */
    size: bigint;
  };
}

/** One mapping handed out through mmap: a window [start, start + size) of the device file. */
export interface MdevPhysMapping {
  /** The mapping to zap. */
  readonly target: MdevMappingTarget;
  /** Offset in the device file where the window starts. */
  readonly start: bigint;
  /** Size of the window in bytes. */
  readonly size: bigint;
}

/**
 * The physical mappings of one mdev (the seed's `struct mdev_phys_mapping`,
 * with mdev_add_phys_mapping() / mdev_del_phys_mapping() /
 * mdev_device_invalidate_mapping()). The bus driver records each mmap; a
 * vendor driver that must revoke direct access (the guest turned memory
 * decode off, the BAR moved, the device resets) invalidates a range and every
 * mapping that overlaps it is zapped.
 */
export class MdevPhysMappings {
  private readonly list: MdevPhysMapping[] = [];

  /** The tracked mappings. */
  get mappings(): readonly MdevPhysMapping[] {
    return this.list;
  }

  /** mdev_add_phys_mapping(). Zero size is EINVAL; the same target twice is EEXIST. */
  add(target: MdevMappingTarget, start: bigint, size: bigint): MdevPhysMapping {
    if (size <= 0n || start < 0n) fail('EINVAL', 'empty or negative mapping', 'mdev_add_phys_mapping');
    if (this.list.some((m) => m.target === target))
      fail('EEXIST', 'mapping already tracked', 'mdev_add_phys_mapping');
    const m = { target, start, size };
    this.list.push(m);
    return m;
  }

  /** mdev_del_phys_mapping(): forget a mapping (munmap of the VMA). Unknown targets are ignored. */
  remove(target: MdevMappingTarget): void {
    const i = this.list.findIndex((m) => m.target === target);
    if (i >= 0) this.list.splice(i, 1);
  }

  /**
   * mdev_device_invalidate_mapping(): zap [addr, addr + size) of the device
   * file in every mapping that overlaps it (a mapping only loses its
   * overlapping part). Returns how many mappings were touched; zero size
   * is EINVAL.
   */
  invalidate(addr: bigint, size: bigint): number {
    if (size <= 0n) fail('EINVAL', 'empty range', 'mdev_device_invalidate_mapping');
    const end = addr + size;
    let n = 0;
    for (const m of this.list) {
      const w = m.target.window?.() ?? m;
      const lo = bigMax(addr, w.start);
      const hi = bigMin(end, w.start + w.size);
      if (lo >= hi) continue;
      m.target.zap(lo, hi - lo);
      n++;
    }
    return n;
  }

  /** Zap everything (device removed or reset). */
  invalidateAll(): number {
    for (const m of this.list) {
      const w = m.target.window?.() ?? m;
      m.target.zap(w.start, w.size);
    }
    return this.list.length;
  }
}
