import { sbiForward } from './sbi-forward.ts';
import type { SbiCall, SbiExtension, SbiResult } from './sbi-types.ts';
import {
  KVM_RISCV_SBI_EXT_DBCN,
  KVM_RISCV_SBI_EXT_EXPERIMENTAL,
  KVM_RISCV_SBI_EXT_VENDOR,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_DBCN,
  SBI_EXT_DBCN_CONSOLE_READ,
  SBI_EXT_DBCN_CONSOLE_WRITE,
  SBI_EXT_DBCN_CONSOLE_WRITE_BYTE,
  SBI_EXT_EXPERIMENTAL_END,
  SBI_EXT_EXPERIMENTAL_START,
  SBI_EXT_VENDOR_END,
  SBI_EXT_VENDOR_START,
} from './sbi-uapi.ts';

/**
 * DBCN: every console call goes to user space (KVM_EXIT_RISCV_SBI), which
 * reads or writes the guest buffer itself. Off by default, as upstream:
 * user space enables it through KVM_REG_RISCV_SBI_EXT when it implements it.
 */
export const sbiDbcn: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_DBCN,
  eidStart: SBI_EXT_DBCN,
  eidEnd: SBI_EXT_DBCN,
  defaultDisabled: true,
  handle(call: SbiCall, ret: SbiResult) {
    switch (call.fid) {
      case SBI_EXT_DBCN_CONSOLE_WRITE:
      case SBI_EXT_DBCN_CONSOLE_READ:
      case SBI_EXT_DBCN_CONSOLE_WRITE_BYTE:
        sbiForward(call, ret);
        break;
      default:
        ret.err = SBI_ERR_NOT_SUPPORTED;
    }
  },
};

/** The experimental and vendor ranges are user space's to implement. */
export const sbiExperimental: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_EXPERIMENTAL,
  eidStart: SBI_EXT_EXPERIMENTAL_START,
  eidEnd: SBI_EXT_EXPERIMENTAL_END,
  handle: (call, ret) => sbiForward(call, ret),
};

export const sbiVendor: SbiExtension = {
  extIdx: KVM_RISCV_SBI_EXT_VENDOR,
  eidStart: SBI_EXT_VENDOR_START,
  eidEnd: SBI_EXT_VENDOR_END,
  handle: (call, ret) => sbiForward(call, ret),
};
