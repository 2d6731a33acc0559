import { fail } from '@tsvirt/core-bus';
import type { HostPhysMemory } from '@tsvirt/host-mm';
import {
  GSTAGE_LEVEL_SIZE,
  GSTAGE_PGD_PAGES,
  gstageGpaBits,
  gstageLevels,
  HGATP_MODE_SHIFT,
  HGATP_MODE_SV39X4,
  HGATP_MODE_SV48X4,
  HGATP_VMID_SHIFT,
  PTE_A,
  PTE_D,
  PTE_PPN_SHIFT,
  PTE_R,
  PTE_RWX,
  PTE_U,
  PTE_V,
  PTE_W,
  PTE_X,
} from './constants.ts';
import type { KvmMmuMemoryCache } from './page-cache.ts';

/** Where a walk stopped: the table frame, the entry index in it, and the level. */
export interface GStagePtep {
  /** Frame of the page table holding the entry. */
  pfn: number;
  /** Index of the entry in that table. */
  idx: number;
  /** Level of the table (0 is the leaf level of 4 KiB pages). */
  level: number;
}

/** The leaf a gpa translates through (kvm_riscv_gstage_get_leaf()). */
export interface GStageLeaf extends GStagePtep {
  /** Host pfn of the leaf's first frame. */
  hpfn: number;
  /** PTE flag bits (V R W X U G A D). */
  flags: number;
}

const TWO22 = 2 ** 22;

/** What wpPtMasked() did. */
export interface GStageWpMasked {
  /** A leaf lost W (the TLBs must be flushed). */
  changed: boolean;
  /** A set bit lay under a block leaf (the eager split has work). */
  huge: boolean;
}

/** The first set bit at or above `from` of the 64-bit mask (lo, hi); 64 when none. */
function nextBit(lo: number, hi: number, from: number): number {
  if (from < 32) {
    const w = lo & (-1 << from);
    if (w !== 0) return 31 - Math.clz32(w & -w);
    from = 32;
  }
  if (from >= 64) return 64;
  const w = hi & (-1 << (from - 32));
  return w !== 0 ? 63 - Math.clz32(w & -w) : 64;
}

/**
 * One VM's G-stage page table (struct kvm_gstage / kvm->arch.pgd) in host
 * frames with the real Sv39x4 / Sv48x4 PTE format and a 16 KiB root, so the
 * hart's own G-stage walker translates through it. Table pages come from a
 * KvmMmuMemoryCache topped up before the (modelled) MMU lock.
 */
export class GStage {
  /** Number of page-table levels. */
  readonly levels: number;
  /** Guest physical address bits covered. */
  readonly gpaBits: number;
  /** Guest physical address space size in bytes. */
  readonly gpaSize: number;
  /** First of the 4 contiguous, 16 KiB-aligned root frames. */
  readonly pgdPfn: number;
  /** Table pages below the root now in use. */
  tablePages = 0;
  private readonly views = new Map<number, Uint32Array>();
  private freed = false;

  constructor(
    private readonly phys: HostPhysMemory,
    /** hgatp.MODE: Sv39x4 or Sv48x4. */
    readonly mode: number = HGATP_MODE_SV39X4,
    /** The VMID placed in hgatp. */
    readonly vmid = 0,
  ) {
    if (mode !== HGATP_MODE_SV39X4 && mode !== HGATP_MODE_SV48X4)
      fail('EINVAL', `hgatp mode ${mode} is not Sv39x4 or Sv48x4`);
    this.levels = gstageLevels(mode);
    this.gpaBits = gstageGpaBits(mode);
    this.gpaSize = 2 ** this.gpaBits;
    // kvm_riscv_gstage_alloc_pgd(): 16 KiB, 16 KiB aligned, zeroed.
    this.pgdPfn = phys.allocContiguous(GSTAGE_PGD_PAGES, GSTAGE_PGD_PAGES);
    for (let i = 0; i < GSTAGE_PGD_PAGES; i++) phys.frame(this.pgdPfn + i).fill(0);
  }

  /** hgatp for this table: MODE | VMID | root PPN (kvm_riscv_gstage_update_hgatp()). */
  get hgatp(): bigint {
    return (
      (BigInt(this.mode) << HGATP_MODE_SHIFT) | (BigInt(this.vmid) << HGATP_VMID_SHIFT) | BigInt(this.pgdPfn)
    );
  }

  private view(pfn: number): Uint32Array {
    let v = this.views.get(pfn);
    if (v === undefined) {
      const f = this.phys.frame(pfn);
      v = new Uint32Array(f.buffer, f.byteOffset, 1024);
      this.views.set(pfn, v);
    }
    return v;
  }

