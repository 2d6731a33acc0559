import { fail } from '@tsvirt/core-bus';
import {
  KVM_REG_ARM_COPROC_MASK,
  KVM_REG_ARM_CORE,
  KVM_REG_ARM_FW,
  KVM_REG_ARM_FW_FEAT_BMAP,
} from '@tsvirt/kvm-arm-psci';
import {
  KVM_REG_ARM64,
  KVM_REG_SIZE_MASK,
  KVM_REG_SIZE_U32,
  KVM_REG_SIZE_U64,
  KVM_REG_SIZE_U128,
  type KvmVcpu,
  kvmRegSize,
} from '@tsvirt/kvm-core';
import { armVcpu } from './state.ts';
import {
  LISTED_SYSREGS,
  PSR_AA32_MODE_MASK,
  PSR_MODE_EL0T,
  PSR_MODE_EL1H,
  PSR_MODE_EL1T,
  SYS_CNTV_CTL_EL0,
  SYS_CNTV_CVAL_EL0,
  SYS_CNTVCT_EL0,
  SYS_CNTVOFF_EL2,
  SYS_ELR_EL1,
  SYS_FPCR,
  SYS_FPSR,
  SYS_MPIDR_EL1,
  SYS_SPSR_EL1,
  SYS_VMPIDR_EL2,
} from './sysregs.ts';
import {
  CORE_NR_REGS,
  CORE_OFF_ELR_EL1,
  CORE_OFF_FPCR,
  CORE_OFF_FPSR,
  CORE_OFF_PC,
  CORE_OFF_PSTATE,
  CORE_OFF_SP,
  CORE_OFF_SP_EL1,
  CORE_OFF_SPSR,
  CORE_OFF_VREGS,
  coreRegId,
  KVM_NR_SPSR,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_TIMER_CVAL,
  KVM_REG_ARM64_SYSREG,
  KVM_REG_ARM64_SYSREG_MASK,
} from './uapi.ts';

const G = 'KVM_GET_ONE_REG';
const S = 'KVM_SET_ONE_REG';
const hex = (v: bigint) => `0x${v.toString(16)}`;

/** core_reg_size_from_offset(): the size of the field at u32 offset `off`, or undefined (EINVAL). */
function coreRegSize(off: number): number | undefined {
  let size: number;
  if (off < CORE_OFF_SPSR + 2 * KVM_NR_SPSR) size = 8;
  else if (off < CORE_OFF_VREGS)
    return undefined; // padding before the 16-byte aligned fp_regs
  else if (off < CORE_OFF_FPSR) size = 16;
  else if (off === CORE_OFF_FPSR || off === CORE_OFF_FPCR) size = 4;
  else return undefined;
  if (off % (size / 4) !== 0) return undefined;
  return size;
}

/**
 * Validate a core register id as get_core_reg()/set_core_reg() do: an
 * offset (plus size) past struct kvm_regs is ENOENT; a size that does not
 * match the field, or a misaligned offset, is EINVAL. Returns the offset.
 */
function coreOffset(id: bigint, op: string): number {
  const off = Number(id & 0xffffn);
  const sizeWords = kvmRegSize(id) / 4;
  if (off >= CORE_NR_REGS || off + sizeWords >= CORE_NR_REGS)
    fail('ENOENT', `core register offset ${off} is past struct kvm_regs`, op);
  const size = coreRegSize(off);
  if (size === undefined || size !== kvmRegSize(id))
    fail('EINVAL', `core register ${hex(id)}: no field of that size at offset ${off}`, op);
  return off;
}

function requireInit(vcpu: KvmVcpu, op: string): void {
  if (!armVcpu(vcpu).psci.initialized) fail('ENOEXEC', 'KVM_ARM_VCPU_INIT first', op);
}

/** A system register id's encoding, when it is one. */
function sysRegEncOf(id: bigint): number | undefined {
  if ((id & KVM_REG_ARM_COPROC_MASK) !== KVM_REG_ARM64_SYSREG) return undefined;
  return Number(id & KVM_REG_ARM64_SYSREG_MASK);
}

