/**
 * Thrown (one shared object, never an Error) by any part of an instruction
 * that takes an exception; the hart has already recorded cause, tval, htval,
 * htinst and GVA in its pending-trap fields. Caught by the run loop only.
 */
export const TRAP: { readonly trap: true } = Object.freeze({ trap: true });

/**
 * What taking one trap costs against run()'s budget, in instructions. A trap
 * retires nothing, yet on hardware it takes cycles (tens: the pipeline is
 * flushed and refilled at the vector) and the host's timer still preempts: a
 * guest whose handler itself traps (vstvec at an illegal instruction or on
 * an unmapped page) must not hold its vCPU's thread. Here a trap costs the
 * host about what a hundred interpreted instructions do (1 us into VS, 2 us
 * out to KVM and redirected back, against 10 ns), so at 1 a trap storm made
 * a 50,000-instruction quantum last over 100 ms; at 32 it stays a few ms.
 * Charged, not retired: instret and the guest's clock do not move.
 */
export const TRAP_CHARGE = 32;

/** What a trap records before TRAP is thrown. */
export class PendingTrap {
  /** Exception or interrupt code (scause). */
  cause = 0;
  /** Trap value (stval). */
  tval = 0n;
  /** Guest physical address >> 2 for a guest-page fault (htval). */
  htval = 0n;
  /** Transformed instruction (htinst). */
  htinst = 0;
  /** The trap value is a guest virtual address (hstatus.GVA). */
  gva = false;
}

/** 64-bit value of a (lo, hi) int32 pair as an unsigned bigint. */
export function u64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
