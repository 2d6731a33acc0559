/** Why `Hart.run()` returned. */
export type ExitKind =
  /** The instruction budget ran out; the guest can simply be resumed. */
  | 'budget'
  /** ecall not delegated to VS (from VS: cause 10, the SBI call). pc is at the ecall. */
  | 'ecall'
  /** wfi trapped as a virtual instruction (hstatus.VTW=1, as KVM runs guests). pc is at the wfi. */
  | 'wfi'
  /** wfi completed with nothing pending (hstatus.VTW=0): the hart idles; pc is past the wfi. */
  | 'idle'
  /** Zihintpause `pause` with Hart.pauseExits set: retired, pc is past it; resume at will. */
  | 'pause'
  /** Guest-page fault (cause 20/21/23): htval = GPA >> 2, htinst = transformed instruction or 0. */
  | 'guest-page-fault'
  /** Virtual-instruction exception (cause 22) other than wfi; tval = instruction bits. */
  | 'virtual-instruction'
  /** Illegal instruction not delegated to VS; tval = instruction bits. */
  | 'illegal-instruction'
  /** Any other exception not delegated to VS (access faults, undelegated page faults, ...). */
  | 'exception'
  /** A pending VS-level interrupt that hideleg does not delegate: it traps to HS. */
  | 'interrupt';

/**
 * The exit record: what HS-mode would see in scause/stval/htval/htinst/sepc
 * and hstatus (SPV, SPVP, GVA) for the trap that ended the run. The hart is
 * left in the guest mode at `pc` (the trapping instruction), so the caller
 * handles the exit and calls `run()` again, e.g. after `pc += 4` for an ecall.
 */
export interface HartExit {
  /** Why the run ended. */
  kind: ExitKind;
  /** Exception or interrupt code (scause without the interrupt bit); -1 for budget/idle. */
  cause: number;
  /** The trap was an interrupt. */
  interrupt: boolean;
  /** stval: the trap value. */
  tval: bigint;
  /** htval: guest physical address >> 2 of a guest-page fault. */
  htval: bigint;
  /** htinst: the transformed trapping instruction, or 0. */
  htinst: bigint;
  /** sepc: the pc of the trapping instruction (or where the guest resumes for budget/idle). */
  pc: bigint;
  /** hstatus.SPV: the virtualization mode the trap came from. */
  v: number;
  /** The privilege it came from (hstatus.SPVP when v = 1): 1 = S/VS, 0 = U/VU. */
  priv: number;
  /** hstatus.GVA: tval holds a guest virtual address. */
  gva: boolean;
  /** Instructions retired by this run() call. */
  retired: number;
  /**
   * What this run() used of its budget: the instructions retired plus
   * JIT_COMPILE_CHARGE for each block compiled. A 'budget' exit means this
   * reached the budget, though fewer instructions may have retired.
   */
  charged: number;
}
