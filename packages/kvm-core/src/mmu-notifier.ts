import type { MmuNotifier } from '@tsvirt/host-mm';
import { PAGE_SIZE } from './uapi.ts';
import type { KvmVm } from './vm.ts';

/**
 * KVM's MMU notifier on the VM owner's address space
 * (kvm_init_mmu_notifier): when host translations of [start, end) change,
 * every memslot backed by part of that range has the matching gfns unmapped
 * from the stage-2 tables through the arch (kvm_mmu_notifier_invalidate_range_start
 * -> kvm_unmap_gfn_range), and mmu_invalidate_seq moves on so a fault that
 * raced with it retries. On exit_mmap the whole stage-2 goes (->release).
 */
export class KvmMmuNotifier implements MmuNotifier {
  constructor(private readonly vm: KvmVm) {}

  /** Unmap the guest pages backed by [start, end) and bump mmu_invalidate_seq. */
  invalidateRange(start: number, end: number): void {
    const vm = this.vm;
    if (vm.dead) return;
    vm.mmuInvalidateSeq++;
    const unmap = vm.archOps.unmapGfnRange;
    if (unmap === undefined) return;
    for (const slot of vm.allMemslots()) {
      const sStart = slot.userspaceAddr;
      const sEnd = sStart + slot.npages * PAGE_SIZE;
      const hStart = Math.max(start, sStart);
      const hEnd = Math.min(end, sEnd);
      if (hStart >= hEnd) continue;
      // hva_to_gfn_memslot() of the first byte and of the last page touched.
      const gStart = slot.baseGfn + Math.floor((hStart - sStart) / PAGE_SIZE);
      const gEnd = slot.baseGfn + Math.ceil((hEnd - sStart) / PAGE_SIZE);
      unmap.call(vm.archOps, vm, slot, gStart, gEnd);
    }
  }

  release(): void {
    if (this.vm.dead) return;
    this.vm.mmuInvalidateSeq++;
    this.vm.archOps.flushShadowAll?.(this.vm);
  }
}
