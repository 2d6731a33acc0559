/**
 * An MMU notifier (struct mmu_notifier_ops, reduced to what its users need):
 * told before the translations of [start, end) change or go away, so a
 * secondary MMU (KVM's G-stage tables, a device IOTLB) drops its copies.
 */
export interface MmuNotifier {
  /** Translations of [start, end) are about to change (invalidate_range_start). */
  invalidateRange(start: number, end: number): void;
  /** The address space is being torn down (mmu_notifier_ops->release). */
  release?(): void;
}
