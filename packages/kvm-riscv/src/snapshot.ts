import { fail } from '@tsvirt/core-bus';
import type { KvmVcpu } from '@tsvirt/kvm-core';
import { CSR_HGATP } from '@tsvirt/riscv-hart';
import type { MmioDecode } from './mmio.ts';
import { KVM_RISCV_SBI_EXT_MAX } from './sbi-uapi.ts';
import { riscvVcpu, riscvVm } from './state.ts';

/** "KRVC": a RISC-V vCPU's KVM-side state plus its hart's own blob. */
export const RISCV_VCPU_SNAPSHOT_MAGIC = 0x4356_524b;
/** Version of the KRVC snapshot format. */
export const RISCV_VCPU_SNAPSHOT_VERSION = 1;

const HEADER = 4 + 4 + 1 + KVM_RISCV_SBI_EXT_MAX + 6 + 2 + 4 + 4;

/**
 * Save a vCPU: power/halt state, SBI extension status, a pending MMIO or SBI
 * completion, the quantum left, and the hart (riscv-hart's versioned blob).
 * Restoring it into another VM's vCPU resumes the guest exactly there.
 */
export function saveRiscvVcpu(vcpu: KvmVcpu): Uint8Array {
  const s = riscvVcpu(vcpu);
  const hart = s.hart.save();
  const out = new Uint8Array(HEADER + hart.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, RISCV_VCPU_SNAPSHOT_MAGIC, true);
  dv.setUint32(4, RISCV_VCPU_SNAPSHOT_VERSION, true);
  let o = 8;
  out[o++] =
    (s.powerOff ? 1 : 0) |
    (s.blocked ? 2 : 0) |
    (s.suspended ? 4 : 0) |
    (s.ranAtLeastOnce ? 8 : 0) |
    (s.timerOn ? 16 : 0);
  out.set(s.sbiExtStatus, o);
  o += KVM_RISCV_SBI_EXT_MAX;
  const m = s.mmio;
  out.set(m ? [1, m.isWrite ? 1 : 0, m.len, m.reg, m.signed ? 1 : 0, m.insnLen] : [0, 0, 0, 0, 0, 0], o);
  o += 6;
  out[o++] = s.sbi ? 1 : 0;
  out[o++] = s.sbi?.v01 ? 1 : 0;
  dv.setUint32(o, s.budget, true);
  dv.setUint32(o + 4, hart.length, true);
  out.set(hart, HEADER);
  return out;
}

/** Restore saveRiscvVcpu()'s blob; EINVAL (and the vCPU unchanged) for a bad one. */
export function restoreRiscvVcpu(vcpu: KvmVcpu, blob: Uint8Array): void {
  const S = 'restoreRiscvVcpu';
  const s = riscvVcpu(vcpu);
  if (blob.length < HEADER) fail('EINVAL', 'snapshot too short', S);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (dv.getUint32(0, true) !== RISCV_VCPU_SNAPSHOT_MAGIC) fail('EINVAL', 'bad snapshot magic', S);
  if (dv.getUint32(4, true) !== RISCV_VCPU_SNAPSHOT_VERSION) fail('EINVAL', 'unknown snapshot version', S);
  let o = 8;
  const flags = blob[o++]!;
  if (flags > 31) fail('EINVAL', 'bad vCPU flags', S);
  const ext = blob.slice(o, o + KVM_RISCV_SBI_EXT_MAX);
  if (ext.some((e) => e > 3)) fail('EINVAL', 'bad SBI extension status', S);
  o += KVM_RISCV_SBI_EXT_MAX;
  const mm = blob.subarray(o, o + 6);
  o += 6;
  let mmio: MmioDecode | undefined;
  if (mm[0] === 1) {
    if (![1, 2, 4, 8].includes(mm[2]!) || mm[3]! > 31 || (mm[5] !== 2 && mm[5] !== 4))
      fail('EINVAL', 'bad pending MMIO', S);
    mmio = { isWrite: mm[1] === 1, len: mm[2]!, reg: mm[3]!, signed: mm[4] === 1, insnLen: mm[5]! };
  } else if (mm[0] !== 0) fail('EINVAL', 'bad pending MMIO', S);
  const sbiPending = blob[o++]!;
  const v01 = blob[o++]!;
  const budget = dv.getUint32(o, true);
  const hartLen = dv.getUint32(o + 4, true);
  if (sbiPending > 1 || v01 > 1) fail('EINVAL', 'bad pending SBI call', S);
  if (HEADER + hartLen !== blob.length) fail('EINVAL', 'hart blob length does not match', S);
  // The hart checks its own blob and changes nothing on failure; only then the rest.
  s.hart.restore(blob.subarray(HEADER));
  // hgatp names the G-stage of the VM the vCPU now lives in, not the saved one.
  s.hart.setCsr(CSR_HGATP, riscvVm(vcpu.vm).mmu.hgatp);
  s.hart.flushAllTlb();
  s.powerOff = (flags & 1) !== 0;
  s.blocked = (flags & 2) !== 0;
  s.suspended = (flags & 4) !== 0;
  s.ranAtLeastOnce = (flags & 8) !== 0;
  s.timerOn = (flags & 16) !== 0;
  s.sbiExtStatus.set(ext);
  s.mmio = mmio;
  s.sbi = sbiPending ? { v01: v01 === 1 } : undefined;
  s.budget = Math.min(Math.max(budget, 1), s.quantum);
}
