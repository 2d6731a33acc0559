import type { SbiCall, SbiResult } from './sbi-types.ts';

/**
 * kvm_riscv_vcpu_sbi_forward(): hand the call to user space as
 * KVM_EXIT_RISCV_SBI; its ret[0]/ret[1] become a0/a1 on the next KVM_RUN
 * (kvm_riscv_vcpu_sbi_return()), which also steps past the ecall.
 */
export function sbiForward(call: SbiCall, ret: SbiResult, v01 = false): void {
  call.vcpu.exitRiscvSbi(BigInt(call.eid), BigInt(call.fid), call.args);
  call.state.sbi = { v01 };
  ret.uexit = true;
}
