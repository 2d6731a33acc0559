import { fail } from '@tsvirt/core-bus';
import {
  KVM_REG_ARCH_MASK,
  KVM_REG_RISCV,
  KVM_REG_SIZE_MASK,
  KVM_REG_SIZE_U32,
  KVM_REG_SIZE_U64,
  type KvmVcpu,
} from '@tsvirt/kvm-core';
import * as C from '@tsvirt/riscv-hart';
import {
  KVM_REG_RISCV_CORE,
  KVM_REG_RISCV_CSR,
  KVM_REG_RISCV_CSR_GENERAL,
  KVM_REG_RISCV_FP_D,
  KVM_REG_RISCV_SBI_EXT,
  KVM_REG_RISCV_SBI_MULTI_DIS,
  KVM_REG_RISCV_SBI_MULTI_EN,
  KVM_REG_RISCV_SBI_SINGLE,
  KVM_REG_RISCV_SUBTYPE_MASK,
  KVM_REG_RISCV_TIMER,
  KVM_REG_RISCV_TYPE_MASK,
  KVM_RISCV_CORE_MODE,
  KVM_RISCV_CORE_NR,
  KVM_RISCV_CORE_PC,
  KVM_RISCV_MODE_S,
  KVM_RISCV_MODE_U,
  KVM_RISCV_TIMER_COMPARE,
  KVM_RISCV_TIMER_FREQUENCY,
  KVM_RISCV_TIMER_STATE,
  KVM_RISCV_TIMER_STATE_OFF,
  KVM_RISCV_TIMER_STATE_ON,
  KVM_RISCV_TIMER_TIME,
  riscvCoreReg,
  riscvCsrReg,
  riscvFpDReg,
  riscvSbiExtReg,
  riscvTimerReg,
} from './onereg-uapi.ts';
import { initialSbiExtStatus, sbiExtByIdx } from './sbi.ts';
import { KVM_RISCV_SBI_EXT_MAX } from './sbi-uapi.ts';
import {
  type RiscvVcpuState,
  riscvVcpu,
  riscvVm,
  SBI_EXT_STATUS_DISABLED,
  SBI_EXT_STATUS_ENABLED,
  SBI_EXT_STATUS_UNAVAILABLE,
} from './state.ts';

/** struct kvm_riscv_csr order -> the hart's VS-level CSR (the guest's S-mode view). */
const CSR_MAP = [
  C.CSR_VSSTATUS,
  C.CSR_VSIE,
  C.CSR_VSTVEC,
  C.CSR_VSSCRATCH,
  C.CSR_VSEPC,
  C.CSR_VSCAUSE,
  C.CSR_VSTVAL,
  C.CSR_VSIP,
  C.CSR_VSATP,
  C.CSR_SCOUNTEREN,
  C.CSR_SENVCFG,
];
/** KVM_REG_RISCV_SBI_MULTI_REG_LAST: the last 64-extension word. */
const SBI_MULTI_LAST = Math.ceil(KVM_RISCV_SBI_EXT_MAX / 64) - 1;
const U64_MAX = (1n << 64n) - 1n;

const S_GET = 'KVM_GET_ONE_REG';
const S_SET = 'KVM_SET_ONE_REG';

interface Parsed {
  type: bigint;
  subtype: bigint;
  num: number;
  size: bigint;
}

function parse(id: bigint, S: string): Parsed {
  if ((id & KVM_REG_ARCH_MASK) !== KVM_REG_RISCV)
    fail('ENOENT', `0x${id.toString(16)} is not a RISC-V register`, S);
  return {
    type: id & KVM_REG_RISCV_TYPE_MASK,
    subtype: id & KVM_REG_RISCV_SUBTYPE_MASK,
    num: Number(id & 0xffffn),
    size: id & KVM_REG_SIZE_MASK,
  };
}

function needU64(p: Parsed, S: string): void {
  if (p.size !== KVM_REG_SIZE_U64) fail('EINVAL', 'register size is not unsigned long', S);
}

function vmTime(vcpu: KvmVcpu): bigint {
  return BigInt.asUintN(64, BigInt(riscvVm(vcpu.vm).time) + riscvVcpu(vcpu).hart.htimedelta);
}

