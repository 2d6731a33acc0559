import { KVM_EXIT_UNKNOWN } from './uapi.ts';

/**
 * struct kvm_run, the page a vCPU fd shares with user space. The kernel's
 * exit union is modelled as one preallocated object per exit kind, so an
 * exit fills fields in place and allocates nothing.
 */
export interface KvmRun {
  /** In: non-zero makes KVM_RUN return EINTR at once (KVM_CAP_IMMEDIATE_EXIT). */
  immediate_exit: number;
  /** Out: KVM_EXIT_*. */
  exit_reason: number;
  /** KVM_EXIT_MMIO: the access to emulate. For a load, user space fills `data` before the next run. */
  mmio: { phys_addr: bigint; data: Uint8Array; len: number; is_write: number };
  /** KVM_EXIT_SYSTEM_EVENT: KVM_SYSTEM_EVENT_* and up to 16 u64s of data. */
  system_event: { type: number; ndata: number; data: bigint[] };
  /** KVM_EXIT_RISCV_SBI: a call forwarded to user space; `ret` is written back by user space. */
  riscv_sbi: { extension_id: bigint; function_id: bigint; args: bigint[]; ret: bigint[] };
  /** KVM_EXIT_RISCV_CSR: a CSR access forwarded to user space, which writes ret_value. */
  riscv_csr: { csr_num: bigint; new_value: bigint; write_mask: bigint; ret_value: bigint };
  /** KVM_EXIT_INTERNAL_ERROR. */
  internal: { suberror: number; ndata: number; data: bigint[] };
}

/** A fresh `struct kvm_run` for a new vCPU (exit reason KVM_EXIT_UNKNOWN, buffers zeroed). */
export function createKvmRun(): KvmRun {
  return {
    immediate_exit: 0,
    exit_reason: KVM_EXIT_UNKNOWN,
    mmio: { phys_addr: 0n, data: new Uint8Array(8), len: 0, is_write: 0 },
    system_event: { type: 0, ndata: 0, data: new Array<bigint>(16).fill(0n) },
    riscv_sbi: {
      extension_id: 0n,
      function_id: 0n,
      args: new Array<bigint>(6).fill(0n),
      ret: new Array<bigint>(2).fill(0n),
    },
    riscv_csr: { csr_num: 0n, new_value: 0n, write_mask: 0n, ret_value: 0n },
    internal: { suberror: 0, ndata: 0, data: new Array<bigint>(16).fill(0n) },
  };
}
