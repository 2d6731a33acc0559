import { KVM_REG_RISCV, KVM_REG_SIZE_U32, KVM_REG_SIZE_U64 } from '@tsvirt/kvm-core';

// ONE_REG ids of arch/riscv/include/uapi/asm/kvm.h (RV64: unsigned long is u64).

/** Mask of the register type field in a RISC-V ONE_REG id. */
export const KVM_REG_RISCV_TYPE_MASK = 0x0000_0000_ff00_0000n;
/** Shift of the register type field. */
export const KVM_REG_RISCV_TYPE_SHIFT = 24n;
/** Mask of the register subtype field. */
export const KVM_REG_RISCV_SUBTYPE_MASK = 0x0000_0000_00ff_0000n;
/** Shift of the register subtype field. */
export const KVM_REG_RISCV_SUBTYPE_SHIFT = 16n;

/** Register type: config (struct kvm_riscv_config). */
export const KVM_REG_RISCV_CONFIG = 0x01n << 24n;
/** Register type: core (struct kvm_riscv_core). */
export const KVM_REG_RISCV_CORE = 0x02n << 24n;
/** Register type: CSRs. */
export const KVM_REG_RISCV_CSR = 0x03n << 24n;
/** CSR subtype: general CSRs (struct kvm_riscv_csr). */
export const KVM_REG_RISCV_CSR_GENERAL = 0x0n << 16n;
/** Register type: timer (struct kvm_riscv_timer). */
export const KVM_REG_RISCV_TIMER = 0x04n << 24n;
/** Register type: F-extension registers. */
export const KVM_REG_RISCV_FP_F = 0x05n << 24n;
/** Register type: D-extension registers. */
export const KVM_REG_RISCV_FP_D = 0x06n << 24n;
/** Register type: ISA extension enables. */
export const KVM_REG_RISCV_ISA_EXT = 0x07n << 24n;
/** Register type: SBI extension enables. */
export const KVM_REG_RISCV_SBI_EXT = 0x08n << 24n;
/** SBI_EXT subtype: one extension per register. */
export const KVM_REG_RISCV_SBI_SINGLE = 0x0n << 16n;
/** SBI_EXT subtype: a bitmap word of extensions to enable. */
export const KVM_REG_RISCV_SBI_MULTI_EN = 0x1n << 16n;
/** SBI_EXT subtype: a bitmap word of extensions to disable. */
export const KVM_REG_RISCV_SBI_MULTI_DIS = 0x2n << 16n;

/** struct kvm_riscv_core: regs.pc, regs.ra ... regs.t6 (x1..x31), then mode. */
export const KVM_RISCV_CORE_PC = 0;
/** Index of mode in struct kvm_riscv_core. */
export const KVM_RISCV_CORE_MODE = 32;
/** Number of registers in struct kvm_riscv_core. */
export const KVM_RISCV_CORE_NR = 33;
/** mode value: the vCPU is in S-mode. */
export const KVM_RISCV_MODE_S = 1n;
/** mode value: the vCPU is in U-mode. */
export const KVM_RISCV_MODE_U = 0n;

/** struct kvm_riscv_csr, in order. */
export const KVM_RISCV_CSR_NAMES = [
  'sstatus',
  'sie',
  'stvec',
  'sscratch',
  'sepc',
  'scause',
  'stval',
  'sip',
  'satp',
  'scounteren',
  'senvcfg',
] as const;

/** struct kvm_riscv_timer: frequency, time, compare, state. */
export const KVM_RISCV_TIMER_FREQUENCY = 0;
/** Timer register: the guest's time value. */
export const KVM_RISCV_TIMER_TIME = 1;
/** Timer register: the timer compare value. */
export const KVM_RISCV_TIMER_COMPARE = 2;
/** Timer register: whether the timer is armed. */
export const KVM_RISCV_TIMER_STATE = 3;
/** Timer state: off. */
export const KVM_RISCV_TIMER_STATE_OFF = 0n;
/** Timer state: on. */
export const KVM_RISCV_TIMER_STATE_ON = 1n;

/** KVM_INTERRUPT on RISC-V: set / clear the external interrupt (VSEIP). */
export const KVM_INTERRUPT_SET = -1;
/** KVM_INTERRUPT argument: clear the external interrupt. */
export const KVM_INTERRUPT_UNSET = -2;

const U64 = KVM_REG_RISCV | KVM_REG_SIZE_U64;

/** The ONE_REG id of core register `i` (struct kvm_riscv_core: pc, then x1..x31, then mode). */
export const riscvCoreReg = (i: number): bigint => U64 | KVM_REG_RISCV_CORE | BigInt(i);
/** The ONE_REG id of general CSR `i` (struct kvm_riscv_csr, by index). */
export const riscvCsrReg = (i: number): bigint =>
  U64 | KVM_REG_RISCV_CSR | KVM_REG_RISCV_CSR_GENERAL | BigInt(i);
/** The ONE_REG id of timer register `i` (struct kvm_riscv_timer: frequency, time, compare, state). */
export const riscvTimerReg = (i: number): bigint => U64 | KVM_REG_RISCV_TIMER | BigInt(i);
/** The ONE_REG id of D-extension register `i` (f0..f31 are u64, index 32 is the u32 fcsr). */
export const riscvFpDReg = (i: number): bigint =>
  KVM_REG_RISCV | (i === 32 ? KVM_REG_SIZE_U32 : KVM_REG_SIZE_U64) | KVM_REG_RISCV_FP_D | BigInt(i);
/** The ONE_REG id that enables or disables SBI extension `ext` (KVM_RISCV_SBI_EXT_*). */
export const riscvSbiExtReg = (ext: number): bigint =>
  U64 | KVM_REG_RISCV_SBI_EXT | KVM_REG_RISCV_SBI_SINGLE | BigInt(ext);
/** The ONE_REG id of one word of the SBI extension enable (`en`) or disable mask. */
export const riscvSbiMultiReg = (en: boolean, word: number): bigint =>
  U64 |
  KVM_REG_RISCV_SBI_EXT |
  (en ? KVM_REG_RISCV_SBI_MULTI_EN : KVM_REG_RISCV_SBI_MULTI_DIS) |
  BigInt(word);
