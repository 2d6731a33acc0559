import type { KvmVcpu } from '@tsvirt/kvm-core';
import { CSR_VSTIMECMP } from '@tsvirt/riscv-hart';
import type { SbiCall, SbiExtension, SbiResult } from './sbi-types.ts';
import {
  KVM_RISCV_SBI_EXT_TIME,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_TIME,
  SBI_EXT_TIME_SET_TIMER,
} from './sbi-uapi.ts';
import { riscvVcpu } from './state.ts';

/**
 * kvm_riscv_vcpu_timer_next_event() with Sstc: the deadline goes to
 * vstimecmp, which raises (and, once moved past the time, drops) VSTIP by
 * itself.
 */
export function vcpuTimerNextEvent(vcpu: KvmVcpu, cycles: bigint): void {
  const s = riscvVcpu(vcpu);
  s.hart.setCsr(CSR_VSTIMECMP, cycles);
  s.timerOn = true;
}

/** TIME: SET_TIMER(stime_value). */
export const sbiTime: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_TIME,
  eidStart: SBI_EXT_TIME,
  eidEnd: SBI_EXT_TIME,
  handle(call: SbiCall, ret: SbiResult) {
    if (call.fid !== SBI_EXT_TIME_SET_TIMER) {
      ret.err = SBI_ERR_NOT_SUPPORTED;
      return;
    }
    vcpuTimerNextEvent(call.vcpu, call.args[0]!);
  },
};
