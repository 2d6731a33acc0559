/**
 * Why `Arm64Vcpu.run()` returned. A guest runs at EL1/EL0 under a hypervisor
 * at EL2; whatever the CPU would take to EL2 ends the run, and the record
 * carries the EL2 syndrome registers KVM's handle_exit() reads.
 */
export type Arm64ExitKind =
  /** The instruction budget ran out; the guest can simply be resumed. */
  | 'budget'
  /** A synchronous exception taken to EL2: `esr` says which (ESR_EL2.EC). */
  | 'trap'
  /** A physical IRQ/FIQ routed to EL2 (HCR_EL2.IMO/FMO with the line raised by the host side). */
  | 'irq';

/** ESR_EL2 exception classes KVM arm64 handles (Arm ARM D17.2.37). */
export const ESR_EC_UNKNOWN = 0x00;
/** EC 0x01: WFI or WFE trapped by HCR_EL2.TWI/TWE (ISS.TI: 0 WFI, 1 WFE). */
export const ESR_EC_WFX = 0x01;
/** EC 0x16: HVC from AArch64 (ISS = imm16). */
export const ESR_EC_HVC64 = 0x16;
/** EC 0x17: SMC from AArch64 trapped by HCR_EL2.TSC (ISS = imm16). */
export const ESR_EC_SMC64 = 0x17;
/** EC 0x18: a trapped MSR/MRS/SYS (ISS: Op0, Op2, Op1, CRn, Rt, CRm, Direction). */
export const ESR_EC_SYS64 = 0x18;
/** EC 0x20: instruction abort from a lower EL (a stage-2 fault on a fetch). */
export const ESR_EC_IABT_LOW = 0x20;
/** EC 0x24: data abort from a lower EL (a stage-2 fault: MMIO or an unmapped page). */
export const ESR_EC_DABT_LOW = 0x24;

/** The exit record: what EL2 would see in ESR_EL2, FAR_EL2 and HPFAR_EL2. */
export interface Arm64Exit {
  /** Why the run ended. */
  kind: Arm64ExitKind;
  /** ESR_EL2: EC << 26 | IL << 25 | ISS, for 'trap'; 0 otherwise. */
  esr: number;
  /** FAR_EL2: the faulting virtual address of an abort. */
  far: bigint;
  /** HPFAR_EL2: IPA[51:12] in bits [43:4] of a stage-2 abort. */
  hpfar: bigint;
  /**
   * The PC of the trapping instruction (ELR_EL2). For HVC/SMC the
   * architecture's preferred return is the next instruction; KVM's
   * handlers adjust as upstream does (kvm_incr_pc for SMC).
   */
  pc: bigint;
  /** Instructions retired by this run() call. */
  retired: number;
}