  /** Index bits of `gpa` at `level` (the root has two extra bits). */
  private index(gpa: number, level: number): number {
    const i = Math.floor(gpa / GSTAGE_LEVEL_SIZE[level]!);
    return level === this.levels - 1 ? i % 2048 : i % 512;
  }

  /** The root entry of `gpa`, as a (frame, idx) pair. */
  private rootPtep(gpa: number): GStagePtep {
    const i = this.index(gpa, this.levels - 1);
    return { pfn: this.pgdPfn + (i >>> 9), idx: i & 511, level: this.levels - 1 };
  }

  private readLo(p: GStagePtep): number {
    return this.view(p.pfn)[p.idx * 2]!;
  }

  private ppnOf(p: GStagePtep): number {
    const v = this.view(p.pfn);
    const lo = v[p.idx * 2]!;
    const hi = v[p.idx * 2 + 1]!;
    return (lo >>> PTE_PPN_SHIFT) + (hi & 0x3fffff) * TWO22;
  }

  private write(p: GStagePtep, ppn: number, flags: number): void {
    const v = this.view(p.pfn);
    v[p.idx * 2] = (((ppn % TWO22) << PTE_PPN_SHIFT) | flags) >>> 0;
    v[p.idx * 2 + 1] = Math.floor(ppn / TWO22);
  }

  private clear(p: GStagePtep): void {
    const v = this.view(p.pfn);
    v[p.idx * 2] = 0;
    v[p.idx * 2 + 1] = 0;
  }

  private checkGpa(gpa: number, what: string): void {
    if (!Number.isInteger(gpa) || gpa < 0 || gpa >= this.gpaSize)
      fail('EINVAL', `gpa 0x${gpa.toString(16)} is outside the ${this.gpaBits}-bit guest space`, what);
  }

