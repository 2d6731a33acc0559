import { fail } from '@tsvirt/core-bus';
import { type HostPhysMemory, VM_PFNMAP, VM_WRITE } from '@tsvirt/host-mm';
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
import { PAGE_SIZE, Stage2PageTable } from './stage2.ts';

/** What a stage-2 fault became: a page was mapped (resume), or it is not RAM (MMIO). */
export type Stage2FaultResult = 'mapped' | 'mmio';

/** Counters of a VM's stage-2 MMU. */
export interface KvmArmMmuStats {
  /** Stage-2 faults handled. */
  faults: number;
  /** Pages mapped. */
  mapped: number;
  /** Faults outside RAM (or writes to a read-only slot). */
  mmio: number;
  /** Write faults on a write-protected (dirty-logged) page made writable. */
  dirtyFaults: number;
}

/**
 * The per-VM stage-2 MMU (arch/arm64/kvm/mmu.c): the table, user_mem_abort()
 * mapping memslot pages on fault, and the memslot, MMU-notifier and
 * dirty-log hooks. 4 KiB pages only; changes that can leave stale
 * translations end with vm.flushRemoteTlbs().
 */
export class KvmArmMmu {
  /** The VM's stage-2 table. */
  readonly pgt: Stage2PageTable;
  /** Counters. */
  readonly stats: KvmArmMmuStats = { faults: 0, mapped: 0, mmio: 0, dirtyFaults: 0 };

  constructor(
    /** The VM translated for. */
    readonly vm: KvmVm,
    /** Host memory the tables and the guest's pages live in. */
    readonly phys: HostPhysMemory,
    vmid = 1,
  ) {
    this.pgt = new Stage2PageTable(phys, vmid);
  }

  /**
   * kvm_arch_prepare_memory_region(): a created, moved or flag-changed slot
   * must end inside the IPA space (EFAULT), and may not log dirty pages
   * over a VM_PFNMAP VMA (EINVAL).
   */
  prepareMemoryRegion(next: KvmMemorySlot | undefined, change: KvmMrChange): void {
    if (change !== KVM_MR_CREATE && change !== KVM_MR_MOVE && change !== KVM_MR_FLAGS_ONLY) return;
    if (next === undefined) return;
    const S = 'KVM_SET_USER_MEMORY_REGION';
    if ((next.baseGfn + next.npages) * PAGE_SIZE > this.pgt.ipaSize)
      fail('EFAULT', `slot ends beyond the ${this.pgt.ipaBits}-bit IPA space`, S);
    const mm = this.vm.mm;
    if (mm === undefined || (next.flags & KVM_MEM_LOG_DIRTY_PAGES) === 0) return;
    const end = next.userspaceAddr + next.npages * PAGE_SIZE;
    for (const vma of mm.vmaList) {
      if (vma.end <= next.userspaceAddr || vma.start >= end) continue;
      if ((vma.flags & VM_PFNMAP) !== 0) fail('EINVAL', 'dirty logging on a VM_PFNMAP slot', S);
    }
  }

  /** kvm_arch_flush_shadow_memslot(). */
  flushShadowMemslot(slot: KvmMemorySlot): void {
    if (this.pgt.unmapRange(slot.baseGfn * PAGE_SIZE, slot.npages * PAGE_SIZE)) this.vm.flushRemoteTlbs();
  }

  /** kvm_unmap_gfn_range() from the MMU notifier. */
  unmapGfnRange(start: number, end: number): void {
    if (this.pgt.unmapRange(start * PAGE_SIZE, (end - start) * PAGE_SIZE)) this.vm.flushRemoteTlbs();
  }

  /** kvm_arch_flush_shadow_all(). */
  flushShadowAll(): void {
    if (this.pgt.unmapRange(0, this.pgt.ipaSize)) this.vm.flushRemoteTlbs();
  }

  /** kvm_arch_mmu_enable_log_dirty_pt_masked(): write-protect the pages of the mask's bits (the caller flushes). */
  enableLogDirtyPtMasked(slot: KvmMemorySlot, gfnOffset: number, mask: bigint): void {
    let m = mask;
    for (let i = 0; m !== 0n; i++, m >>= 1n) {
      if ((m & 1n) === 0n) continue;
      this.pgt.wrprotectRange((slot.baseGfn + gfnOffset + i) * PAGE_SIZE, PAGE_SIZE);
    }
  }

  /** kvm_mmu_wp_memory_region(): logging switched on; the caller flushes. */
  writeProtectMemslot(slot: KvmMemorySlot): void {
    this.pgt.wrprotectRange(slot.baseGfn * PAGE_SIZE, slot.npages * PAGE_SIZE);
  }

  /**
   * The memslot part of kvm_handle_guest_abort() and user_mem_abort(): a
   * fault outside every memslot, or a write to a read-only one, is MMIO;
   * otherwise the page is mapped from the host translation, read-only where
   * the slot or VMA is, and in a dirty-logged slot writable only on a write
   * fault (which logs the page). EFAULT when the hva has no usable mapping.
   */
  handleFault(ipa: number, write: boolean): Stage2FaultResult {
    this.stats.faults++;
    const vm = this.vm;
    const gfn = Math.floor(ipa / PAGE_SIZE);
    const slot = vm.gfnToMemslot(gfn);
    const readOnlySlot = slot !== undefined && (slot.flags & KVM_MEM_READONLY) !== 0;
    if (slot === undefined || slot.invalid || (write && readOnlySlot)) {
      this.stats.mmio++;
      return 'mmio';
    }
    const mm = vm.mm;
    if (mm === undefined) return fail('EFAULT', 'the VM has no owner mm to translate memslots through');
    const hva = slot.gfnToHva(gfn);
    const vma = mm.findVma(hva);
    if (vma === undefined)
      return fail('EFAULT', `no VMA at hva 0x${hva.toString(16)} for gfn 0x${gfn.toString(16)}`);
    const logging = slot.dirtyBitmap !== undefined && !readOnlySlot;
    let writable = !readOnlySlot && (vma.flags & VM_WRITE) !== 0;
    if ((vma.flags & VM_PFNMAP) !== 0 && writable && ((mm.pteProtOf(hva)?.access ?? 0) & VM_WRITE) === 0)
      writable = false;
    // A write fault on a logged page that is mapped read-only: the fault
    // that the write protection is there to catch.
    const leaf = this.pgt.getLeaf(gfn * PAGE_SIZE);
    if (write && leaf !== undefined && !leaf.writable) this.stats.dirtyFaults++;
    if (logging && !write) writable = false;
    const pfn = mm.hvaToPfn(hva, write);
    if (writable) vm.markPageDirty(gfn);
    const replaced = this.pgt.map(gfn * PAGE_SIZE, pfn, writable, () => this.phys.allocFrame());
    this.stats.mapped++;
    if (replaced) vm.flushRemoteTlbs();
    return 'mapped';
  }

  /** Free the table (kvm_arch_destroy_vm()). */
  destroy(): void {
    this.pgt.free();
  }
}
