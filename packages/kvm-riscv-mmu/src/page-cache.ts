import { fail } from '@tsvirt/core-bus';
import type { HostPhysMemory } from '@tsvirt/host-mm';

/**
 * struct kvm_mmu_memory_cache: page-table pages allocated before the MMU lock
 * is taken (kvm_mmu_topup_memory_cache()), so the table walk under the lock
 * never allocates and cannot fail half way through a mapping.
 */
export class KvmMmuMemoryCache {
  private readonly objects: number[] = [];

  constructor(
    private readonly phys: HostPhysMemory,
    /** KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE: how many pages a top-up aims for. */
    readonly capacity = 40,
  ) {}

  /** Number of pages held. */
  get count(): number {
    return this.objects.length;
  }

  /** Fill to `capacity` when fewer than `min` pages are ready; ENOMEM (cache as it was, plus what fitted) on exhaustion. */
  topup(min: number): void {
    if (this.objects.length >= min) return;
    while (this.objects.length < this.capacity) {
      let pfn: number;
      try {
        pfn = this.phys.allocFrame();
      } catch (e) {
        if (this.objects.length >= min) return;
        throw e;
      }
      this.objects.push(pfn);
    }
  }

  /** kvm_mmu_memory_cache_alloc(): a zeroed page; only valid after a successful top-up. */
  alloc(): number {
    const pfn = this.objects.pop();
    if (pfn === undefined) return fail('ENOMEM', 'page-table cache is empty (no top-up before the lock)');
    this.phys.frame(pfn).fill(0);
    return pfn;
  }

  /** kvm_mmu_free_memory_cache(). */
  free(): void {
    for (const pfn of this.objects) this.phys.putPage(pfn);
    this.objects.length = 0;
  }
}