  /**
   * A range for unmap/wp/zap must lie in the guest physical space: the walk
   * indexes by gpa bits, so a range running past the top would wrap to gpa 0
   * and act on leaves it was never given (found by the fuzz target).
   * Upstream's callers only pass memslot ranges; here the table is a public
   * API, so a bad range is EINVAL and nothing is touched.
   */
  private checkRange(start: number, size: number, what: string): void {
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(size) ||
      start < 0 ||
      size < 0 ||
      start + size > this.gpaSize
    )
      fail(
        'EINVAL',
        `range 0x${start.toString(16)}+0x${size.toString(16)} is outside the ${this.gpaBits}-bit guest space`,
        what,
      );
  }

  /**
   * kvm_riscv_gstage_get_leaf(): walk to the leaf holding `gpa`. Returns the
   * leaf, or undefined when the walk meets an invalid entry (then `stop` says
   * at which level, so a range walk can skip that whole block).
   */
  getLeaf(gpa: number, stop?: { level: number }): GStageLeaf | undefined {
    let p = this.rootPtep(gpa);
    for (;;) {
      const lo = this.readLo(p);
      if ((lo & PTE_V) === 0) {
        if (stop) stop.level = p.level;
        return undefined;
      }
      if ((lo & PTE_RWX) !== 0) return { ...p, hpfn: this.ppnOf(p), flags: lo & 0x3ff };
      if (p.level === 0) {
        // A non-leaf PTE at level 0 is malformed; treat as not present.
        if (stop) stop.level = 0;
        return undefined;
      }
      const next = this.ppnOf(p);
      p = { pfn: next, idx: this.index(gpa, p.level - 1), level: p.level - 1 };
    }
  }

  /**
   * kvm_riscv_gstage_set_pte(): install a leaf at `level`, creating the
   * intermediate tables from `cache`. EEXIST when a leaf already maps a
   * larger block above the target level. A table where the leaf goes (a
   * block split for dirty logging, logging since switched off) gives way
   * to the block: upstream overwrites the entry; its table pages are freed
   * here, as arm64's stage-2 walker does (stage2_map_walk_table_pre()).
   * Returns true when the entry replaced a valid one with another frame,
   * fewer permissions or a table (the caller must flush the TLBs).
   */
  setPte(level: number, cache: KvmMmuMemoryCache, gpa: number, hpfn: number, flags: number): boolean {
    let p = this.rootPtep(gpa);
    while (p.level > level) {
      const lo = this.readLo(p);
      let next: number;
      if ((lo & PTE_V) === 0) {
        next = cache.alloc();
        this.tablePages++;
        this.write(p, next, PTE_V);
      } else if ((lo & PTE_RWX) !== 0) {
        return fail('EEXIST', `a level-${p.level} leaf already maps gpa 0x${gpa.toString(16)}`);
      } else {
        next = this.ppnOf(p);
      }
      p = { pfn: next, idx: this.index(gpa, p.level - 1), level: p.level - 1 };
    }
    const old = this.readLo(p);
    if ((old & PTE_V) !== 0 && (old & PTE_RWX) === 0) {
      if (level === 0) fail('EEXIST', `a table entry at level 0 for gpa 0x${gpa.toString(16)}`);
      const table = this.ppnOf(p);
      this.freeTable(table, level - 1, 512);
      this.phys.putPage(table);
      this.views.delete(table);
      this.tablePages--;
      this.write(p, hpfn, flags);
      return true;
    }
    const oldPpn = (old & PTE_V) !== 0 ? this.ppnOf(p) : -1;
    this.write(p, hpfn, flags);
    // Only a translation that moved or lost a permission can be stale in a
    // TLB; a pure upgrade (write-protect lifted on the same frame) at worst
    // faults once more, so it needs no flush.
    return oldPpn >= 0 && (oldPpn !== hpfn || (old & PTE_RWX & ~flags) !== 0);
  }

  /**
   * kvm_riscv_gstage_map_page(): map `size` bytes (4 KiB, 2 MiB or 1 GiB,
   * naturally aligned) at `gpa` to host frames from `hpfn`. Leaves are
   * user (G-stage accesses count as U), accessed, executable; writable ones
   * are also dirty.
   */
  map(
    cache: KvmMmuMemoryCache,
    gpa: number,
    hpfn: number,
    size: number,
    readOnly: boolean,
    exec = true,
  ): boolean {
    const level = GSTAGE_LEVEL_SIZE.indexOf(size as 4096);
    if (level < 0 || level >= this.levels) fail('EINVAL', `no G-stage leaf of ${size} bytes`);
    this.checkGpa(gpa, 'gstage_map');
    if (gpa % size !== 0 || hpfn % (size / 4096) !== 0)
      fail('EINVAL', `gpa 0x${gpa.toString(16)} / pfn ${hpfn} not aligned to ${size}`);
    // A PTE holds a 44-bit PPN: a frame past it would be mapped somewhere else.
    if (hpfn < 0 || hpfn + size / 4096 > 2 ** 44) fail('EINVAL', `pfn ${hpfn} is past the 44-bit PPN`);
    let flags = PTE_V | PTE_R | PTE_U | PTE_A;
    if (exec) flags |= PTE_X;
    if (!readOnly) flags |= PTE_W | PTE_D;
    return this.setPte(level, cache, gpa, hpfn, flags);
  }

  /**
   * The range walk of kvm_riscv_gstage_unmap_range() / _wp_range(): each
   * leaf that starts in [start, end) and lies wholly inside it is cleared or
   * write-protected; a larger leaf only partly covered is left alone, as
   * upstream does. `op` returns whether it changed anything.
   */
  private walkRange(start: number, end: number, op: (p: GStageLeaf) => boolean): boolean {
    let changed = false;
    let addr = start;
    const stop = { level: 0 };
    while (addr < end) {
      const leaf = this.getLeaf(addr, stop);
      const size = GSTAGE_LEVEL_SIZE[leaf ? leaf.level : stop.level]!;
      if (leaf !== undefined && addr % size === 0 && end - addr >= size) changed = op(leaf) || changed;
      addr = Math.floor(addr / size) * size + size;
    }
    return changed;
  }

  /** Clear whole leaves in [start, start + size); true when any was present. */
  unmapRange(start: number, size: number): boolean {
    this.checkRange(start, size, 'gstage_unmap_range');
    return this.walkRange(start, start + size, (p) => {
      this.clear(p);
      return true;
    });
  }

  /** Clear every leaf that overlaps [start, start + size), huge ones wholly (for invalidations). */
  zapRange(start: number, size: number): boolean {
    this.checkRange(start, size, 'gstage_zap_range');
    let changed = false;
    let addr = start;
    const end = start + size;
    const stop = { level: 0 };
    while (addr < end) {
      const leaf = this.getLeaf(addr, stop);
      const sz = GSTAGE_LEVEL_SIZE[leaf ? leaf.level : stop.level]!;
      if (leaf !== undefined) {
        this.clear(leaf);
        changed = true;
      }
      addr = Math.floor(addr / sz) * sz + sz;
    }
    return changed;
  }

  /** Clear W on whole leaves in [start, start + size); true when any changed. */
  wpRange(start: number, size: number): boolean {
    this.checkRange(start, size, 'gstage_wp_range');
    return this.walkRange(start, start + size, (p) => {
      if ((p.flags & PTE_W) === 0) return false;
      this.write(p, p.hpfn, p.flags & ~(PTE_W | PTE_D));
      return true;
    });
  }

  /**
   * kvm_riscv_gstage_wp_pt_masked(): write-protect the page of each set bit
   * of a 64-page mask (`lo` bits 0-31, `hi` bits 32-63) from `baseGfn`; the
   * pages between set bits are left as they are. A huge leaf over a set bit
   * loses W whole and its other bits are done with it; a bit whose walk meets
   * an invalid entry is skipped. The level-0 table reached is kept for the
   * following bits of the same 2 MiB block and a missing subtree skips every
   * bit under it: the walks upstream would repeat find the same entries, as
   * nothing else changes the table under the (modelled) MMU lock. No flush
   * here: the dirty-log ioctl flushes once when it is done.
   */
  wpPtMasked(baseGfn: number, lo: number, hi: number): GStageWpMasked {
    const out: GStageWpMasked = { changed: false, huge: false };
    let tbl = -1; // level-0 table of the 2 MiB block starting at gfn tblGfn
    let tblGfn = -1;
    for (let b = nextBit(lo, hi, 0); b < 64; ) {
      const gfn = baseGfn + b;
      if (tbl < 0 || gfn - tblGfn >= 512 || gfn < tblGfn) {
        tbl = -1;
        const gpa = gfn * 4096;
        this.checkGpa(gpa, 'gstage_wp_pt_masked');
        let p = this.rootPtep(gpa);
        for (;;) {
          const pte = this.readLo(p);
          const size = GSTAGE_LEVEL_SIZE[p.level]! / 4096;
          if ((pte & PTE_V) === 0 || ((pte & PTE_RWX) === 0 && p.level === 0)) {
            // Nothing mapped in this block: no bit under it has a leaf.
            b = nextBit(lo, hi, b + (size - (gfn % size)));
            break;
          }
          if ((pte & PTE_RWX) !== 0) {
            if (p.level === 0) {
              tbl = p.pfn;
              tblGfn = gfn - (gfn % 512);
              break;
            }
            // A block: protected whole, every bit it covers with it (clear_huge_mask()).
            out.huge = true;
            if ((pte & PTE_W) !== 0) {
              this.write(p, this.ppnOf(p), pte & 0x3ff & ~(PTE_W | PTE_D));
              out.changed = true;
            }
            b = nextBit(lo, hi, b + (size - (gfn % size)));
            break;
          }
          p = { pfn: this.ppnOf(p), idx: this.index(gpa, p.level - 1), level: p.level - 1 };
        }
        if (tbl < 0) continue;
      }
      const v = this.view(tbl);
      const i = (gfn - tblGfn) * 2;
      const pte = v[i]!;
      if ((pte & PTE_V) !== 0 && (pte & PTE_W) !== 0) {
        v[i] = (pte & ~(PTE_W | PTE_D)) >>> 0;
        out.changed = true;
      }
      b = nextBit(lo, hi, b + 1);
    }
    return out;
  }

  /**
   * kvm_riscv_gstage_split_huge(): replace each block leaf on the path to
   * `gpa` above `targetLevel` by a table of 512 leaves one level down with
   * the block's permissions and frames, table pages from `cache`. Stops
   * quietly where the path is unmapped or the cache is empty. True when a
   * block was split (its translation may sit in a TLB: the caller flushes).
   */
  splitHuge(cache: KvmMmuMemoryCache, gpa: number, targetLevel: number): boolean {
    this.checkGpa(gpa, 'gstage_split_huge');
    let split = false;
    let p = this.rootPtep(gpa);
    while (p.level > targetLevel) {
      const pte = this.readLo(p);
      if ((pte & PTE_V) === 0) break;
      if ((pte & PTE_RWX) !== 0) {
        if (cache.count === 0) break;
        const ppn = this.ppnOf(p);
        const flags = pte & 0x3ff;
        const child = cache.alloc();
        this.tablePages++;
        const step = GSTAGE_LEVEL_SIZE[p.level - 1]! / 4096;
        for (let i = 0; i < 512; i++)
          this.write({ pfn: child, idx: i, level: p.level - 1 }, ppn + i * step, flags);
        this.write(p, child, PTE_V);
        split = true;
      }
      p = { pfn: this.ppnOf(p), idx: this.index(gpa, p.level - 1), level: p.level - 1 };
    }
    return split;
  }

  /** Free the table pages below the `entries` entries at `pfn` (a table at `level`), not `pfn` itself. */
  private freeTable(pfn: number, level: number, entries: number): void {
    for (let i = 0; i < entries; i++) {
      const p = { pfn: pfn + (i >>> 9), idx: i & 511, level };
      const lo = this.readLo(p);
      if ((lo & PTE_V) === 0 || (lo & PTE_RWX) !== 0 || level === 0) continue;
      const child = this.ppnOf(p);
      this.freeTable(child, level - 1, 512);
      this.phys.putPage(child);
      this.views.delete(child);
      this.tablePages--;
    }
  }

  /** Free every table page and the root (kvm_riscv_gstage_free_pgd()); idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.freeTable(this.pgdPfn, this.levels - 1, 2048);
    this.phys.freeFrames(this.pgdPfn, GSTAGE_PGD_PAGES);
    this.views.clear();
  }
}
