import type { SbiCall, SbiExtension, SbiResult } from './sbi-types.ts';
import {
  KVM_RISCV_SBI_EXT_RFENCE,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_RFENCE,
  SBI_EXT_RFENCE_REMOTE_FENCE_I,
  SBI_EXT_RFENCE_REMOTE_SFENCE_VMA,
  SBI_EXT_RFENCE_REMOTE_SFENCE_VMA_ASID,
} from './sbi-uapi.ts';
import { riscvVcpu } from './state.ts';
import { hartMaskTargets } from './vcpu-ops.ts';

/**
 * RFENCE as kvm_sbi_ext_rfence_handler(): remote FENCE.I drops the targets'
 * compiled code (the hart's block compiler), remote SFENCE.VMA (with or
 * without ASID) flushes their guest translations; the HFENCE calls are for
 * nested guests and NOT_SUPPORTED.
 */
export const sbiRfence: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_RFENCE,
  eidStart: SBI_EXT_RFENCE,
  eidEnd: SBI_EXT_RFENCE,
  handle(call: SbiCall, ret: SbiResult) {
    switch (call.fid) {
      case SBI_EXT_RFENCE_REMOTE_FENCE_I: {
        const { targets } = hartMaskTargets(call.vcpu, call.args[0]!, call.args[1]!);
        for (const t of targets) riscvVcpu(t).hart.flushCodeCache();
        break;
      }
      case SBI_EXT_RFENCE_REMOTE_SFENCE_VMA:
      case SBI_EXT_RFENCE_REMOTE_SFENCE_VMA_ASID: {
        const { targets } = hartMaskTargets(call.vcpu, call.args[0]!, call.args[1]!);
        for (const t of targets) riscvVcpu(t).hart.flushAllTlb();
        break;
      }
      default:
        ret.err = SBI_ERR_NOT_SUPPORTED;
    }
  },
};
