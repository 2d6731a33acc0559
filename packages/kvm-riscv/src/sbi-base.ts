import type { KvmVcpu } from '@tsvirt/kvm-core';
import type { SbiCall, SbiExtension, SbiResult } from './sbi-types.ts';
import {
  KVM_RISCV_SBI_EXT_V01,
  KVM_SBI_IMP_VERSION,
  KVM_SBI_IMPID,
  KVM_SBI_VERSION_MAJOR,
  KVM_SBI_VERSION_MINOR,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_BASE,
  SBI_EXT_BASE_GET_IMP_ID,
  SBI_EXT_BASE_GET_IMP_VERSION,
  SBI_EXT_BASE_GET_MARCHID,
  SBI_EXT_BASE_GET_MIMPID,
  SBI_EXT_BASE_GET_MVENDORID,
  SBI_EXT_BASE_GET_SPEC_VERSION,
  SBI_EXT_BASE_PROBE_EXT,
  SBI_SPEC_VERSION_MAJOR_SHIFT,
} from './sbi-uapi.ts';

/** BASE is always on and has no KVM_REG_RISCV_SBI_EXT register (ext index -1). */
export function sbiBase(probe: (vcpu: KvmVcpu, eid: number) => bigint): SbiExtension {
  return {
    extIdx: -1,
    eidStart: SBI_EXT_BASE,
    eidEnd: SBI_EXT_BASE,
    handle(call: SbiCall, ret: SbiResult) {
      switch (call.fid) {
        case SBI_EXT_BASE_GET_SPEC_VERSION:
          ret.value = BigInt((KVM_SBI_VERSION_MAJOR << SBI_SPEC_VERSION_MAJOR_SHIFT) | KVM_SBI_VERSION_MINOR);
          break;
        case SBI_EXT_BASE_GET_IMP_ID:
          ret.value = BigInt(KVM_SBI_IMPID);
          break;
        case SBI_EXT_BASE_GET_IMP_VERSION:
          ret.value = BigInt(KVM_SBI_IMP_VERSION);
          break;
        case SBI_EXT_BASE_PROBE_EXT: {
          const eid = call.args[0]!;
          ret.value = eid > 0xffff_ffffn ? 0n : probe(call.vcpu, Number(eid));
          break;
        }
        case SBI_EXT_BASE_GET_MVENDORID:
        case SBI_EXT_BASE_GET_MARCHID:
        case SBI_EXT_BASE_GET_MIMPID:
          // The emulated hart reports no vendor, architecture or implementation.
          ret.value = 0n;
          break;
        default:
          ret.err = SBI_ERR_NOT_SUPPORTED;
      }
    },
  };
}

/** The legacy extensions answer probe too, as one range. */
export const V01_EXT_IDX = KVM_RISCV_SBI_EXT_V01;
