import type { KvmRun, KvmVcpu } from '@tsvirt/kvm-core';
import { sbiBase } from './sbi-base.ts';
import { sbiDbcn, sbiExperimental, sbiVendor } from './sbi-dbcn.ts';
import { sbiHsm } from './sbi-hsm.ts';
import { sbiIpi } from './sbi-ipi.ts';
import { sbiRfence } from './sbi-rfence.ts';
import { sbiSrst } from './sbi-srst.ts';
import { sbiTime } from './sbi-time.ts';
import type { SbiCall, SbiExtension, SbiResult } from './sbi-types.ts';
import { KVM_RISCV_SBI_EXT_MAX, SBI_ERR_NOT_SUPPORTED } from './sbi-uapi.ts';
import { sbiV01 } from './sbi-v01.ts';
import {
  type RiscvVcpuState,
  riscvVcpu,
  SBI_EXT_STATUS_DISABLED,
  SBI_EXT_STATUS_ENABLED,
  SBI_EXT_STATUS_UNAVAILABLE,
} from './state.ts';

const base = sbiBase(probeExtension);

/** sbi_ext[]: the extensions this KVM implements, BASE first. */
export const SBI_EXTENSIONS: readonly SbiExtension[] = [
  base,
  sbiV01,
  sbiTime,
  sbiIpi,
  sbiRfence,
  sbiSrst,
  sbiHsm,
  sbiDbcn,
  sbiExperimental,
  sbiVendor,
];

/** riscv_vcpu_get_sbi_ext(): the extension registered under a kvm_riscv_sbi_ext_id. */
export function sbiExtByIdx(idx: number): SbiExtension | undefined {
  return SBI_EXTENSIONS.find((e) => e.extIdx === idx && idx >= 0);
}

/** kvm_riscv_vcpu_sbi_init(): the starting status of every extension id. */
export function initialSbiExtStatus(): Uint8Array {
  const st = new Uint8Array(KVM_RISCV_SBI_EXT_MAX).fill(SBI_EXT_STATUS_UNAVAILABLE);
  for (const e of SBI_EXTENSIONS) {
    if (e.extIdx < 0) continue;
    st[e.extIdx] = e.defaultDisabled ? SBI_EXT_STATUS_DISABLED : SBI_EXT_STATUS_ENABLED;
  }
  return st;
}

function findExt(s: RiscvVcpuState, eid: number): SbiExtension | undefined {
  for (const e of SBI_EXTENSIONS) {
    if (eid < e.eidStart || eid > e.eidEnd) continue;
    if (e.extIdx >= 0 && s.sbiExtStatus[e.extIdx] !== SBI_EXT_STATUS_ENABLED) return undefined;
    return e;
  }
  return undefined;
}

/** BASE probe_extension: 0 for an unknown or disabled extension. */
function probeExtension(vcpu: KvmVcpu, eid: number): bigint {
  const e = findExt(riscvVcpu(vcpu), eid);
  if (e === undefined) return 0n;
  return e.probe?.(vcpu) ?? 1n;
}

const ARGS = [10, 11, 12, 13, 14, 15];

/**
 * kvm_riscv_vcpu_sbi_ecall(): a7 = extension, a6 = function, a0..a5 args.
 * Handled calls return a0 = error and (not v0.1) a1 = value, and step past the
 * ecall; an unknown or disabled extension is SBI_ERR_NOT_SUPPORTED. Returns
 * true when the call exits to user space (forwarded or system event).
 */
export function sbiEcall(vcpu: KvmVcpu, s: RiscvVcpuState): boolean {
  const h = s.hart;
  const a7 = BigInt.asUintN(64, h.getX(17));
  const eid = a7 > 0xffff_ffffn ? -1 : Number(a7);
  const a6 = BigInt.asUintN(64, h.getX(16));
  const call: SbiCall = {
    vcpu,
    state: s,
    eid,
    fid: a6 > 0xffff_ffffn ? -1 : Number(a6),
    args: ARGS.map((r) => BigInt.asUintN(64, h.getX(r))),
  };
  const ret: SbiResult = { err: 0n, value: 0n, uexit: false, utrap: false };
  const ext = eid < 0 ? undefined : findExt(s, eid);
  if (ext === undefined) ret.err = SBI_ERR_NOT_SUPPORTED;
  else ext.handle(call, ret);
  if (ret.uexit) return true;
  if (ret.utrap) return false;
  h.pc += 4n;
  s.completedInsns++;
  h.setX(10, ret.err);
  if (ext !== sbiV01) h.setX(11, ret.value);
  return false;
}

/** kvm_riscv_vcpu_sbi_return(): user space answered a forwarded call in ret[0..1]. */
export function sbiComplete(s: RiscvVcpuState, run: KvmRun): void {
  if (s.sbi === undefined) return;
  s.sbi = undefined;
  const h = s.hart;
  h.setX(10, run.riscv_sbi.ret[0]!);
  h.setX(11, run.riscv_sbi.ret[1]!);
  h.pc += 4n;
  s.completedInsns++;
}
