/**
 * System register encodings as KVM's ARM64_SYS_REG() packs them:
 * op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2 (the same packing the
 * MRS/MSR instruction fields give when read from bits 20:5).
 */
export function sysReg(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

export const MIDR_EL1 = sysReg(3, 0, 0, 0, 0);
export const MPIDR_EL1 = sysReg(3, 0, 0, 0, 5);
export const REVIDR_EL1 = sysReg(3, 0, 0, 0, 6);
export const ID_AA64PFR0_EL1 = sysReg(3, 0, 0, 4, 0);
export const ID_AA64DFR0_EL1 = sysReg(3, 0, 0, 5, 0);
export const ID_AA64ISAR0_EL1 = sysReg(3, 0, 0, 6, 0);
export const ID_AA64MMFR0_EL1 = sysReg(3, 0, 0, 7, 0);
export const CCSIDR_EL1 = sysReg(3, 1, 0, 0, 0);
export const CLIDR_EL1 = sysReg(3, 1, 0, 0, 1);
export const CSSELR_EL1 = sysReg(3, 2, 0, 0, 0);
export const CTR_EL0 = sysReg(3, 3, 0, 0, 1);
export const DCZID_EL0 = sysReg(3, 3, 0, 0, 7);

export const SCTLR_EL1 = sysReg(3, 0, 1, 0, 0);
export const ACTLR_EL1 = sysReg(3, 0, 1, 0, 1);
export const CPACR_EL1 = sysReg(3, 0, 1, 0, 2);
export const TTBR0_EL1 = sysReg(3, 0, 2, 0, 0);
export const TTBR1_EL1 = sysReg(3, 0, 2, 0, 1);
export const TCR_EL1 = sysReg(3, 0, 2, 0, 2);
export const SPSR_EL1 = sysReg(3, 0, 4, 0, 0);
export const ELR_EL1 = sysReg(3, 0, 4, 0, 1);
export const SP_EL0 = sysReg(3, 0, 4, 1, 0);
export const SPSEL = sysReg(3, 0, 4, 2, 0);
export const CURRENTEL = sysReg(3, 0, 4, 2, 2);
export const NZCV = sysReg(3, 3, 4, 2, 0);
export const DAIF = sysReg(3, 3, 4, 2, 1);
export const FPCR = sysReg(3, 3, 4, 4, 0);
export const FPSR = sysReg(3, 3, 4, 4, 1);
export const AFSR0_EL1 = sysReg(3, 0, 5, 1, 0);
export const AFSR1_EL1 = sysReg(3, 0, 5, 1, 1);
export const ESR_EL1 = sysReg(3, 0, 5, 2, 0);
export const FAR_EL1 = sysReg(3, 0, 6, 0, 0);
export const PAR_EL1 = sysReg(3, 0, 7, 4, 0);
export const MAIR_EL1 = sysReg(3, 0, 10, 2, 0);
export const AMAIR_EL1 = sysReg(3, 0, 10, 3, 0);
export const VBAR_EL1 = sysReg(3, 0, 12, 0, 0);
export const ISR_EL1 = sysReg(3, 0, 12, 1, 0);
export const CONTEXTIDR_EL1 = sysReg(3, 0, 13, 0, 1);
export const TPIDR_EL1 = sysReg(3, 0, 13, 0, 4);
export const TPIDR_EL0 = sysReg(3, 3, 13, 0, 2);
export const TPIDRRO_EL0 = sysReg(3, 3, 13, 0, 3);
export const CNTKCTL_EL1 = sysReg(3, 0, 14, 1, 0);
export const CNTFRQ_EL0 = sysReg(3, 3, 14, 0, 0);
export const CNTPCT_EL0 = sysReg(3, 3, 14, 0, 1);
export const CNTVCT_EL0 = sysReg(3, 3, 14, 0, 2);
export const CNTP_TVAL_EL0 = sysReg(3, 3, 14, 2, 0);
export const CNTP_CTL_EL0 = sysReg(3, 3, 14, 2, 1);
export const CNTP_CVAL_EL0 = sysReg(3, 3, 14, 2, 2);
export const CNTV_TVAL_EL0 = sysReg(3, 3, 14, 3, 0);
export const CNTV_CTL_EL0 = sysReg(3, 3, 14, 3, 1);
export const CNTV_CVAL_EL0 = sysReg(3, 3, 14, 3, 2);
export const MDSCR_EL1 = sysReg(2, 0, 0, 2, 2);
export const OSLAR_EL1 = sysReg(2, 0, 1, 0, 4);
export const OSLSR_EL1 = sysReg(2, 0, 1, 1, 4);
export const OSDLR_EL1 = sysReg(2, 0, 1, 3, 4);
export const MDCCINT_EL1 = sysReg(2, 0, 0, 2, 0);

/** EL2 controls: written by the hypervisor through setSysReg, never by the guest. */
export const VPIDR_EL2 = sysReg(3, 4, 0, 0, 0);
export const VMPIDR_EL2 = sysReg(3, 4, 0, 0, 5);
export const HCR_EL2 = sysReg(3, 4, 1, 1, 0);
export const VTTBR_EL2 = sysReg(3, 4, 2, 1, 0);
export const VTCR_EL2 = sysReg(3, 4, 2, 1, 2);
export const SP_EL1 = sysReg(3, 4, 4, 1, 0);
export const CNTVOFF_EL2 = sysReg(3, 4, 14, 0, 3);

/** HCR_EL2 bits this CPU honours (Arm ARM D17.2.48). */
export const HCR_VM = 1n << 0n;
export const HCR_FMO = 1n << 3n;
export const HCR_IMO = 1n << 4n;
export const HCR_VF = 1n << 6n;
export const HCR_VI = 1n << 7n;
export const HCR_TWI = 1n << 13n;
export const HCR_TWE = 1n << 14n;
export const HCR_TID3 = 1n << 18n;
export const HCR_TSC = 1n << 19n;
export const HCR_TSW = 1n << 22n;
export const HCR_TVM = 1n << 26n;
export const HCR_TRVM = 1n << 30n;
