import { lower32, type SbiCall, type SbiExtension, type SbiResult } from './sbi-types.ts';
import {
  KVM_RISCV_SBI_EXT_HSM,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_FAILURE,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_HSM,
  SBI_EXT_HSM_HART_GET_STATUS,
  SBI_EXT_HSM_HART_START,
  SBI_EXT_HSM_HART_STOP,
  SBI_EXT_HSM_HART_SUSPEND,
  SBI_HSM_STATE_STARTED,
  SBI_HSM_STATE_STOPPED,
  SBI_HSM_STATE_SUSPENDED,
  SBI_HSM_SUSPEND_NON_RET_DEFAULT,
  SBI_HSM_SUSPEND_RET_DEFAULT,
} from './sbi-uapi.ts';
import { riscvVcpu } from './state.ts';
import { vcpuHasInterrupts, vcpuPowerOff, vcpuPowerOn } from './vcpu-ops.ts';

function target(call: SbiCall) {
  const id = call.args[0]!;
  return id > 0xffff_ffffn ? undefined : call.vcpu.vm.vcpuById(Number(id));
}

/**
 * HSM as kvm_sbi_ext_hsm_handler(): START of a stopped hart (else
 * ALREADY_AVAILABLE; an unknown hart is INVALID_PARAM), STOP of oneself
 * (FAILURE if already off), GET_STATUS (STOPPED, SUSPENDED while the hart is
 * blocked in wfi/suspend, else STARTED), SUSPEND with the default retentive
 * type only (non-retentive: NOT_SUPPORTED; others INVALID_PARAM).
 */
export const sbiHsm: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_HSM,
  eidStart: SBI_EXT_HSM,
  eidEnd: SBI_EXT_HSM,
  handle(call: SbiCall, ret: SbiResult) {
    switch (call.fid) {
      case SBI_EXT_HSM_HART_START: {
        const t = target(call);
        if (t === undefined) ret.err = SBI_ERR_INVALID_PARAM;
        else if (!riscvVcpu(t).powerOff) ret.err = SBI_ERR_ALREADY_AVAILABLE;
        else vcpuPowerOn(t, call.args[1]!, call.args[2]!);
        break;
      }
      case SBI_EXT_HSM_HART_STOP:
        if (call.state.powerOff) ret.err = SBI_ERR_FAILURE;
        else vcpuPowerOff(call.vcpu);
        break;
      case SBI_EXT_HSM_HART_GET_STATUS: {
        const t = target(call);
        if (t === undefined) {
          ret.err = SBI_ERR_INVALID_PARAM;
          break;
        }
        const ts = riscvVcpu(t);
        ret.value = BigInt(
          ts.powerOff ? SBI_HSM_STATE_STOPPED : ts.blocked ? SBI_HSM_STATE_SUSPENDED : SBI_HSM_STATE_STARTED,
        );
        break;
      }
      case SBI_EXT_HSM_HART_SUSPEND: {
        const type = lower32(call.args[0]!);
        if (type === SBI_HSM_SUSPEND_RET_DEFAULT) {
          // kvm_riscv_vcpu_wfi(): block unless an interrupt is already pending.
          if (!vcpuHasInterrupts(call.vcpu)) {
            call.state.blocked = true;
            call.state.suspended = true;
          }
        } else if (type === SBI_HSM_SUSPEND_NON_RET_DEFAULT) {
          ret.err = SBI_ERR_NOT_SUPPORTED;
        } else {
          ret.err = SBI_ERR_INVALID_PARAM;
        }
        break;
      }
      default:
        ret.err = SBI_ERR_NOT_SUPPORTED;
    }
  },
};
