/**
 * Host physical memory as the vCPU sees it after stage 2: one 4 KiB frame per
 * pfn, exactly 4096 bytes (host-mm's `frame(pfn)` satisfies this). `undefined`
 * means no memory there: the access is an external abort.
 */
export interface PhysMemory {
  /** The 4 KiB frame of `pfn`, or undefined for no memory there. */
  frame(pfn: number): Uint8Array | undefined;
}
