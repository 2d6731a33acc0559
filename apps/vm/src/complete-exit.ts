import { isKernelError } from '@tsvirt/core-bus';
import {
  KVM_EXIT_IO,
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_CSR,
  KVM_EXIT_RISCV_SBI,
  type KvmVcpu,
} from '@tsvirt/kvm-core';

/**
 * Finish the exit user space last handled on `v` without running the guest:
 * KVM_RUN with immediate_exit set. KVM's API documents that an MMIO, IO (or
 * other user-space-emulated) exit leaves the guest state consistent only once
 * user space has entered KVM_RUN again; the kernel's own state-migration
 * selftests complete the I/O this way before saving (vcpu_run_complete_io()),
 * and QEMU stops a vCPU by re-entering with immediate_exit. An MMIO store
 * that exited is then past its instruction: saved before that, a snapshot or
 * a migration's destination ran the store again (the guest's last console
 * byte printed twice); an MMIO load's data lands in its register, an SBI
 * call's return values in a0/a1. EINTR (immediate_exit) is the expected
 * answer. A vCPU whose last exit needs no completion is left as it is.
 */
export function completePendingExit(v: KvmVcpu): void {
  const r = v.run.exit_reason;
  if (r !== KVM_EXIT_MMIO && r !== KVM_EXIT_IO && r !== KVM_EXIT_RISCV_SBI && r !== KVM_EXIT_RISCV_CSR)
    return;
  v.run.immediate_exit = 1;
  try {
    v.kvmRun();
  } catch (e) {
    if (!isKernelError(e) || e.code !== 'EINTR') throw e;
  } finally {
    v.run.immediate_exit = 0;
  }
}
