import { HGATP_VMID_BITS } from './constants.ts';

/**
 * The VMID allocator (kvm_riscv_gstage_vmid_*): VMID 0 stays the host's;
 * guests get 1, 2, ... When the space wraps every VM must be re-assigned,
 * which `generation` tells callers (they then flush all G-stage TLBs).
 */
export class VmidAllocator {
  private next = 1;
  /** Bumped each time the VMID space wraps. */
  generation = 1;

  constructor(
    /** Width of the VMID field. */
    readonly bits = HGATP_VMID_BITS,
  ) {}

  /** A new VMID; may start a new generation. */
  alloc(): number {
    const max = 1 << this.bits;
    if (this.next >= max) {
      this.next = 1;
      this.generation++;
    }
    return this.next++;
  }
}
