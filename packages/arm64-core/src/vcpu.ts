import type { Arm64Exit } from './exit.ts';

/**
 * The contract between the CPU (this package) and KVM arm64 (`@tsvirt/kvm-arm`):
 * an AArch64 PE whose EL2 is the TypeScript hypervisor. KVM programs the EL2
 * controls (HCR_EL2, VTTBR_EL2/VTCR_EL2 for stage 2, the virtual interrupt
 * lines, CNTVOFF_EL2) and calls run(); stage 2 is walked by the CPU from page
 * tables KVM writes in host memory, so a missing mapping is a stage-2 abort
 * exit, as on hardware.
 */
export interface Arm64Vcpu {
  /**
   * Run at most `budget` steps (an instruction retired, or an exception or
   * interrupt taken at EL1), or until something is taken to EL2.
   */
  run(budget: number): Arm64Exit;
  /** General purpose registers X0-X30. */
  readonly x: BigUint64Array;
  /**
   * V0-V31 as 64-bit halves (V[n] = v[2n] | v[2n+1] << 64), the FP/SIMD part
   * of KVM's core registers; FPSR/FPCR go through getSysReg/setSysReg.
   */
  readonly v: BigUint64Array;
  /** The program counter. */
  pc: bigint;
  /** PSTATE as SPSR_ELx lays it out (NZCV, DAIF, M[3:0], SP select). */
  pstate: number;
  /** SP_EL0. */
  spEl0: bigint;
  /** SP_EL1. */
  spEl1: bigint;
  /**
   * An EL1/EL0 system register (or an EL2 control) by its MRS/MSR encoding
   * op0:op1:CRn:CRm:op2 packed as KVM's ARM64_SYS_REG() packs it
   * (op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2); undefined for
   * one this CPU does not implement.
   */
  getSysReg(enc: number): bigint | undefined;
  /** Set one; false when the CPU does not implement it. */
  setSysReg(enc: number, value: bigint): boolean;
  /** The encodings getSysReg accepts for guest-visible registers (KVM_GET_REG_LIST). */
  sysRegList(): number[];
  /**
   * Architectural reset of the EL1/EL0 state (KVM_ARM_VCPU_INIT): registers
   * zero, PSTATE EL1h with DAIF masked, EL1 system registers at reset; the
   * EL2 controls and ID registers are kept.
   */
  reset(): void;
  /**
   * Make MRS/MSR at EL1 of these encodings exit to EL2 ('trap', EC 0x18,
   * ISS Op0/Op2/Op1/CRn/Rt/CRm/Direction, PC at the instruction), whether or
   * not the CPU implements them: registers the hypervisor emulates, such as
   * the GICv3 CPU interface (ICC_*), which KVM reaches through ICH_HCR_EL2
   * traps. The hypervisor completes a read by writing X[Rt], then skips it.
   */
  trapSysRegs(encs: Iterable<number>, trapped?: boolean): void;
  /** HCR_EL2.VI / VF: the virtual IRQ and FIQ lines into EL1 (a GIC's output). */
  setVirtualIrq(level: boolean): void;
  /** The virtual FIQ line (HCR_EL2.VF). */
  setVirtualFiq(level: boolean): void;
  /** Invalidate all cached translations (TLBI VMALLS12E1 from EL2, after stage-2 changes). */
  flushTlb(): void;
  /**
   * The EL1 virtual timer's output (CNTV_CTL_EL0 ENABLE, not IMASK, and
   * CNTVCT >= CNTV_CVAL): the level of PPI 27 into the GIC.
   */
  vtimerLevel(): boolean;
  /** The EL1 physical timer's output (CNTP_*): the level of PPI 30. */
  ptimerLevel(): boolean;
}
