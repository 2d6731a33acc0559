import { sysRegEnc } from './uapi.ts';

// System register encodings (op0, op1, CRn, CRm, op2; Arm ARM D19) that KVM
// itself reads or writes on the vCPU, packed as Arm64Vcpu.getSysReg() takes them.

/** MIDR_EL1. */
export const SYS_MIDR_EL1 = sysRegEnc(3, 0, 0, 0, 0);
/** MPIDR_EL1. */
export const SYS_MPIDR_EL1 = sysRegEnc(3, 0, 0, 0, 5);
/** SCTLR_EL1. */
export const SYS_SCTLR_EL1 = sysRegEnc(3, 0, 1, 0, 0);
/** ACTLR_EL1. */
export const SYS_ACTLR_EL1 = sysRegEnc(3, 0, 1, 0, 1);
/** CPACR_EL1. */
export const SYS_CPACR_EL1 = sysRegEnc(3, 0, 1, 0, 2);
/** TTBR0_EL1. */
export const SYS_TTBR0_EL1 = sysRegEnc(3, 0, 2, 0, 0);
/** TTBR1_EL1. */
export const SYS_TTBR1_EL1 = sysRegEnc(3, 0, 2, 0, 1);
/** TCR_EL1. */
export const SYS_TCR_EL1 = sysRegEnc(3, 0, 2, 0, 2);
/** SPSR_EL1. */
export const SYS_SPSR_EL1 = sysRegEnc(3, 0, 4, 0, 0);
/** ELR_EL1. */
export const SYS_ELR_EL1 = sysRegEnc(3, 0, 4, 0, 1);
/** AFSR0_EL1. */
export const SYS_AFSR0_EL1 = sysRegEnc(3, 0, 5, 1, 0);
/** AFSR1_EL1. */
export const SYS_AFSR1_EL1 = sysRegEnc(3, 0, 5, 1, 1);
/** ESR_EL1. */
export const SYS_ESR_EL1 = sysRegEnc(3, 0, 5, 2, 0);
/** FAR_EL1. */
export const SYS_FAR_EL1 = sysRegEnc(3, 0, 6, 0, 0);
/** PAR_EL1. */
export const SYS_PAR_EL1 = sysRegEnc(3, 0, 7, 4, 0);
/** MAIR_EL1. */
export const SYS_MAIR_EL1 = sysRegEnc(3, 0, 10, 2, 0);
/** AMAIR_EL1. */
export const SYS_AMAIR_EL1 = sysRegEnc(3, 0, 10, 3, 0);
/** VBAR_EL1. */
export const SYS_VBAR_EL1 = sysRegEnc(3, 0, 12, 0, 0);
/** CONTEXTIDR_EL1. */
export const SYS_CONTEXTIDR_EL1 = sysRegEnc(3, 0, 13, 0, 1);
/** TPIDR_EL1. */
export const SYS_TPIDR_EL1 = sysRegEnc(3, 0, 13, 0, 4);
/** CNTKCTL_EL1. */
export const SYS_CNTKCTL_EL1 = sysRegEnc(3, 0, 14, 1, 0);
/** CSSELR_EL1. */
export const SYS_CSSELR_EL1 = sysRegEnc(3, 2, 0, 0, 0);
/** TPIDR_EL0. */
export const SYS_TPIDR_EL0 = sysRegEnc(3, 3, 13, 0, 2);
/** TPIDRRO_EL0. */
export const SYS_TPIDRRO_EL0 = sysRegEnc(3, 3, 13, 0, 3);
/** CNTFRQ_EL0. */
export const SYS_CNTFRQ_EL0 = sysRegEnc(3, 3, 14, 0, 0);
/** CNTVCT_EL0. */
export const SYS_CNTVCT_EL0 = sysRegEnc(3, 3, 14, 0, 2);
/** CNTV_CTL_EL0. */
export const SYS_CNTV_CTL_EL0 = sysRegEnc(3, 3, 14, 3, 1);
/** CNTV_CVAL_EL0. */
export const SYS_CNTV_CVAL_EL0 = sysRegEnc(3, 3, 14, 3, 2);
/** FPCR. */
export const SYS_FPCR = sysRegEnc(3, 3, 4, 4, 0);
/** FPSR. */
export const SYS_FPSR = sysRegEnc(3, 3, 4, 4, 1);
/** MDSCR_EL1. */
export const SYS_MDSCR_EL1 = sysRegEnc(2, 0, 0, 2, 2);

/** VMPIDR_EL2: the MPIDR_EL1 the guest reads. */
export const SYS_VMPIDR_EL2 = sysRegEnc(3, 4, 0, 0, 5);
/** HCR_EL2. */
export const SYS_HCR_EL2 = sysRegEnc(3, 4, 1, 1, 0);
/** VTTBR_EL2. */
export const SYS_VTTBR_EL2 = sysRegEnc(3, 4, 2, 1, 0);
/** VTCR_EL2. */
export const SYS_VTCR_EL2 = sysRegEnc(3, 4, 2, 1, 2);
/** CNTVOFF_EL2. */
export const SYS_CNTVOFF_EL2 = sysRegEnc(3, 4, 14, 0, 3);

