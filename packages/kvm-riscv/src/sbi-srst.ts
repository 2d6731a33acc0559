import { KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN, type KvmVcpu } from '@tsvirt/kvm-core';
import { lower32, type SbiCall, type SbiExtension, type SbiResult } from './sbi-types.ts';
import {
  KVM_RISCV_SBI_EXT_SRST,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_SRST,
  SBI_EXT_SRST_RESET,
  SBI_SRST_RESET_TYPE_COLD_REBOOT,
  SBI_SRST_RESET_TYPE_SHUTDOWN,
  SBI_SRST_RESET_TYPE_WARM_REBOOT,
} from './sbi-uapi.ts';
import { vcpuPowerOff } from './vcpu-ops.ts';

/**
 * kvm_riscv_vcpu_sbi_system_reset(): every vCPU of the VM stops, and this
 * one exits with KVM_EXIT_SYSTEM_EVENT carrying the type and, in data[0],
 * the SBI reset reason.
 */
export function sbiSystemReset(vcpu: KvmVcpu, type: number, reason: bigint): void {
  for (const v of vcpu.vm.vcpus) vcpuPowerOff(v);
  vcpu.exitSystemEvent(type, [reason]);
}

/** SRST: shutdown -> SYSTEM_EVENT SHUTDOWN, cold/warm reboot -> RESET; reserved types INVALID_PARAM. */
export const sbiSrst: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_SRST,
  eidStart: SBI_EXT_SRST,
  eidEnd: SBI_EXT_SRST,
  handle(call: SbiCall, ret: SbiResult) {
    if (call.fid !== SBI_EXT_SRST_RESET) {
      ret.err = SBI_ERR_NOT_SUPPORTED;
      return;
    }
    const type = lower32(call.args[0]!);
    const reason = BigInt(lower32(call.args[1]!));
    switch (type) {
      case SBI_SRST_RESET_TYPE_SHUTDOWN:
        sbiSystemReset(call.vcpu, KVM_SYSTEM_EVENT_SHUTDOWN, reason);
        ret.uexit = true;
        break;
      case SBI_SRST_RESET_TYPE_COLD_REBOOT:
      case SBI_SRST_RESET_TYPE_WARM_REBOOT:
        sbiSystemReset(call.vcpu, KVM_SYSTEM_EVENT_RESET, reason);
        ret.uexit = true;
        break;
      default:
        ret.err = SBI_ERR_INVALID_PARAM;
    }
  },
};
