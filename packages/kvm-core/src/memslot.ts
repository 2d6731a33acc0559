import { floorIndex } from '@tsvirt/core-bus';
import { PAGE_SHIFT } from './uapi.ts';

/**
 * struct kvm_memory_slot: guest frames [baseGfn, baseGfn + npages) backed by
 * host virtual addresses from `userspaceAddr`. Frame numbers and addresses
 * are numbers: gfns stay below 2^52 and host addresses below TASK_SIZE.
 */
export class KvmMemorySlot {
  /** Per-page dirty bits (set_bit_le order), present while KVM_MEM_LOG_DIRTY_PAGES is on. */
  dirtyBitmap: Uint32Array | undefined;
  /** KVM_MEMSLOT_INVALID: being deleted or moved; lookups must not translate through it. */
  invalid = false;
  /** The arch's own per-slot data (kvm_arch_memory_slot). */
  arch: unknown;

  constructor(
    /** Address space id. */
    readonly asId: number,
    /** Slot id within the address space. */
    readonly id: number,
    /** First guest frame number. */
    readonly baseGfn: number,
    /** Number of pages. */
    readonly npages: number,
    /** Host virtual address of the first page. */
    readonly userspaceAddr: number,
    /** KVM_MEM_* flags. */
    readonly flags: number,
  ) {}

  /** The slot's address space and id as user space names it (as_id << 16 | id). */
  get slot(): number {
    return (this.asId << 16) | this.id;
  }

  /** One past the last guest frame number. */
  get endGfn(): number {
    return this.baseGfn + this.npages;
  }

  /** __gfn_to_hva_memslot(): no bounds check, the caller found the slot by gfn. */
  gfnToHva(gfn: number): number {
    return this.userspaceAddr + (gfn - this.baseGfn) * (1 << PAGE_SHIFT);
  }

  /** Bytes of the bitmap user space sees (kvm_dirty_bitmap_bytes: rounded up to u64s). */
  get dirtyBitmapBytes(): number {
    return Math.ceil(this.npages / 64) * 8;
  }

  /** mark_page_dirty_in_slot(): no-op when the slot does not log. */
  markDirty(gfn: number): void {
    const bm = this.dirtyBitmap;
    if (bm === undefined) return;
    const rel = gfn - this.baseGfn;
    bm[rel >>> 5]! |= 1 << (rel & 31);
  }

  /** Whether page `gfn` is marked in the dirty bitmap. */
  isDirty(gfn: number): boolean {
    const bm = this.dirtyBitmap;
    if (bm === undefined) return false;
    const rel = gfn - this.baseGfn;
    return (bm[rel >>> 5]! & (1 << (rel & 31))) !== 0;
  }

  /** A new bitmap, all clear or all set (KVM_DIRTY_LOG_INITIALLY_SET), with no bits past npages. */
  static allocDirtyBitmap(npages: number, set: boolean): Uint32Array {
    const bm = new Uint32Array(Math.ceil(npages / 64) * 2);
    if (set) {
      bm.fill(0xffff_ffff, 0, npages >>> 5);
      if (npages & 31) bm[npages >>> 5] = (1 << (npages & 31)) - 1;
    }
    return bm;
  }
}

/**
 * One address space's memslots (struct kvm_memslots): by id, and sorted by
 * base gfn for the fault path's lookup, a binary search with a one-entry
 * cache for the common case of consecutive faults in one slot. The set is
 * replaced as a whole by each change, as the kernel swaps its inactive copy
 * in, so readers never see a half-applied update.
 */
export class KvmMemslots {
  private readonly byId = new Map<number, KvmMemorySlot>();
  private sorted: KvmMemorySlot[] = [];
  private bases: number[] = [];
  private last: KvmMemorySlot | undefined;
  /** Bumped on every change (kvm_memslots.generation), for caches built on lookups. */
  generation = 0;

  /** Number of slots. */
  get size(): number {
    return this.byId.size;
  }

  /** The slot with this id, if any. */
  get(id: number): KvmMemorySlot | undefined {
    return this.byId.get(id);
  }

  /** All slots in gfn order. */
  list(): readonly KvmMemorySlot[] {
    return this.sorted;
  }

  /** The slot holding `gfn` (search_memslots()), or undefined. */
  lookup(gfn: number): KvmMemorySlot | undefined {
    const last = this.last;
    if (last !== undefined && gfn >= last.baseGfn && gfn < last.baseGfn + last.npages) return last;
    const found = floorIndex(this.bases, gfn);
    if (found < 0) return undefined;
    const s = this.sorted[found]!;
    if (gfn >= s.baseGfn + s.npages) return undefined;
    this.last = s;
    return s;
  }

  /** kvm_check_memslot_overlap(): another slot (not `id`) intersecting [start, end). */
  overlap(id: number, start: number, end: number): KvmMemorySlot | undefined {
    for (const s of this.sorted) {
      if (s.id === id) continue;
      if (s.baseGfn >= end) break;
      if (s.baseGfn + s.npages > start) return s;
    }
    return undefined;
  }

  /** Replace `old` (if any) by `next` (if any) in one step. */
  replace(old: KvmMemorySlot | undefined, next: KvmMemorySlot | undefined): void {
    if (old !== undefined) this.byId.delete(old.id);
    if (next !== undefined) this.byId.set(next.id, next);
    this.sorted = [...this.byId.values()].sort((a, b) => a.baseGfn - b.baseGfn);
    this.bases = this.sorted.map((s) => s.baseGfn);
    this.last = undefined;
    this.generation++;
  }
}