/**
 * The EL1/EL0 system registers KVM_GET_REG_LIST offers, in encoding order
 * (the sys_reg_descs table is sorted so): each is listed when the CPU
 * implements it. The timer registers are listed by their KVM ids instead.
 */
export const LISTED_SYSREGS: readonly number[] = [
  SYS_MDSCR_EL1,
  SYS_MPIDR_EL1,
  SYS_SCTLR_EL1,
  SYS_ACTLR_EL1,
  SYS_CPACR_EL1,
  SYS_TTBR0_EL1,
  SYS_TTBR1_EL1,
  SYS_TCR_EL1,
  SYS_AFSR0_EL1,
  SYS_AFSR1_EL1,
  SYS_ESR_EL1,
  SYS_FAR_EL1,
  SYS_PAR_EL1,
  SYS_MAIR_EL1,
  SYS_AMAIR_EL1,
  SYS_VBAR_EL1,
  SYS_CONTEXTIDR_EL1,
  SYS_TPIDR_EL1,
  SYS_CNTKCTL_EL1,
  SYS_CSSELR_EL1,
  SYS_TPIDR_EL0,
  SYS_TPIDRRO_EL0,
].sort((a, b) => a - b);

/** HCR_EL2 bits KVM sets for a guest (HCR_GUEST_FLAGS | IMO | FMO). */
export const HCR_VM = 1n << 0n;
/** HCR_EL2.SWIO. */
export const HCR_SWIO = 1n << 1n;
/** HCR_EL2.FMO: FIQs to EL2, virtual FIQ to EL1. */
export const HCR_FMO = 1n << 3n;
/** HCR_EL2.IMO: IRQs to EL2, virtual IRQ to EL1. */
export const HCR_IMO = 1n << 4n;
/** HCR_EL2.AMO. */
export const HCR_AMO = 1n << 5n;
/** HCR_EL2.FB. */
export const HCR_FB = 1n << 9n;
/** HCR_EL2.BSU inner shareable. */
export const HCR_BSU_IS = 1n << 10n;
/** HCR_EL2.TWI: WFI traps to EL2. */
export const HCR_TWI = 1n << 13n;
/** HCR_EL2.TWE: WFE traps to EL2. */
export const HCR_TWE = 1n << 14n;
/** HCR_EL2.TSC: SMC traps to EL2. */
export const HCR_TSC = 1n << 19n;
/** HCR_EL2.TIDCP. */
export const HCR_TIDCP = 1n << 20n;
/** HCR_EL2.TACR. */
export const HCR_TACR = 1n << 21n;
/** HCR_EL2.TSW. */
export const HCR_TSW = 1n << 22n;
/** HCR_EL2.RW: EL1 is AArch64. */
export const HCR_RW = 1n << 31n;
/** The HCR_EL2 a 64-bit guest runs with (HCR_GUEST_FLAGS plus the interrupt routing of a guest with a GIC). */
export const HCR_GUEST_FLAGS =
  HCR_TSC |
  HCR_TSW |
  HCR_TWE |
  HCR_TWI |
  HCR_VM |
  HCR_BSU_IS |
  HCR_FB |
  HCR_TACR |
  HCR_AMO |
  HCR_SWIO |
  HCR_TIDCP |
  HCR_RW |
  HCR_IMO |
  HCR_FMO;

/** PSTATE fields KVM sets and checks. */
export const PSR_MODE_EL0T = 0x0;
/** EL1 with SP_EL0. */
export const PSR_MODE_EL1T = 0x4;
/** EL1 with SP_EL1. */
export const PSR_MODE_EL1H = 0x5;
/** PSR_MODE_MASK (M[3:0]) with the AArch32 bit M[4]. */
export const PSR_AA32_MODE_MASK = 0x1f;
/** PSTATE.F. */
export const PSR_F_BIT = 1 << 6;
/** PSTATE.I. */
export const PSR_I_BIT = 1 << 7;
/** PSTATE.A. */
export const PSR_A_BIT = 1 << 8;
/** PSTATE.D. */
export const PSR_D_BIT = 1 << 9;
/** NZCV. */
export const PSR_NZCV_MASK = 0xf000_0000;
/** The reset PSTATE of a 64-bit vCPU (VCPU_RESET_PSTATE_EL1): EL1h, DAIF masked. */
export const VCPU_RESET_PSTATE_EL1 = PSR_MODE_EL1H | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT | PSR_D_BIT;
/** SCTLR_EL1.EE: data accesses at EL1 are big-endian. */
export const SCTLR_ELX_EE = 1n << 25n;
