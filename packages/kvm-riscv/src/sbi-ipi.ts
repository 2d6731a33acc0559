import { IRQ_VS_SOFT } from '@tsvirt/riscv-hart';
import type { SbiCall, SbiExtension, SbiResult } from './sbi-types.ts';
import {
  KVM_RISCV_SBI_EXT_IPI,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_IPI,
  SBI_EXT_IPI_SEND_IPI,
} from './sbi-uapi.ts';
import { riscvVcpu } from './state.ts';
import { hartMaskTargets } from './vcpu-ops.ts';

/**
 * IPI: SEND_IPI(hart_mask, hart_mask_base) raises VSSIP on each target, as
 * kvm_sbi_ext_ipi_handler(); a mask bit naming no vCPU makes the call
 * INVALID_PARAM (the others still get theirs).
 */
export const sbiIpi: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_IPI,
  eidStart: SBI_EXT_IPI,
  eidEnd: SBI_EXT_IPI,
  handle(call: SbiCall, ret: SbiResult) {
    if (call.fid !== SBI_EXT_IPI_SEND_IPI) {
      ret.err = SBI_ERR_NOT_SUPPORTED;
      return;
    }
    const { targets, complete } = hartMaskTargets(call.vcpu, call.args[0]!, call.args[1]!);
    for (const t of targets) riscvVcpu(t).hart.setInterrupt(IRQ_VS_SOFT, true);
    if (targets.some((t) => t !== call.vcpu)) call.state.yieldToTargets = true;
    if (!complete) ret.err = SBI_ERR_INVALID_PARAM;
  },
};
