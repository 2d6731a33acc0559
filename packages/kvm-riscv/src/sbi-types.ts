import type { KvmVcpu } from '@tsvirt/kvm-core';
import type { RiscvVcpuState } from './state.ts';

/** One SBI call as the ecall handler saw it (struct kvm_cpu_context's a0..a7). */
export interface SbiCall {
  /** The calling vCPU. */
  vcpu: KvmVcpu;
  /** Its RISC-V state. */
  state: RiscvVcpuState;
  /** Extension id (a7). */
  eid: number;
  /** Function id (a6). */
  fid: number;
  /** a0..a5 as unsigned 64-bit values. */
  args: bigint[];
}

/** struct kvm_vcpu_sbi_return. */
export interface SbiResult {
  /** a0: SBI_SUCCESS or an SBI_ERR_*. */
  err: bigint;
  /** a1. */
  value: bigint;
  /** The call exits to user space (forwarded, or a system event): no return values, sepc stays. */
  uexit: boolean;
  /** A trap was redirected into the guest instead (a bad guest pointer): sepc stays. */
  utrap: boolean;
}

/** struct kvm_vcpu_sbi_extension. */
export interface SbiExtension {
  /** enum kvm_riscv_sbi_ext_id. */
  readonly extIdx: number;
  /** First extension id the handler serves. */
  readonly eidStart: number;
  /** Last extension id the handler serves (inclusive). */
  readonly eidEnd: number;
  /** Off until user space enables it through KVM_REG_RISCV_SBI_EXT (DBCN upstream). */
  readonly defaultDisabled?: boolean;
  /** BASE probe_extension's answer when enabled (default 1). */
  probe?(vcpu: KvmVcpu): bigint;
  /** Handle a call, filling in `ret`. */
  handle(call: SbiCall, ret: SbiResult): void;
}

export const U64_MAX = (1n << 64n) - 1n;
export const lower32 = (v: bigint): number => Number(v & 0xffff_ffffn);
