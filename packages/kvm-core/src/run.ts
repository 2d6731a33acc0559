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
  mmio: {
    /** Guest physical address of the access. */
    phys_addr: bigint;
    /** The bytes written, or the buffer a load's result goes in. */
    data: Uint8Array;
    /** Access size in bytes. */
    len: number;
    /** 1 for a store, 0 for a load. */
    is_write: number;
  };
  /** KVM_EXIT_SYSTEM_EVENT: KVM_SYSTEM_EVENT_* and up to 16 u64s of data. */
  system_event: {
    /** KVM_SYSTEM_EVENT_* value. */
    type: number;
    /** Number of valid words in `data`. */
    ndata: number;
    /** Event-specific data words. */
    data: bigint[];
  };
  /** KVM_EXIT_RISCV_SBI: a call forwarded to user space; `ret` is written back by user space. */
  riscv_sbi: {
    /** SBI extension id (a7). */
    extension_id: bigint;
    /** SBI function id (a6). */
    function_id: bigint;
    /** Arguments a0..a5. */
    args: bigint[];
    /** Return values for a0 and a1, written by user space. */
    ret: bigint[];
  };
  /** KVM_EXIT_RISCV_CSR: a CSR access forwarded to user space, which writes ret_value. */
  riscv_csr: {
    /** The CSR number. */
    csr_num: bigint;
    /** Value to write, under write_mask. */
    new_value: bigint;
    /** Bits the instruction writes; 0 for a pure read. */
    write_mask: bigint;
    /** The CSR's old value, written by user space for the guest's rd. */
    ret_value: bigint;
  };
  /** KVM_EXIT_INTERNAL_ERROR. */
  internal: {
    /** KVM_INTERNAL_ERROR_* value. */
    suberror: number;
    /** Number of valid words in `data`. */
    ndata: number;
    /** Diagnostic data words. */
    data: bigint[];
  };
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
