import { fail } from '@tsvirt/core-bus';
import { type HostPhysMemory, type MmStruct, VM_PFNMAP, VM_WRITE } from '@tsvirt/host-mm';
import {
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  KVM_MR_CREATE,
  KVM_MR_FLAGS_ONLY,
  KVM_MR_MOVE,
  type KvmMemorySlot,
  type KvmMrChange,
  type KvmVm,
} from '@tsvirt/kvm-core';
import { GSTAGE_LEVEL_SIZE, HGATP_MODE_SV48X4, PAGE_SIZE, PMD_SIZE } from './constants.ts';
import { GStage } from './gstage.ts';
import { KvmMmuMemoryCache } from './page-cache.ts';

/** What a guest-page fault became (kvm_riscv_vcpu_exit()'s gstage_page_fault()). */
export type GStageFaultResult = 'mapped' | 'mmio';

/** Counters of a VM's G-stage MMU: faults, leaves mapped per size, MMIO faults and retries. */
export interface KvmRiscvMmuStats {
  /** G-stage faults handled. */
  faults: number;
  /** 4 KiB leaves mapped. */
  mapped4k: number;
  /** 2 MiB leaves mapped. */
  mapped2m: number;
  /** 1 GiB leaves mapped. */
  mapped1g: number;
  /** Faults outside any memslot (MMIO exits). */
  mmio: number;
  /** Faults retried because an MMU-notifier invalidation raced with them. */
  retries: number;
}

/**
 * The per-VM G-stage MMU (arch/riscv/kvm/mmu.c): the table, its page cache,
 * the fault handler and the memslot / dirty-log / MMU-notifier hooks.
 * Changes that can leave stale translations end with vm.flushRemoteTlbs(),
 * which kvm-riscv answers by flushing every hart of the VM.
 */
export class KvmRiscvMmu {
  /** The VM's G-stage page table. */
  readonly gstage: GStage;
  /** Preallocated table pages (kvm_mmu_memory_cache). */
  readonly cache: KvmMmuMemoryCache;
  /** Host physical memory the tables live in. */
  readonly phys: HostPhysMemory;
  /** Fault and mapping counters. */
  readonly stats: KvmRiscvMmuStats = {
    faults: 0,
    mapped4k: 0,
    mapped2m: 0,
    mapped1g: 0,
    mmio: 0,
    retries: 0,
  };
  /** The modelled kvm->mmu_lock: held across the table update only. */
  locked = false;

  constructor(
    /** The VM this MMU translates for. */
    readonly vm: KvmVm,
    opts: { phys: HostPhysMemory; mode?: number; vmid?: number },
  ) {
    this.phys = opts.phys;
    this.gstage = new GStage(opts.phys, opts.mode ?? HGATP_MODE_SV48X4, opts.vmid ?? 1);
    this.cache = new KvmMmuMemoryCache(opts.phys);
  }

  /** The hgatp value: mode, VMID and root table. */
  get hgatp(): bigint {
    return this.gstage.hgatp;
  }

  private get mm(): MmStruct {
    const mm = this.vm.mm;
    if (mm === undefined) return fail('EFAULT', 'the VM has no owner mm to translate memslots through');
    return mm;
  }