/** kvm_arm_get_reg(): core, firmware, timer and system registers; ENOEXEC before KVM_ARM_VCPU_INIT. */
export function armGetOneReg(vcpu: KvmVcpu, id: bigint): bigint | Uint8Array {
  requireInit(vcpu, G);
  const s = armVcpu(vcpu);
  const cpu = s.cpu;
  if ((id & ~KVM_REG_SIZE_MASK) >> 32n !== KVM_REG_ARM64 >> 32n)
    fail('EINVAL', 'not an arm64 register id', G);
  const coproc = id & KVM_REG_ARM_COPROC_MASK;
  if (coproc === KVM_REG_ARM_CORE) {
    const off = coreOffset(id, G);
    if (off < CORE_OFF_SP) return cpu.x[off / 2]!;
    switch (off) {
      case CORE_OFF_SP:
        return cpu.spEl0;
      case CORE_OFF_PC:
        return cpu.pc;
      case CORE_OFF_PSTATE:
        return BigInt(cpu.pstate >>> 0);
      case CORE_OFF_SP_EL1:
        return cpu.spEl1;
      case CORE_OFF_ELR_EL1:
        return cpu.getSysReg(SYS_ELR_EL1) ?? 0n;
      case CORE_OFF_SPSR:
        return cpu.getSysReg(SYS_SPSR_EL1) ?? 0n;
    }
    if (off < CORE_OFF_VREGS) return s.spsrAa32[(off - CORE_OFF_SPSR) / 2 - 1]!;
    if (off === CORE_OFF_FPSR) return cpu.getSysReg(SYS_FPSR) ?? 0n;
    if (off === CORE_OFF_FPCR) return cpu.getSysReg(SYS_FPCR) ?? 0n;
    // fp_regs.vregs[n]: 16 bytes, little-endian (V[n] = v[2n] | v[2n+1] << 64).
    const n = (off - CORE_OFF_VREGS) / 4;
    const out = new Uint8Array(16);
    const dv = new DataView(out.buffer);
    dv.setBigUint64(0, cpu.v[2 * n]!, true);
    dv.setBigUint64(8, cpu.v[2 * n + 1]!, true);
    return out;
  }
  if (coproc === KVM_REG_ARM_FW || coproc === KVM_REG_ARM_FW_FEAT_BMAP) return s.psci.getOneRegValue(id);
  if (kvmRegSize(id) !== 8) fail('ENOENT', `register ${hex(id)} is not 64-bit`, G);
  if (id === KVM_REG_ARM_TIMER_CTL) return cpu.getSysReg(SYS_CNTV_CTL_EL0) ?? 0n;
  if (id === KVM_REG_ARM_TIMER_CNT) return cpu.getSysReg(SYS_CNTVCT_EL0) ?? 0n;
  if (id === KVM_REG_ARM_TIMER_CVAL) return cpu.getSysReg(SYS_CNTV_CVAL_EL0) ?? 0n;
  const enc = sysRegEncOf(id);
  const v = enc === undefined ? undefined : cpu.getSysReg(enc);
  if (v === undefined) fail('ENOENT', `no register ${hex(id)} on this vCPU`, G);
  return v;
}

/** set_core_reg()'s PSTATE check: a 64-bit vCPU takes EL0t, EL1t or EL1h only. */
function checkPstate(v: bigint): void {
  const mode = Number(v & BigInt(PSR_AA32_MODE_MASK));
  if (mode !== PSR_MODE_EL0T && mode !== PSR_MODE_EL1T && mode !== PSR_MODE_EL1H)
    fail('EINVAL', `PSTATE mode 0x${mode.toString(16)} is not EL0t, EL1t or EL1h`, S);
}

