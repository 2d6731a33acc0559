/**
 * System register encodings as KVM's ARM64_SYS_REG() packs them:
 * op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2 (the same packing the
 * MRS/MSR instruction fields give when read from bits 20:5).
 */
export function sysReg(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

/** MIDR_EL1 (op0=3, op1=0, CRn=0, CRm=0, op2=0). */
export const MIDR_EL1 = sysReg(3, 0, 0, 0, 0);
/** MPIDR_EL1 (op0=3, op1=0, CRn=0, CRm=0, op2=5). */
export const MPIDR_EL1 = sysReg(3, 0, 0, 0, 5);
/** REVIDR_EL1 (op0=3, op1=0, CRn=0, CRm=0, op2=6). */
export const REVIDR_EL1 = sysReg(3, 0, 0, 0, 6);
/** ID_AA64PFR0_EL1 (op0=3, op1=0, CRn=0, CRm=4, op2=0). */
export const ID_AA64PFR0_EL1 = sysReg(3, 0, 0, 4, 0);
/** ID_AA64DFR0_EL1 (op0=3, op1=0, CRn=0, CRm=5, op2=0). */
export const ID_AA64DFR0_EL1 = sysReg(3, 0, 0, 5, 0);
/** ID_AA64ISAR0_EL1 (op0=3, op1=0, CRn=0, CRm=6, op2=0). */
export const ID_AA64ISAR0_EL1 = sysReg(3, 0, 0, 6, 0);
/** ID_AA64MMFR0_EL1 (op0=3, op1=0, CRn=0, CRm=7, op2=0). */
export const ID_AA64MMFR0_EL1 = sysReg(3, 0, 0, 7, 0);
/** CCSIDR_EL1 (op0=3, op1=1, CRn=0, CRm=0, op2=0). */
export const CCSIDR_EL1 = sysReg(3, 1, 0, 0, 0);
/** CLIDR_EL1 (op0=3, op1=1, CRn=0, CRm=0, op2=1). */
export const CLIDR_EL1 = sysReg(3, 1, 0, 0, 1);
/** CSSELR_EL1 (op0=3, op1=2, CRn=0, CRm=0, op2=0). */
export const CSSELR_EL1 = sysReg(3, 2, 0, 0, 0);
/** CTR_EL0 (op0=3, op1=3, CRn=0, CRm=0, op2=1). */
export const CTR_EL0 = sysReg(3, 3, 0, 0, 1);
/** DCZID_EL0 (op0=3, op1=3, CRn=0, CRm=0, op2=7). */
export const DCZID_EL0 = sysReg(3, 3, 0, 0, 7);

/** SCTLR_EL1 (op0=3, op1=0, CRn=1, CRm=0, op2=0). */
export const SCTLR_EL1 = sysReg(3, 0, 1, 0, 0);
/** ACTLR_EL1 (op0=3, op1=0, CRn=1, CRm=0, op2=1). */
export const ACTLR_EL1 = sysReg(3, 0, 1, 0, 1);
/** CPACR_EL1 (op0=3, op1=0, CRn=1, CRm=0, op2=2). */
export const CPACR_EL1 = sysReg(3, 0, 1, 0, 2);
/** TTBR0_EL1 (op0=3, op1=0, CRn=2, CRm=0, op2=0). */
export const TTBR0_EL1 = sysReg(3, 0, 2, 0, 0);
/** TTBR1_EL1 (op0=3, op1=0, CRn=2, CRm=0, op2=1). */
export const TTBR1_EL1 = sysReg(3, 0, 2, 0, 1);
/** TCR_EL1 (op0=3, op1=0, CRn=2, CRm=0, op2=2). */
export const TCR_EL1 = sysReg(3, 0, 2, 0, 2);
/** SPSR_EL1 (op0=3, op1=0, CRn=4, CRm=0, op2=0). */
export const SPSR_EL1 = sysReg(3, 0, 4, 0, 0);
/** ELR_EL1 (op0=3, op1=0, CRn=4, CRm=0, op2=1). */
export const ELR_EL1 = sysReg(3, 0, 4, 0, 1);
/** SP_EL0 (op0=3, op1=0, CRn=4, CRm=1, op2=0). */
export const SP_EL0 = sysReg(3, 0, 4, 1, 0);
/** SPSEL (op0=3, op1=0, CRn=4, CRm=2, op2=0). */
export const SPSEL = sysReg(3, 0, 4, 2, 0);
/** CURRENTEL (op0=3, op1=0, CRn=4, CRm=2, op2=2). */
export const CURRENTEL = sysReg(3, 0, 4, 2, 2);
/** NZCV (op0=3, op1=3, CRn=4, CRm=2, op2=0). */
export const NZCV = sysReg(3, 3, 4, 2, 0);
/** DAIF (op0=3, op1=3, CRn=4, CRm=2, op2=1). */
export const DAIF = sysReg(3, 3, 4, 2, 1);
/** FPCR (op0=3, op1=3, CRn=4, CRm=4, op2=0). */
export const FPCR = sysReg(3, 3, 4, 4, 0);
/** FPSR (op0=3, op1=3, CRn=4, CRm=4, op2=1). */
export const FPSR = sysReg(3, 3, 4, 4, 1);
/** AFSR0_EL1 (op0=3, op1=0, CRn=5, CRm=1, op2=0). */
export const AFSR0_EL1 = sysReg(3, 0, 5, 1, 0);
/** AFSR1_EL1 (op0=3, op1=0, CRn=5, CRm=1, op2=1). */
export const AFSR1_EL1 = sysReg(3, 0, 5, 1, 1);
/** ESR_EL1 (op0=3, op1=0, CRn=5, CRm=2, op2=0). */
export const ESR_EL1 = sysReg(3, 0, 5, 2, 0);
/** FAR_EL1 (op0=3, op1=0, CRn=6, CRm=0, op2=0). */
export const FAR_EL1 = sysReg(3, 0, 6, 0, 0);
/** PAR_EL1 (op0=3, op1=0, CRn=7, CRm=4, op2=0). */
export const PAR_EL1 = sysReg(3, 0, 7, 4, 0);
/** MAIR_EL1 (op0=3, op1=0, CRn=10, CRm=2, op2=0). */
export const MAIR_EL1 = sysReg(3, 0, 10, 2, 0);
/** AMAIR_EL1 (op0=3, op1=0, CRn=10, CRm=3, op2=0). */
export const AMAIR_EL1 = sysReg(3, 0, 10, 3, 0);
/** VBAR_EL1 (op0=3, op1=0, CRn=12, CRm=0, op2=0). */
export const VBAR_EL1 = sysReg(3, 0, 12, 0, 0);
/** ISR_EL1 (op0=3, op1=0, CRn=12, CRm=1, op2=0). */
export const ISR_EL1 = sysReg(3, 0, 12, 1, 0);
/** CONTEXTIDR_EL1 (op0=3, op1=0, CRn=13, CRm=0, op2=1). */
export const CONTEXTIDR_EL1 = sysReg(3, 0, 13, 0, 1);
/** TPIDR_EL1 (op0=3, op1=0, CRn=13, CRm=0, op2=4). */
export const TPIDR_EL1 = sysReg(3, 0, 13, 0, 4);
/** TPIDR_EL0 (op0=3, op1=3, CRn=13, CRm=0, op2=2). */
export const TPIDR_EL0 = sysReg(3, 3, 13, 0, 2);
/** TPIDRRO_EL0 (op0=3, op1=3, CRn=13, CRm=0, op2=3). */
export const TPIDRRO_EL0 = sysReg(3, 3, 13, 0, 3);
/** CNTKCTL_EL1 (op0=3, op1=0, CRn=14, CRm=1, op2=0). */
export const CNTKCTL_EL1 = sysReg(3, 0, 14, 1, 0);
/** CNTFRQ_EL0 (op0=3, op1=3, CRn=14, CRm=0, op2=0). */
export const CNTFRQ_EL0 = sysReg(3, 3, 14, 0, 0);
/** CNTPCT_EL0 (op0=3, op1=3, CRn=14, CRm=0, op2=1). */
export const CNTPCT_EL0 = sysReg(3, 3, 14, 0, 1);
/** CNTVCT_EL0 (op0=3, op1=3, CRn=14, CRm=0, op2=2). */
export const CNTVCT_EL0 = sysReg(3, 3, 14, 0, 2);
/** CNTP_TVAL_EL0 (op0=3, op1=3, CRn=14, CRm=2, op2=0). */
export const CNTP_TVAL_EL0 = sysReg(3, 3, 14, 2, 0);
/** CNTP_CTL_EL0 (op0=3, op1=3, CRn=14, CRm=2, op2=1). */
export const CNTP_CTL_EL0 = sysReg(3, 3, 14, 2, 1);
/** CNTP_CVAL_EL0 (op0=3, op1=3, CRn=14, CRm=2, op2=2). */
export const CNTP_CVAL_EL0 = sysReg(3, 3, 14, 2, 2);
/** CNTV_TVAL_EL0 (op0=3, op1=3, CRn=14, CRm=3, op2=0). */
export const CNTV_TVAL_EL0 = sysReg(3, 3, 14, 3, 0);
/** CNTV_CTL_EL0 (op0=3, op1=3, CRn=14, CRm=3, op2=1). */
export const CNTV_CTL_EL0 = sysReg(3, 3, 14, 3, 1);
/** CNTV_CVAL_EL0 (op0=3, op1=3, CRn=14, CRm=3, op2=2). */
export const CNTV_CVAL_EL0 = sysReg(3, 3, 14, 3, 2);
/** MDSCR_EL1 (op0=2, op1=0, CRn=0, CRm=2, op2=2). */
export const MDSCR_EL1 = sysReg(2, 0, 0, 2, 2);
/** OSLAR_EL1 (op0=2, op1=0, CRn=1, CRm=0, op2=4). */
export const OSLAR_EL1 = sysReg(2, 0, 1, 0, 4);
/** OSLSR_EL1 (op0=2, op1=0, CRn=1, CRm=1, op2=4). */
export const OSLSR_EL1 = sysReg(2, 0, 1, 1, 4);
/** OSDLR_EL1 (op0=2, op1=0, CRn=1, CRm=3, op2=4). */
export const OSDLR_EL1 = sysReg(2, 0, 1, 3, 4);
/** MDCCINT_EL1 (op0=2, op1=0, CRn=0, CRm=2, op2=0). */
export const MDCCINT_EL1 = sysReg(2, 0, 0, 2, 0);

// EL2 controls: written by the hypervisor through setSysReg, never by the guest.
/** VPIDR_EL2 (op0=3, op1=4, CRn=0, CRm=0, op2=0): what the guest reads as MIDR_EL1. */
export const VPIDR_EL2 = sysReg(3, 4, 0, 0, 0);
/** VMPIDR_EL2 (op0=3, op1=4, CRn=0, CRm=0, op2=5). */
export const VMPIDR_EL2 = sysReg(3, 4, 0, 0, 5);
/** HCR_EL2 (op0=3, op1=4, CRn=1, CRm=1, op2=0). */
export const HCR_EL2 = sysReg(3, 4, 1, 1, 0);
/** VTTBR_EL2 (op0=3, op1=4, CRn=2, CRm=1, op2=0). */
export const VTTBR_EL2 = sysReg(3, 4, 2, 1, 0);
/** VTCR_EL2 (op0=3, op1=4, CRn=2, CRm=1, op2=2). */
export const VTCR_EL2 = sysReg(3, 4, 2, 1, 2);
/** SP_EL1 (op0=3, op1=4, CRn=4, CRm=1, op2=0). */
export const SP_EL1 = sysReg(3, 4, 4, 1, 0);
/** CNTVOFF_EL2 (op0=3, op1=4, CRn=14, CRm=0, op2=3). */
export const CNTVOFF_EL2 = sysReg(3, 4, 14, 0, 3);

// HCR_EL2 bits this CPU honours (Arm ARM D17.2.48).
/** HCR_EL2.VM, bit 0: stage 2 on. */
export const HCR_VM = 1n << 0n;
/** HCR_EL2.FMO, bit 3. */
export const HCR_FMO = 1n << 3n;
/** HCR_EL2.IMO, bit 4. */
export const HCR_IMO = 1n << 4n;
/** HCR_EL2.VF, bit 6. */
export const HCR_VF = 1n << 6n;
/** HCR_EL2.VI, bit 7. */
export const HCR_VI = 1n << 7n;
/** HCR_EL2.TWI, bit 13. */
export const HCR_TWI = 1n << 13n;
/** HCR_EL2.TWE, bit 14. */
export const HCR_TWE = 1n << 14n;
/** HCR_EL2.TID3, bit 18. */
export const HCR_TID3 = 1n << 18n;
/** HCR_EL2.TSC, bit 19. */
export const HCR_TSC = 1n << 19n;
/** HCR_EL2.TSW, bit 22. */
export const HCR_TSW = 1n << 22n;
/** HCR_EL2.TVM, bit 26. */
export const HCR_TVM = 1n << 26n;
/** HCR_EL2.TRVM, bit 30. */
export const HCR_TRVM = 1n << 30n;
