import { KVM_SYSTEM_EVENT_SHUTDOWN } from '@tsvirt/kvm-core';
import { IRQ_VS_SOFT } from '@tsvirt/riscv-hart';
import { sbiForward } from './sbi-forward.ts';
import { sbiSystemReset } from './sbi-srst.ts';
import { vcpuTimerNextEvent } from './sbi-time.ts';
import type { SbiCall, SbiExtension, SbiResult } from './sbi-types.ts';
import {
  KVM_RISCV_SBI_EXT_V01,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_0_1_CLEAR_IPI,
  SBI_EXT_0_1_CONSOLE_GETCHAR,
  SBI_EXT_0_1_CONSOLE_PUTCHAR,
  SBI_EXT_0_1_REMOTE_FENCE_I,
  SBI_EXT_0_1_REMOTE_SFENCE_VMA,
  SBI_EXT_0_1_REMOTE_SFENCE_VMA_ASID,
  SBI_EXT_0_1_SEND_IPI,
  SBI_EXT_0_1_SET_TIMER,
  SBI_EXT_0_1_SHUTDOWN,
} from './sbi-uapi.ts';
import { riscvVcpu } from './state.ts';
import { readGuestUlong } from './vcpu-ops.ts';

/** The v0.1 hart mask: a guest pointer to an unsigned long, or 0 for every online vCPU. */
function legacyTargets(call: SbiCall, ret: SbiResult) {
  const ptr = call.args[0]!;
  const vcpus = call.vcpu.vm.vcpus;
  let mask: bigint;
  if (ptr === 0n) mask = (1n << BigInt(vcpus.length)) - 1n;
  else {
    const m = readGuestUlong(call.vcpu, ptr);
    if (m === undefined) {
      ret.utrap = true;
      return [];
    }
    mask = m;
  }
  return vcpus.filter((v) => v.vcpuId < 64 && ((mask >> BigInt(v.vcpuId)) & 1n) !== 0n);
}

/**
 * The legacy v0.1 calls (kvm_sbi_ext_v01_handler()): the console ones are
 * forwarded to user space as KVM_EXIT_RISCV_SBI; SHUTDOWN is a system event.
 * Their result goes in a0 only.
 */
export const sbiV01: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_V01,
  eidStart: SBI_EXT_0_1_SET_TIMER,
  eidEnd: SBI_EXT_0_1_SHUTDOWN,
  handle(call: SbiCall, ret: SbiResult) {
    switch (call.eid) {
      case SBI_EXT_0_1_CONSOLE_PUTCHAR:
      case SBI_EXT_0_1_CONSOLE_GETCHAR:
        sbiForward(call, ret, true);
        break;
      case SBI_EXT_0_1_SET_TIMER:
        vcpuTimerNextEvent(call.vcpu, call.args[0]!);
        break;
      case SBI_EXT_0_1_CLEAR_IPI:
        call.state.hart.setInterrupt(IRQ_VS_SOFT, false);
        break;
      case SBI_EXT_0_1_SEND_IPI:
        for (const t of legacyTargets(call, ret)) {
          riscvVcpu(t).hart.setInterrupt(IRQ_VS_SOFT, true);
          if (t !== call.vcpu) call.state.yieldToTargets = true;
        }
        break;
      case SBI_EXT_0_1_REMOTE_FENCE_I:
        for (const t of legacyTargets(call, ret)) riscvVcpu(t).hart.flushCodeCache();
        break;
      case SBI_EXT_0_1_REMOTE_SFENCE_VMA:
      case SBI_EXT_0_1_REMOTE_SFENCE_VMA_ASID:
        for (const t of legacyTargets(call, ret)) riscvVcpu(t).hart.flushAllTlb();
        break;
      case SBI_EXT_0_1_SHUTDOWN:
        sbiSystemReset(call.vcpu, KVM_SYSTEM_EVENT_SHUTDOWN, 0n);
        ret.uexit = true;
        break;
      default:
        ret.err = SBI_ERR_NOT_SUPPORTED;
    }
  },
};