/** kvm_arm_set_reg(). */
export function armSetOneReg(vcpu: KvmVcpu, id: bigint, value: bigint | Uint8Array): void {
  requireInit(vcpu, S);
  const s = armVcpu(vcpu);
  const cpu = s.cpu;
  if ((id & ~KVM_REG_SIZE_MASK) >> 32n !== KVM_REG_ARM64 >> 32n)
    fail('EINVAL', 'not an arm64 register id', S);
  const coproc = id & KVM_REG_ARM_COPROC_MASK;
  if (coproc === KVM_REG_ARM_CORE) {
    const off = coreOffset(id, S);
    if (value instanceof Uint8Array) {
      // Only the 16-byte V registers come as bytes (kvm-core converts the rest).
      const n = (off - CORE_OFF_VREGS) / 4;
      const dv = new DataView(value.buffer, value.byteOffset, 16);
      cpu.v[2 * n] = dv.getBigUint64(0, true);
      cpu.v[2 * n + 1] = dv.getBigUint64(8, true);
      return;
    }
    if (off === CORE_OFF_FPSR || off === CORE_OFF_FPCR) {
      cpu.setSysReg(off === CORE_OFF_FPSR ? SYS_FPSR : SYS_FPCR, value);
      return;
    }
    if (off < CORE_OFF_SP) {
      cpu.x[off / 2] = value;
      return;
    }
    switch (off) {
      case CORE_OFF_SP:
        cpu.spEl0 = value;
        return;
      case CORE_OFF_PC:
        cpu.pc = value;
        return;
      case CORE_OFF_PSTATE:
        checkPstate(value);
        cpu.pstate = Number(value & 0xffff_ffffn) >>> 0;
        return;
      case CORE_OFF_SP_EL1:
        cpu.spEl1 = value;
        return;
      case CORE_OFF_ELR_EL1:
        cpu.setSysReg(SYS_ELR_EL1, value);
        return;
      case CORE_OFF_SPSR:
        cpu.setSysReg(SYS_SPSR_EL1, value);
        return;
    }
    s.spsrAa32[(off - CORE_OFF_SPSR) / 2 - 1] = value;
    return;
  }
  if (typeof value !== 'bigint') fail('ENOENT', `no ${kvmRegSize(id)}-byte register ${hex(id)}`, S);
  if (coproc === KVM_REG_ARM_FW || coproc === KVM_REG_ARM_FW_FEAT_BMAP) {
    s.psci.setOneRegValue(id, value);
    return;
  }
  if (id === KVM_REG_ARM_TIMER_CTL) {
    cpu.setSysReg(SYS_CNTV_CTL_EL0, value);
    return;
  }
  if (id === KVM_REG_ARM_TIMER_CNT) {
    // kvm_arm_timer_set_reg(): the count is set through the offset, CNTVCT = CNTPCT - CNTVOFF.
    const off = cpu.getSysReg(SYS_CNTVOFF_EL2);
    const now = cpu.getSysReg(SYS_CNTVCT_EL0);
    if (off === undefined || now === undefined) fail('ENOENT', 'the vCPU has no virtual counter offset', S);
    cpu.setSysReg(SYS_CNTVOFF_EL2, BigInt.asUintN(64, now + off - value));
    return;
  }
  if (id === KVM_REG_ARM_TIMER_CVAL) {
    cpu.setSysReg(SYS_CNTV_CVAL_EL0, value);
    return;
  }
  const enc = sysRegEncOf(id);
  // MPIDR_EL1 is read-only to the guest; user space's value is what VMPIDR_EL2 gives it (reset_mpidr()'s register).
  if (enc === SYS_MPIDR_EL1 && cpu.setSysReg(SYS_VMPIDR_EL2, value)) return;
  if (enc === undefined || cpu.getSysReg(enc) === undefined || !cpu.setSysReg(enc, value))
    fail('ENOENT', `no register ${hex(id)} on this vCPU`, S);
}

/**
 * kvm_arm_copy_reg_indices(): the core registers (x0-x30, sp, pc, pstate,
 * sp_el1, elr_el1, spsr[0..4], vregs[0..31], fpsr, fpcr), the
 * firmware registers of the host model, the three timer registers, then the
 * EL1 system registers the CPU implements.
 */
export function armRegList(vcpu: KvmVcpu): bigint[] {
  requireInit(vcpu, 'KVM_GET_REG_LIST');
  const s = armVcpu(vcpu);
  const ids: bigint[] = [];
  for (let off = 0; off < CORE_OFF_SPSR + 2 * KVM_NR_SPSR; off += 2) ids.push(coreRegId(off));
  for (let n = 0; n < 32; n++) ids.push(coreRegId(CORE_OFF_VREGS + 4 * n, KVM_REG_SIZE_U128));
  ids.push(coreRegId(CORE_OFF_FPSR, KVM_REG_SIZE_U32), coreRegId(CORE_OFF_FPCR, KVM_REG_SIZE_U32));
  ids.push(...s.psci.vm.host.fwRegs);
  ids.push(KVM_REG_ARM_TIMER_CTL, KVM_REG_ARM_TIMER_CNT, KVM_REG_ARM_TIMER_CVAL);
  for (const enc of LISTED_SYSREGS)
    if (s.cpu.getSysReg(enc) !== undefined)
      ids.push(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG | BigInt(enc));
  return ids;
}