/** kvm_riscv_vcpu_get_reg(): ENOENT for unknown ids, EINVAL for a wrong size. */
export function riscvGetOneReg(vcpu: KvmVcpu, id: bigint): bigint {
  const p = parse(id, S_GET);
  const s = riscvVcpu(vcpu);
  const h = s.hart;
  switch (p.type) {
    case KVM_REG_RISCV_CORE:
      needU64(p, S_GET);
      if (p.subtype !== 0n || p.num >= KVM_RISCV_CORE_NR) fail('ENOENT', `no core register ${p.num}`, S_GET);
      if (p.num === KVM_RISCV_CORE_PC) return h.pc;
      if (p.num === KVM_RISCV_CORE_MODE) return h.priv === C.PRV_S ? KVM_RISCV_MODE_S : KVM_RISCV_MODE_U;
      return BigInt.asUintN(64, h.getX(p.num));
    case KVM_REG_RISCV_CSR:
      needU64(p, S_GET);
      if (p.subtype !== KVM_REG_RISCV_CSR_GENERAL || p.num >= CSR_MAP.length)
        fail('ENOENT', `no CSR register ${p.num} (subtype ${p.subtype >> 16n})`, S_GET);
      return h.getCsr(CSR_MAP[p.num]!);
    case KVM_REG_RISCV_TIMER:
      needU64(p, S_GET);
      switch (p.num) {
        case KVM_RISCV_TIMER_FREQUENCY:
          return BigInt(riscvVm(vcpu.vm).timebaseFrequency);
        case KVM_RISCV_TIMER_TIME:
          return vmTime(vcpu);
        case KVM_RISCV_TIMER_COMPARE:
          return h.getCsr(C.CSR_VSTIMECMP);
        case KVM_RISCV_TIMER_STATE:
          return s.timerOn ? KVM_RISCV_TIMER_STATE_ON : KVM_RISCV_TIMER_STATE_OFF;
      }
      return fail('ENOENT', `no timer register ${p.num}`, S_GET);
    case KVM_REG_RISCV_FP_D:
      if (p.num < 32) {
        needU64(p, S_GET);
        return h.getF(p.num);
      }
      if (p.num === 32) {
        if (p.size !== KVM_REG_SIZE_U32) fail('EINVAL', 'fcsr is a u32', S_GET);
        return h.getCsr(C.CSR_FCSR);
      }
      return fail('ENOENT', `no FP register ${p.num}`, S_GET);
    case KVM_REG_RISCV_SBI_EXT:
      needU64(p, S_GET);
      return getSbiExt(s, p);
  }
  return fail('ENOENT', `unknown register type ${p.type >> 24n}`, S_GET);
}

function getSbiExt(s: RiscvVcpuState, p: Parsed): bigint {
  if (p.subtype === KVM_REG_RISCV_SBI_SINGLE) {
    if (p.num >= KVM_RISCV_SBI_EXT_MAX || sbiExtByIdx(p.num) === undefined)
      fail('ENOENT', `no SBI extension ${p.num}`, S_GET);
    return s.sbiExtStatus[p.num] === SBI_EXT_STATUS_ENABLED ? 1n : 0n;
  }
  if (p.subtype === KVM_REG_RISCV_SBI_MULTI_EN || p.subtype === KVM_REG_RISCV_SBI_MULTI_DIS) {
    if (p.num > SBI_MULTI_LAST) fail('ENOENT', `no SBI multi register ${p.num}`, S_GET);
    let v = 0n;
    for (let i = 0; i < 64; i++) {
      const idx = p.num * 64 + i;
      if (idx >= KVM_RISCV_SBI_EXT_MAX || sbiExtByIdx(idx) === undefined) continue;
      if (s.sbiExtStatus[idx] === SBI_EXT_STATUS_ENABLED) v |= 1n << BigInt(i);
    }
    return p.subtype === KVM_REG_RISCV_SBI_MULTI_DIS ? ~v & U64_MAX : v;
  }
  return fail('ENOENT', `no SBI register subtype ${p.subtype >> 16n}`, S_GET);
}

/** kvm_riscv_vcpu_set_reg(): as get, plus EINVAL for values a register cannot take and EBUSY for SBI extensions after the first run. */
export function riscvSetOneReg(vcpu: KvmVcpu, id: bigint, value: bigint | Uint8Array): void {
  const p = parse(id, S_SET);
  if (typeof value !== 'bigint') {
    fail('EINVAL', 'no RISC-V register is wider than 8 bytes', S_SET);
    return;
  }
  const s = riscvVcpu(vcpu);
  const h = s.hart;
  switch (p.type) {
    case KVM_REG_RISCV_CORE:
      needU64(p, S_SET);
      if (p.subtype !== 0n || p.num >= KVM_RISCV_CORE_NR) fail('ENOENT', `no core register ${p.num}`, S_SET);
      if (p.num === KVM_RISCV_CORE_PC) h.pc = value;
      else if (p.num === KVM_RISCV_CORE_MODE) {
        if (value === KVM_RISCV_MODE_S) h.setMode(C.PRV_S, 1);
        else if (value === KVM_RISCV_MODE_U) h.setMode(C.PRV_U, 1);
        else fail('EINVAL', `mode ${value} is neither S nor U`, S_SET);
      } else h.setX(p.num, value);
      return;
    case KVM_REG_RISCV_CSR:
      needU64(p, S_SET);
      if (p.subtype !== KVM_REG_RISCV_CSR_GENERAL || p.num >= CSR_MAP.length)
        fail('ENOENT', `no CSR register ${p.num} (subtype ${p.subtype >> 16n})`, S_SET);
      h.setCsr(CSR_MAP[p.num]!, value);
      return;
    case KVM_REG_RISCV_TIMER:
      needU64(p, S_SET);
      setTimerReg(vcpu, s, p.num, value);
      return;
    case KVM_REG_RISCV_FP_D:
      if (p.num < 32) {
        needU64(p, S_SET);
        h.setF(p.num, value);
        return;
      }
      if (p.num === 32) {
        if (p.size !== KVM_REG_SIZE_U32) fail('EINVAL', 'fcsr is a u32', S_SET);
        h.setCsr(C.CSR_FCSR, value);
        return;
      }
      fail('ENOENT', `no FP register ${p.num}`, S_SET);
      return;
    case KVM_REG_RISCV_SBI_EXT:
      needU64(p, S_SET);
      if (s.ranAtLeastOnce) fail('EBUSY', 'SBI extensions are fixed once the vCPU has run', S_SET);
      setSbiExt(s, p, value);
      return;
  }
  fail('ENOENT', `unknown register type ${p.type >> 24n}`, S_SET);
}

