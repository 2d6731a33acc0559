import type { ArmVcpuRegs } from '@tsvirt/kvm-arm-psci';
import { KVM_VTCR_40BIT } from './stage2.ts';
import type { ArmVcpuState } from './state.ts';
import {
  HCR_GUEST_FLAGS,
  SCTLR_ELX_EE,
  SYS_HCR_EL2,
  SYS_SCTLR_EL1,
  SYS_VMPIDR_EL2,
  SYS_VTCR_EL2,
  SYS_VTTBR_EL2,
  VCPU_RESET_PSTATE_EL1,
} from './sysregs.ts';

/**
 * kvm_reset_vcpu() for a 64-bit vCPU: the CPU's architectural reset
 * (general, vector and EL1 system registers, PSTATE EL1h with DAIF masked;
 * the EL2 controls KVM wrote are kept), big-endian data when a CPU_ON
 * caller was (SCTLR_EL1.EE).
 */
export function resetVcpu(s: ArmVcpuState, bigEndian = false): void {
  const cpu = s.cpu;
  cpu.reset();
  cpu.pstate = VCPU_RESET_PSTATE_EL1;
  s.spsrAa32.fill(0n);
  const sctlr = cpu.getSysReg(SYS_SCTLR_EL1);
  if (sctlr !== undefined)
    cpu.setSysReg(SYS_SCTLR_EL1, bigEndian ? sctlr | SCTLR_ELX_EE : sctlr & ~SCTLR_ELX_EE);
  s.blocked = false;
  s.mmio = undefined;
}

/** The EL2 controls KVM programs before entering the guest: HCR_EL2, stage 2, the MPIDR the guest reads. */
export function loadEl2(s: ArmVcpuState, vttbr: bigint, mpidr: bigint): void {
  const cpu = s.cpu;
  cpu.setSysReg(SYS_HCR_EL2, HCR_GUEST_FLAGS);
  cpu.setSysReg(SYS_VTCR_EL2, KVM_VTCR_40BIT);
  cpu.setSysReg(SYS_VTTBR_EL2, vttbr);
  cpu.setSysReg(SYS_VMPIDR_EL2, mpidr);
}

/** kvm-arm-psci's view of the CPU's registers (ArmVcpuRegs), over the vCPU state. */
export class PsciRegs implements ArmVcpuRegs {
  /** Set once the arch state exists (the psci vCPU is created first). */
  state: ArmVcpuState | undefined;

  constructor(
    /** reset_mpidr(): the MPIDR before the CPU exists or when it has no VMPIDR_EL2. */
    private readonly resetMpidr: bigint,
  ) {}

  /** MPIDR_EL1 as the guest reads it: VMPIDR_EL2, which user space may have set through ONE_REG. */
  get mpidr(): bigint {
    return this.state?.cpu.getSysReg(SYS_VMPIDR_EL2) ?? this.resetMpidr;
  }

  private get s(): ArmVcpuState {
    return this.state!;
  }
  getX(n: number): bigint {
    return this.s.cpu.x[n]!;
  }
  setX(n: number, value: bigint): void {
    this.s.cpu.x[n] = BigInt.asUintN(64, value);
  }
  getPc(): bigint {
    return this.s.cpu.pc;
  }
  setPc(value: bigint): void {
    this.s.cpu.pc = BigInt.asUintN(64, value);
  }
  /** SCTLR_EL1.EE: CPU_ON hands the caller's endianness to the target. */
  get bigEndian(): boolean {
    return ((this.s.cpu.getSysReg(SYS_SCTLR_EL1) ?? 0n) & SCTLR_ELX_EE) !== 0n;
  }
  reset(bigEndian?: boolean): void {
    resetVcpu(this.s, bigEndian);
  }
  /** CPU_SUSPEND: a WFI. */
  wfi(): void {
    this.s.blocked = true;
  }
}
