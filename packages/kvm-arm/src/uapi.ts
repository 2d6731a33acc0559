// arm64 KVM UAPI this package adds to kvm-arm-psci's (arch/arm64/include/uapi/asm/kvm.h
// and the arm64 parts of include/uapi/linux/kvm.h): the core register offsets
// of struct kvm_regs, ARM64_SYS_REG(), the timer register ids and the
// KVM_IRQ_LINE layout of a VM without an in-kernel GIC.
import { KVM_REG_ARM_CORE } from '@tsvirt/kvm-arm-psci';
import { KVM_REG_ARM64, KVM_REG_SIZE_U32, KVM_REG_SIZE_U64, KVM_REG_SIZE_U128 } from '@tsvirt/kvm-core';

/**
 * struct kvm_regs offsets in u32 units (KVM_REG_ARM_CORE_REG()): user_pt_regs
 * (regs[31], sp, pc, pstate), sp_el1, elr_el1, spsr[5], then the 16-byte
 * aligned user_fpsimd_state (vregs[32], fpsr, fpcr, reserved[2]).
 */
export const CORE_OFF_X0 = 0;
/** regs.sp (SP_EL0). */
export const CORE_OFF_SP = 62;
/** regs.pc. */
export const CORE_OFF_PC = 64;
/** regs.pstate. */
export const CORE_OFF_PSTATE = 66;
/** sp_el1. */
export const CORE_OFF_SP_EL1 = 68;
/** elr_el1. */
export const CORE_OFF_ELR_EL1 = 70;
/** spsr[0] (KVM_SPSR_EL1); spsr[1..4] are the AArch32 abt/und/irq/fiq banks. */
export const CORE_OFF_SPSR = 72;
/** KVM_NR_SPSR. */
export const KVM_NR_SPSR = 5;
/** fp_regs.vregs[0]. */
export const CORE_OFF_VREGS = 84;
/** fp_regs.fpsr. */
export const CORE_OFF_FPSR = 212;
/** fp_regs.fpcr. */
export const CORE_OFF_FPCR = 213;
/** sizeof(struct kvm_regs) / sizeof(u32). */
export const CORE_NR_REGS = 216;

/** A core register id of `size` (KVM_REG_SIZE_U32/U64/U128) at u32 offset `off`. */
export function coreRegId(off: number, size: bigint = KVM_REG_SIZE_U64): bigint {
  return KVM_REG_ARM64 | size | KVM_REG_ARM_CORE | BigInt(off);
}
/** ONE_REG id of xN. */
export const coreRegX = (n: number): bigint => coreRegId(CORE_OFF_X0 + 2 * n);
/** ONE_REG id of regs.sp. */
export const KVM_REG_ARM_CORE_SP = coreRegId(CORE_OFF_SP);
/** ONE_REG id of regs.pc. */
export const KVM_REG_ARM_CORE_PC = coreRegId(CORE_OFF_PC);
/** ONE_REG id of regs.pstate. */
export const KVM_REG_ARM_CORE_PSTATE = coreRegId(CORE_OFF_PSTATE);
/** ONE_REG id of sp_el1. */
export const KVM_REG_ARM_CORE_SP_EL1 = coreRegId(CORE_OFF_SP_EL1);
/** ONE_REG id of elr_el1. */
export const KVM_REG_ARM_CORE_ELR_EL1 = coreRegId(CORE_OFF_ELR_EL1);
/** ONE_REG id of spsr[i]. */
export const coreRegSpsr = (i: number): bigint => coreRegId(CORE_OFF_SPSR + 2 * i);
/** ONE_REG id of fp_regs.vregs[n] (128-bit). */
export const coreRegV = (n: number): bigint => coreRegId(CORE_OFF_VREGS + 4 * n, KVM_REG_SIZE_U128);
/** ONE_REG id of fp_regs.fpsr. */
export const KVM_REG_ARM_CORE_FPSR = coreRegId(CORE_OFF_FPSR, KVM_REG_SIZE_U32);
/** ONE_REG id of fp_regs.fpcr. */
export const KVM_REG_ARM_CORE_FPCR = coreRegId(CORE_OFF_FPCR, KVM_REG_SIZE_U32);

/** KVM_REG_ARM64_SYSREG: the coprocessor field of system register ids. */
export const KVM_REG_ARM64_SYSREG = 0x0013n << 16n;
/** Mask of the op0:op1:CRn:CRm:op2 encoding in a system register id. */
export const KVM_REG_ARM64_SYSREG_MASK = 0xffffn;