function setTimerReg(vcpu: KvmVcpu, s: RiscvVcpuState, num: number, value: bigint): void {
  const h = s.hart;
  switch (num) {
    case KVM_RISCV_TIMER_FREQUENCY:
      if (value !== BigInt(riscvVm(vcpu.vm).timebaseFrequency))
        fail('EINVAL', 'the timebase frequency is fixed', S_SET);
      return;
    case KVM_RISCV_TIMER_TIME: {
      // The guest time offset is per VM (kvm->arch.timer.time_delta): every hart moves.
      const delta = BigInt.asUintN(64, value - BigInt(riscvVm(vcpu.vm).time));
      for (const v of vcpu.vm.vcpus) riscvVcpu(v).hart.htimedelta = delta;
      h.htimedelta = delta;
      return;
    }
    case KVM_RISCV_TIMER_COMPARE:
      h.setCsr(C.CSR_VSTIMECMP, value);
      return;
    case KVM_RISCV_TIMER_STATE:
      if (value === KVM_RISCV_TIMER_STATE_ON) s.timerOn = true;
      else if (value === KVM_RISCV_TIMER_STATE_OFF) {
        s.timerOn = false;
        h.setCsr(C.CSR_VSTIMECMP, U64_MAX);
      } else fail('EINVAL', `timer state ${value}`, S_SET);
      return;
  }
  fail('ENOENT', `no timer register ${num}`, S_SET);
}

function setSingle(s: RiscvVcpuState, idx: number, value: bigint): void {
  if (value !== 0n && value !== 1n) fail('EINVAL', `SBI extension value ${value} is not 0 or 1`, S_SET);
  if (
    idx >= KVM_RISCV_SBI_EXT_MAX ||
    sbiExtByIdx(idx) === undefined ||
    s.sbiExtStatus[idx] === SBI_EXT_STATUS_UNAVAILABLE
  )
    fail('ENOENT', `no SBI extension ${idx}`, S_SET);
  s.sbiExtStatus[idx] = value ? SBI_EXT_STATUS_ENABLED : SBI_EXT_STATUS_DISABLED;
}

function setSbiExt(s: RiscvVcpuState, p: Parsed, value: bigint): void {
  if (p.subtype === KVM_REG_RISCV_SBI_SINGLE) {
    setSingle(s, p.num, value);
    return;
  }
  if (p.subtype === KVM_REG_RISCV_SBI_MULTI_EN || p.subtype === KVM_REG_RISCV_SBI_MULTI_DIS) {
    if (p.num > SBI_MULTI_LAST) fail('ENOENT', `no SBI multi register ${p.num}`, S_SET);
    const en = p.subtype === KVM_REG_RISCV_SBI_MULTI_EN ? 1n : 0n;
    // All or nothing: check every named extension before changing any.
    const saved = s.sbiExtStatus.slice();
    try {
      for (let i = 0; i < 64; i++) if ((value >> BigInt(i)) & 1n) setSingle(s, p.num * 64 + i, en);
    } catch (e) {
      s.sbiExtStatus.set(saved);
      throw e;
    }
    return;
  }
  fail('ENOENT', `no SBI register subtype ${p.subtype >> 16n}`, S_SET);
}

/** KVM_GET_REG_LIST: core, CSRs, timer, FP (D), then one SBI_EXT register per available extension. */
export function riscvRegList(vcpu: KvmVcpu): bigint[] {
  const s = riscvVcpu(vcpu);
  const out: bigint[] = [];
  for (let i = 0; i < KVM_RISCV_CORE_NR; i++) out.push(riscvCoreReg(i));
  for (let i = 0; i < CSR_MAP.length; i++) out.push(riscvCsrReg(i));
  for (let i = 0; i < 4; i++) out.push(riscvTimerReg(i));
  for (let i = 0; i <= 32; i++) out.push(riscvFpDReg(i));
  for (let i = 0; i < KVM_RISCV_SBI_EXT_MAX; i++)
    if (sbiExtByIdx(i) !== undefined && s.sbiExtStatus[i] !== SBI_EXT_STATUS_UNAVAILABLE)
      out.push(riscvSbiExtReg(i));
  return out;
}

export { initialSbiExtStatus };