  /**
   * kvm_arch_prepare_memory_region(), with upstream's checks: only a
   * created, moved or flags-changed slot is checked; it must fit the
   * G-stage's guest physical space (EFAULT); then every VMA the slot's hva
   * range meets, in address order and across holes
   * (find_vma_intersection()), is checked: a writable slot over a VMA
   * without VM_WRITE is EPERM, and a VM_PFNMAP VMA under a slot that logs
   * dirty pages is EINVAL; the first refusal wins. Nothing is mapped here:
   * the v10 seed ioremapped VM_PFNMAP ranges at vm_pgoff now, upstream
   * (and this model) maps them on fault, through the VMA.
   */
  prepareMemoryRegion(next: KvmMemorySlot | undefined, change: KvmMrChange): void {
    if (change !== KVM_MR_CREATE && change !== KVM_MR_MOVE && change !== KVM_MR_FLAGS_ONLY) return;
    if (next === undefined) return;
    const S = 'KVM_SET_USER_MEMORY_REGION';
    if (next.baseGfn + next.npages >= this.gstage.gpaSize / PAGE_SIZE)
      fail('EFAULT', `slot ends beyond the ${this.gstage.gpaBits}-bit guest physical space`, S);
    const mm = this.vm.mm;
    if (mm === undefined) return;
    const writable = (next.flags & KVM_MEM_READONLY) === 0;
    const logging = (next.flags & KVM_MEM_LOG_DIRTY_PAGES) !== 0;
    const start = next.userspaceAddr;
    const end = start + next.npages * PAGE_SIZE;
    const vmas = mm.vmaList;
    // The first VMA ending above the slot's start (the list is in address order).
    let lo = 0;
    let hi = vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (vmas[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < vmas.length && vmas[i]!.start < end; i++) {
      const vma = vmas[i]!;
      if (writable && (vma.flags & VM_WRITE) === 0)
        fail('EPERM', `writable slot over a read-only VMA at 0x${vma.start.toString(16)}`, S);
      if (logging && (vma.flags & VM_PFNMAP) !== 0) fail('EINVAL', 'dirty logging on a VM_PFNMAP slot', S);
    }
  }

  /** Drop every mapping of a slot (kvm_arch_flush_shadow_memslot()). */
  flushShadowMemslot(slot: KvmMemorySlot): void {
    if (this.gstage.zapRange(slot.baseGfn * PAGE_SIZE, slot.npages * PAGE_SIZE)) this.vm.flushRemoteTlbs();
  }

  /** kvm_unmap_gfn_range() from the MMU notifier: a huge leaf partly covered goes whole, so no stale frame stays mapped. */
  unmapGfnRange(start: number, end: number): void {
    if (this.gstage.zapRange(start * PAGE_SIZE, (end - start) * PAGE_SIZE)) this.vm.flushRemoteTlbs();
  }

  /** kvm_arch_flush_shadow_all(). */
  flushShadowAll(): void {
    if (this.gstage.zapRange(0, this.gstage.gpaSize)) this.vm.flushRemoteTlbs();
  }

  /**
   * kvm_arch_mmu_enable_log_dirty_pt_masked(): write-protect the pages of
   * `slot` at gfnOffset + i for each bit i of `mask`
   * (kvm_riscv_gstage_wp_pt_masked(): exactly those pages; a huge leaf over
   * one of them loses W whole). With KVM_DIRTY_LOG_INITIALLY_SET nothing was
   * split when logging started, so the blocks from the first to the last
   * marked page are split to 4 KiB now (eager_page_split, on by default
   * upstream), for the guest's next writes to be logged page by page. The
   * caller (kvm-core) flushes the TLBs once for the whole ioctl.
   */
  enableLogDirtyPtMasked(slot: KvmMemorySlot, gfnOffset: number, mask: bigint): void {
    const lo = Number(mask & 0xffff_ffffn);
    const hi = Number((mask >> 32n) & 0xffff_ffffn);
    if ((lo | hi) === 0) return;
    const base = slot.baseGfn + gfnOffset;
    const done = this.gstage.wpPtMasked(base, lo, hi);
    // Only blocks under marked pages can be split (the range is at most 64
    // pages: the 2 MiB blocks of its first and last page), so a mask that met
    // none has nothing for mmu_split_huge_pages() to do.
    if (done.huge && this.vm.dirtyLogInitiallySet) {
      const first = lo !== 0 ? 31 - Math.clz32(lo & -lo) : 63 - Math.clz32(hi & -hi);
      const last = hi !== 0 ? 63 - Math.clz32(hi) : 31 - Math.clz32(lo);
      this.splitHugePages((base + first) * PAGE_SIZE, (base + last + 1) * PAGE_SIZE);
    }
  }

  /**
   * mmu_split_huge_pages(): split every block leaf in the 2 MiB blocks from
   * `start` to `end` down to 4 KiB, topping the cache up for each
   * (kvm->arch.pgd_split_page_cache); stops quietly when no page is left, as
   * upstream does. True when something was split.
   */
  private splitHugePages(start: number, end: number): boolean {
    const g = this.gstage;
    let split = false;
    for (let addr = Math.floor(start / PMD_SIZE) * PMD_SIZE; addr < end; addr += PMD_SIZE) {
      try {
        this.cache.topup(g.levels);
      } catch {
        break;
      }
      split = g.splitHuge(this.cache, addr, 0) || split;
    }
    return split;
  }

  /**
   * Logging switched on (mmu_wp_memory_region() then mmu_split_memory_region()):
   * every leaf of the slot loses W, huge ones whole, then the blocks are split
   * to 4 KiB pages. The caller flushes.
   */
  writeProtectMemslot(slot: KvmMemorySlot): void {
    const g = this.gstage;
    const start = slot.baseGfn * PAGE_SIZE;
    const end = start + slot.npages * PAGE_SIZE;
    let huge = false;
    let addr = start;
    const stop = { level: 0 };
    while (addr < end) {
      const leaf = g.getLeaf(addr, stop);
      const size = GSTAGE_LEVEL_SIZE[leaf ? leaf.level : stop.level]!;
      addr = Math.floor(addr / size) * size;
      if (leaf !== undefined) {
        g.wpRange(addr, size);
        if (leaf.level > 0) huge = true;
      }
      addr += size;
    }
    if (huge) this.splitHugePages(start, end);
  }

  /**
   * kvm_riscv_gstage_page_fault() behind gstage_page_fault(): a fault outside
   * every memslot, or a write to a read-only slot, is MMIO; otherwise the
   * page (or a 2 MiB / 1 GiB block when the backing VMA's page size and the
   * slot's alignment allow, and the slot does not log) is mapped from the
   * host translation, read-only where the slot or VMA is, and for a logging
   * slot writable only on a write fault (which marks the page dirty). EFAULT
   * when the hva has no usable mapping; ENOMEM when no table page is left.
   */
  handleFault(gpa: number, write: boolean): GStageFaultResult {
    this.stats.faults++;
    const vm = this.vm;
    const gfn = Math.floor(gpa / PAGE_SIZE);
    const slot = vm.gfnToMemslot(gfn);
    const readOnlySlot = slot !== undefined && (slot.flags & KVM_MEM_READONLY) !== 0;
    if (slot === undefined || slot.invalid || (write && readOnlySlot)) {
      this.stats.mmio++;
      return 'mmio';
    }
    const mm = this.mm;
    const seq = vm.mmuInvalidateSeq;
    const hva = slot.gfnToHva(gfn);
    const vma = mm.findVma(hva);
    if (vma === undefined)
      return fail('EFAULT', `no VMA at hva 0x${hva.toString(16)} for gfn 0x${gfn.toString(16)}`);
    const logging = slot.dirtyBitmap !== undefined && !readOnlySlot;
    const pfnmap = (vma.flags & VM_PFNMAP) !== 0;
    // hva_to_pfn(): through the VMA's own translation (its fault handler for VM_PFNMAP).
    let pfn = mm.hvaToPfn(hva, write);
    // transparent_hugepage_adjust(): a block where the host page (hugetlb or
    // THP) is one and the slot allows it; never while logging or for PFNMAP.
    let size = PAGE_SIZE;
    if (!logging && !pfnmap) {
      const host = mm.pageSizeAt(hva);
      if (host > PAGE_SIZE && this.hugeFits(slot, gfn, hva, host, vma.start, vma.end)) {
        size = host;
        pfn -= Math.floor((hva % host) / PAGE_SIZE);
      }
    }
    const gpaBase = Math.floor(gpa / size) * size;
    let writable = !readOnlySlot && (vma.flags & VM_WRITE) !== 0;
    // hva_to_pfn_remapped(): a VM_PFNMAP page is writable only where its own
    // entry is (a driver may map part of a writable VMA read-only); a write
    // fault has already made it writable or failed in hvaToPfn().
    if (pfnmap && writable && ((mm.pteProtOf(hva)?.access ?? 0) & VM_WRITE) === 0) writable = false;
    if (logging && !write) writable = false;
    // Top up before taking the lock; the walk under it never allocates.
    this.cache.topup(this.gstage.levels - 1);
    this.locked = true;
    try {
      if (vm.mmuInvalidateSeq !== seq) {
        // mmu_invalidate_retry(): an invalidation raced; let the guest refault.
        this.stats.retries++;
        return 'mapped';
      }
      if (writable) vm.markPageDirty(gfn);
      // kvm_riscv_gstage_map_page(): a block over the page while logging
      // maps 4 KiB (a block write-protected when logging started) is split
      // first, and that flushes.
      const old = this.gstage.getLeaf(gpaBase);
      const split =
        old !== undefined &&
        GSTAGE_LEVEL_SIZE[old.level]! > size &&
        this.gstage.splitHuge(this.cache, gpaBase, GSTAGE_LEVEL_SIZE.indexOf(size as 4096));
      const replaced = this.gstage.map(this.cache, gpaBase, pfn, size, !writable) || split;
      if (size === PAGE_SIZE) this.stats.mapped4k++;
      else if (size === GSTAGE_LEVEL_SIZE[1]) this.stats.mapped2m++;
      else this.stats.mapped1g++;
      if (replaced) vm.flushRemoteTlbs();
    } finally {
      this.locked = false;
    }
    return 'mapped';
  }

  /**
   * fault_supports_stage2_huge_mapping(): the block must lie inside the
   * slot and the VMA, with gpa and hva congruent modulo its size.
   */
  private hugeFits(
    slot: KvmMemorySlot,
    gfn: number,
    hva: number,
    size: number,
    vStart: number,
    vEnd: number,
  ): boolean {
    const gpa = gfn * PAGE_SIZE;
    if ((slot.userspaceAddr - slot.baseGfn * PAGE_SIZE) % size !== 0) return false;
    const gStart = Math.floor(gpa / size) * size;
    if (gStart < slot.baseGfn * PAGE_SIZE || gStart + size > slot.endGfn * PAGE_SIZE) return false;
    const hStart = hva - (gpa - gStart);
    return hStart >= vStart && hStart + size <= vEnd;
  }

  /** Free the whole table and the page cache (kvm_arch_destroy_vm()). */
  destroy(): void {
    this.gstage.free();
    this.cache.free();
  }
}