/** The packed op0:op1:CRn:CRm:op2 encoding (the low 16 bits of ARM64_SYS_REG()). */
export function sysRegEnc(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}
/** ARM64_SYS_REG(op0, op1, crn, crm, op2). */
export function arm64SysReg(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG | BigInt(sysRegEnc(op0, op1, crn, crm, op2));
}

/**
 * The timer's ONE_REG ids. KVM_REG_ARM_TIMER_CNT and _CVAL carry each
 * other's encodings (CNTV_CVAL_EL0 is 3,3,14,3,2; CNTVCT_EL0 is 3,3,14,0,2):
 * an early UAPI mistake kept for ABI compatibility.
 */
export const KVM_REG_ARM_TIMER_CTL = arm64SysReg(3, 3, 14, 3, 1);
/** The virtual count (encoded as CNTV_CVAL_EL0, see above). */
export const KVM_REG_ARM_TIMER_CNT = arm64SysReg(3, 3, 14, 3, 2);
/** The virtual compare value (encoded as CNTVCT_EL0, see above). */
export const KVM_REG_ARM_TIMER_CVAL = arm64SysReg(3, 3, 14, 0, 2);

/** KVM_IRQ_LINE's irq field without an in-kernel GIC: type (27:24), vcpu (23:16, high bits 31:28), number (15:0). */
export const KVM_ARM_IRQ_TYPE_SHIFT = 24;
/** KVM_ARM_IRQ_TYPE_CPU: the vCPU's own IRQ or FIQ input. */
export const KVM_ARM_IRQ_TYPE_CPU = 0;
/** KVM_ARM_IRQ_TYPE_SPI (in-kernel GIC only). */
export const KVM_ARM_IRQ_TYPE_SPI = 1;
/** KVM_ARM_IRQ_TYPE_PPI (in-kernel GIC only). */
export const KVM_ARM_IRQ_TYPE_PPI = 2;
/** KVM_ARM_IRQ_VCPU_SHIFT. */
export const KVM_ARM_IRQ_VCPU_SHIFT = 16;
/** KVM_ARM_IRQ_VCPU2_SHIFT: vCPU index bits 15:8. */
export const KVM_ARM_IRQ_VCPU2_SHIFT = 28;
/** KVM_ARM_IRQ_CPU_IRQ. */
export const KVM_ARM_IRQ_CPU_IRQ = 0;
/** KVM_ARM_IRQ_CPU_FIQ. */
export const KVM_ARM_IRQ_CPU_FIQ = 1;
/** KVM_IRQ_LINE irq value for a vCPU's IRQ (or FIQ) input. */
export function kvmArmIrqCpu(vcpuIndex: number, line: number): number {
  return (
    ((KVM_ARM_IRQ_TYPE_CPU << KVM_ARM_IRQ_TYPE_SHIFT) |
      ((vcpuIndex & 0xff) << KVM_ARM_IRQ_VCPU_SHIFT) |
      (((vcpuIndex >> 8) & 0xf) << KVM_ARM_IRQ_VCPU2_SHIFT) |
      line) >>>
    0
  );
}

/** kvm_run.s.regs.device_irq_level bits (KVM_CAP_ARM_USER_IRQ): the timer outputs user space's GIC must follow. */
export const KVM_ARM_DEV_EL1_VTIMER = 1 << 0;
/** The EL1 physical timer's output. */
export const KVM_ARM_DEV_EL1_PTIMER = 1 << 1;
/** The PMU overflow interrupt. */
export const KVM_ARM_DEV_PMU = 1 << 2;

/** Caps this package answers. */
export const KVM_CAP_ARM_USER_IRQ = 148;
/** KVM_CAP_ARM_NISV_TO_USER: data aborts without a valid syndrome exit as KVM_EXIT_ARM_NISV. */
export const KVM_CAP_ARM_NISV_TO_USER = 177;
/** KVM_CAP_ARM_VM_IPA_SIZE: the largest IPA size a VM may ask for. */
export const KVM_CAP_ARM_VM_IPA_SIZE = 165;
/** KVM_EXIT_ARM_NISV. */
export const KVM_EXIT_ARM_NISV = 28;
/** The IPA size (bits) of a VM created with type 0 (KVM_PHYS_SHIFT). */
export const KVM_PHYS_SHIFT = 40;
