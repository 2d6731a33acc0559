import { fail } from '@tsvirt/core-bus';
import type { KvmMpState, KvmRegList } from '@tsvirt/kvm-core';
import {
  KVM_EXIT_INTR,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_UNKNOWN,
  KVM_GET_MP_STATE,
  KVM_GET_ONE_REG,
  KVM_GET_REG_LIST,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_MP_STATE_SUSPENDED,
  KVM_REG_ARM64,
  KVM_REG_SIZE_MASK,
  KVM_RUN,
  KVM_SET_MP_STATE,
  KVM_SET_ONE_REG,
  KVM_SYSTEM_EVENT_WAKEUP,
} from '@tsvirt/kvm-core';
import {
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_EL1_32BIT,
  KVM_ARM_VCPU_FORCE_PSCI_0_2,
  KVM_ARM_VCPU_INIT,
  KVM_ARM_VCPU_PMU_V3,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_REG_ARM_COPROC_MASK,
  KVM_REG_ARM_CORE,
  KVM_REG_ARM_CORE_PC,
  KVM_REG_ARM_FW,
  KVM_REG_ARM_FW_FEAT_BMAP,
  kvmRegArmCoreX,
} from './arm-uapi.ts';
import { latestPsciVersion } from './host-model.ts';
import { kvmArmGetFwReg, kvmArmSetFwReg, kvmSmcccCallHandler } from './hypercalls.ts';
import type { KvmArmVm, KvmVcpuInit } from './kvm-arm-vm.ts';
import { clearSystemEvent, createKvmArmRun, type KvmArmRun } from './kvm-run.ts';
import { MPIDR_HWID_BITMASK } from './psci.ts';
import { KVM_ARM_PSCI_0_1, KVM_ARM_PSCI_0_2 } from './psci-uapi.ts';
import type { ArmGuestCpu, ArmVcpuRegs } from './vcpu-regs.ts';

/** struct kvm_one_reg; the value travels in `value` (as in @tsvirt/kvm-core). */
export interface KvmOneReg {
  /** Register id. */
  id: bigint;
  /** User address of the value (unused here). */
  addr: bigint;
  /** The register value. */
  value?: bigint;
}

export type { KvmMpState, KvmRegList } from '@tsvirt/kvm-core';

/** vcpu->arch.reset_state as CPU_ON leaves it for the target. */
export interface ArmResetState {
  /** Entry point the target starts at. */
  pc: bigint;
  /** Context id the target receives in x0. */
  r0: bigint;
  /** The caller's endianness, which the target starts with. */
  be: boolean;
}

/** The core registers the abstract register file has, in KVM_GET_REG_LIST order. */
const CORE_REGS: readonly bigint[] = [
  kvmRegArmCoreX(0),
  kvmRegArmCoreX(1),
  kvmRegArmCoreX(2),
  kvmRegArmCoreX(3),
  KVM_REG_ARM_CORE_PC,
];

/** kvm_arm_get_reg()'s first check: bits 63:32 other than the size are KVM_REG_ARM64's. */
function isArm64RegId(id: bigint): boolean {
  return (id & ~KVM_REG_SIZE_MASK) >> 32n === KVM_REG_ARM64 >> 32n;
}

const SAVE_MAGIC = 0x4b50_5343; // "KPSC"
const SAVE_VERSION = 1;

/**
 * An arm64 vCPU as KVM sees it for PSCI: the register file of the CPU
 * behind it, its init features, its power state (mp_state), a pending
 * CPU_ON reset, and the kvm_run it exits through.
 */
export class KvmArmVcpu {
  /** vcpu->arch.mp_state. */
  mpState = KVM_MP_STATE_RUNNABLE;
  /** features[0] after KVM_ARM_VCPU_INIT (POWER_OFF stripped); undefined before. */
  features: number | undefined;
  /** A CPU_ON waiting for this vCPU's next KVM_RUN (KVM_REQ_VCPU_RESET). */
  resetState: ArmResetState | undefined;

  constructor(
    /** The VM the vCPU belongs to. */
    readonly vm: KvmArmVm,
    /** The vCPU id. */
    readonly vcpuId: number,
    /** The vCPU's register state. */
    readonly regs: ArmVcpuRegs,
    /** The run page exits are written to (kvm-core's KvmRun fits). */
    readonly run: KvmArmRun = createKvmArmRun(),
  ) {}

  /** KVM_ARM_VCPU_INIT has succeeded. */
  get initialized(): boolean {
    return this.features !== undefined;
  }

  /** Whether feature bit `bit` was requested at KVM_ARM_VCPU_INIT. */
  hasFeature(bit: number): boolean {
    return this.features !== undefined && (this.features & (1 << bit)) !== 0;
  }

  /** vcpu_mode_is_32bit(): an AArch32 EL1 guest. */
  get is32bit(): boolean {
    return this.hasFeature(KVM_ARM_VCPU_EL1_32BIT);
  }

  /** kvm_vcpu_get_mpidr_aff(). */
  get mpidrAff(): bigint {
    return this.regs.mpidr & MPIDR_HWID_BITMASK;
  }

  /**
   * kvm_psci_version(): what PSCI_VERSION answers and the firmware register
   * reads. The force bit is consulted only under PSCI_0_2, as in the
   * review's sketch of this function.
   */
  psciVersion(): number {
    if (!this.hasFeature(KVM_ARM_VCPU_PSCI_0_2)) return KVM_ARM_PSCI_0_1;
    if (this.hasFeature(KVM_ARM_VCPU_FORCE_PSCI_0_2)) return KVM_ARM_PSCI_0_2;
    return this.vm.psciVersion !== 0 ? this.vm.psciVersion : latestPsciVersion(this.vm.host);
  }

  /** The vCPU is powered off (KVM_MP_STATE_STOPPED). */
  isStopped(): boolean {
    return this.mpState === KVM_MP_STATE_STOPPED;
  }

  /** kvm_arm_vcpu_power_off(). */
  powerOff(): void {
    this.mpState = KVM_MP_STATE_STOPPED;
  }

  /** Record the state a pending reset applies (CPU_ON's entry point, context id, endianness). */
  requestReset(state: ArmResetState): void {
    this.resetState = { ...state };
  }

  /** The features this host accepts in word 0. */
  private validFeatures(): number {
    let v =
      (1 << KVM_ARM_VCPU_POWER_OFF) |
      (1 << KVM_ARM_VCPU_EL1_32BIT) |
      (1 << KVM_ARM_VCPU_PSCI_0_2) |
      (1 << KVM_ARM_VCPU_PMU_V3);
    if (this.vm.host.versionSelection === 'vcpu-feature') v |= 1 << KVM_ARM_VCPU_FORCE_PSCI_0_2;
    return v;
  }

  /**
   * KVM_ARM_VCPU_INIT: check target and features, agree with the VM's other
   * vCPUs, reset the registers and start powered on or off.
   */
  init(init: KvmVcpuInit): void {
    const op = 'KVM_ARM_VCPU_INIT';
    if (init.target !== KVM_ARM_TARGET_GENERIC_V8)
      fail('EINVAL', `target ${init.target} is not this host's`, op);
    const words = init.features;
    const w0 = (words[0] ?? 0) >>> 0;
    if ((w0 & ~this.validFeatures()) !== 0)
      fail('ENOENT', `unknown features 0x${(w0 & ~this.validFeatures()).toString(16)}`, op);
    for (let i = 1; i < words.length; i++)
      if (words[i] !== 0) fail('ENOENT', `features[${i}] has no defined bits`, op);
    const powerOff = (w0 & (1 << KVM_ARM_VCPU_POWER_OFF)) !== 0;
    // The force bit alone is accepted: the review's kernel checks only that a
    // bit is below KVM_VCPU_MAX_FEATURES (kvm_vcpu_set_target()), and without
    // PSCI_0_2 the vCPU gets 0.1 whatever the bit says.
    const features = w0 & ~(1 << KVM_ARM_VCPU_POWER_OFF);
    // Every vCPU of a VM has the same features (kvm_vcpu_init_changed()).
    if (this.vm.vcpuFeatures !== undefined && this.vm.vcpuFeatures !== features)
      fail('EINVAL', "features differ from the VM's other vCPUs", op);
    this.vm.vcpuFeatures = features;
    this.features = features;
    this.regs.reset();
    this.resetState = undefined;
    this.mpState = powerOff ? KVM_MP_STATE_STOPPED : KVM_MP_STATE_RUNNABLE;
  }

  /** KVM_GET_MP_STATE. */
  getMpState(): KvmMpState {
    return { mp_state: this.mpState };
  }

  /** KVM_SET_MP_STATE: RUNNABLE, STOPPED and SUSPENDED only. */
  setMpState(state: KvmMpState): void {
    const s = state.mp_state;
    if (s !== KVM_MP_STATE_RUNNABLE && s !== KVM_MP_STATE_STOPPED && s !== KVM_MP_STATE_SUSPENDED)
      fail('EINVAL', `mp_state ${s} is not an arm64 state`, 'KVM_SET_MP_STATE');
    this.mpState = s;
  }

  private requireInit(op: string): void {
    if (!this.initialized) fail('ENOEXEC', 'KVM_ARM_VCPU_INIT first', op);
  }

  /** KVM_GET_REG_LIST: core registers first, then the firmware registers (kvm_arm_copy_reg_indices()). */
  regList(): bigint[] {
    return [...CORE_REGS, ...this.vm.host.fwRegs];
  }

  /** KVM_GET_REG_LIST: the ids the vCPU exposes; E2BIG and the count when `n` is too small. */
  getRegList(list: KvmRegList): void {
    this.requireInit('KVM_GET_REG_LIST');
    const regs = this.regList();
    const room = list.n;
    list.n = regs.length;
    if (room < regs.length) fail('E2BIG', `${regs.length} registers, room for ${room}`, 'KVM_GET_REG_LIST');
    list.reg = regs;
  }

  /** kvm_arm_get_reg(). */
  getOneRegValue(id: bigint): bigint {
    const op = 'KVM_GET_ONE_REG';
    this.requireInit(op);
    if (!isArm64RegId(id)) fail('EINVAL', 'not an arm64 register id', op);
    const coproc = id & KVM_REG_ARM_COPROC_MASK;
    if (coproc === KVM_REG_ARM_CORE) {
      const i = CORE_REGS.indexOf(id);
      if (i < 0) fail('ENOENT', `core register 0x${id.toString(16)} is not in this register file`, op);
      return i < 4 ? this.regs.getX(i) : this.regs.getPc();
    }
    if (coproc === KVM_REG_ARM_FW || coproc === KVM_REG_ARM_FW_FEAT_BMAP) {
      const v = kvmArmGetFwReg(this, id);
      if (v === undefined) fail('ENOENT', `no firmware register 0x${id.toString(16)} on this host`, op);
      return v;
    }
    fail('ENOENT', `register 0x${id.toString(16)} is not modelled`, op);
  }

  /** kvm_arm_set_reg(). */
  setOneRegValue(id: bigint, value: bigint): void {
    const op = 'KVM_SET_ONE_REG';
    this.requireInit(op);
    if (!isArm64RegId(id)) fail('EINVAL', 'not an arm64 register id', op);
    if (value < 0n || value >= 1n << 64n) fail('EFAULT', 'value does not fit 8 bytes', op);
    const coproc = id & KVM_REG_ARM_COPROC_MASK;
    if (coproc === KVM_REG_ARM_CORE) {
      const i = CORE_REGS.indexOf(id);
      if (i < 0) fail('ENOENT', `core register 0x${id.toString(16)} is not in this register file`, op);
      if (i < 4) this.regs.setX(i, value);
      else this.regs.setPc(value);
      return;
    }
    if ((coproc === KVM_REG_ARM_FW || coproc === KVM_REG_ARM_FW_FEAT_BMAP) && kvmArmSetFwReg(this, id, value))
      return;
    fail('ENOENT', `no register 0x${id.toString(16)} on this host`, op);
  }

  /** KVM_GET_ONE_REG. */
  getOneReg(reg: KvmOneReg): void {
    reg.value = this.getOneRegValue(reg.id);
  }

  /** KVM_SET_ONE_REG; EFAULT without a value. */
  setOneReg(reg: KvmOneReg): void {
    if (reg.value === undefined) fail('EFAULT', 'no value', 'KVM_SET_ONE_REG');
    this.setOneRegValue(reg.id, reg.value);
  }

  /** KVM_REQ_VCPU_RESET: reset the registers, then enter at the CPU_ON entry point with x0 = context id. */
  private processRequests(): void {
    const rs = this.resetState;
    if (rs === undefined) return;
    this.resetState = undefined;
    this.regs.reset(rs.be);
    this.regs.setPc(rs.pc);
    this.regs.setX(0, rs.r0);
  }

  /** handle_hvc(): every HVC is an SMCCC call. 1 = resume the guest, 0 = exit to user space. */
  handleHvc(_imm = 0): number {
    return kvmSmcccCallHandler(this);
  }

  /** handle_smc(): step over the SMC; a non-zero immediate is reserved and answers -1. */
  handleSmc(imm = 0): number {
    this.regs.setPc(this.regs.getPc() + 4n);
    if (imm !== 0) {
      this.regs.setX(0, (1n << 64n) - 1n);
      return 1;
    }
    return kvmSmcccCallHandler(this);
  }

  /**
   * KVM_RUN: apply a pending CPU_ON reset, then run the guest until a
   * call needs user space (SYSTEM_EVENT). A powered-off vCPU would sleep
   * until CPU_ON; with no other thread to wake it, that is EINTR with
   * KVM_EXIT_INTR, as a signal would give. So is the CPU stopping for a
   * host reason.
   */
  kvmRun(): KvmArmRun {
    const op = 'KVM_RUN';
    this.requireInit(op);
    const cpu = this.regs as Partial<ArmGuestCpu>;
    if (typeof cpu.enterGuest !== 'function') fail('ENOEXEC', 'this register file cannot run guest code', op);
    this.vm.ranOnce = true;
    const run = this.run;
    run.exit_reason = KVM_EXIT_UNKNOWN;
    this.processRequests();
    if (run.immediate_exit) {
      run.exit_reason = KVM_EXIT_INTR;
      fail('EINTR', 'immediate_exit is set', op);
    }
    for (;;) {
      if (this.mpState === KVM_MP_STATE_STOPPED) {
        run.exit_reason = KVM_EXIT_INTR;
        fail('EINTR', 'the vCPU is powered off', op);
      }
      if (this.mpState === KVM_MP_STATE_SUSPENDED) {
        // kvm_arm_vcpu_suspended(): wait for a wakeup event (assumed to have
        // arrived), then tell user space the vCPU woke.
        this.regs.wfi?.();
        this.mpState = KVM_MP_STATE_RUNNABLE;
        clearSystemEvent(run);
        run.system_event.type = KVM_SYSTEM_EVENT_WAKEUP;
        run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
        return run;
      }
      const trap = cpu.enterGuest();
      let resume = 1;
      if (trap.kind === 'hvc') resume = this.handleHvc(trap.imm);
      else if (trap.kind === 'smc') resume = this.handleSmc(trap.imm);
      else if (trap.kind === 'wfi') this.regs.wfi?.();
      else {
        run.exit_reason = KVM_EXIT_INTR;
        fail('EINTR', 'the CPU stopped for the host', op);
      }
      if (resume === 0) return run;
      this.processRequests();
    }
  }

  /** The vCPU ioctls of this package; ENOTTY for any other. */
  ioctl(cmd: number, arg?: unknown): number {
    switch (cmd) {
      case KVM_ARM_VCPU_INIT:
        this.init(arg as KvmVcpuInit);
        return 0;
      case KVM_GET_ONE_REG:
        this.getOneReg(arg as KvmOneReg);
        return 0;
      case KVM_SET_ONE_REG:
        this.setOneReg(arg as KvmOneReg);
        return 0;
      case KVM_GET_REG_LIST:
        this.getRegList(arg as KvmRegList);
        return 0;
      case KVM_GET_MP_STATE:
        (arg as KvmMpState).mp_state = this.mpState;
        return 0;
      case KVM_SET_MP_STATE:
        this.setMpState(arg as KvmMpState);
        return 0;
      case KVM_RUN:
        this.kvmRun();
        return 0;
      default:
        fail('ENOTTY', `unknown vCPU ioctl 0x${cmd.toString(16)}`);
    }
  }

  /**
   * The vCPU's migratable state as a VMM collects it: mp_state, a pending
   * CPU_ON, and every register of KVM_GET_REG_LIST with its value (so the
   * VM-wide PSCI version travels with each vCPU).
   */
  save(): Uint8Array {
    this.requireInit('save');
    const ids = this.regList();
    const buf = new ArrayBuffer(4 * 4 + 8 * 2 + 4 + ids.length * 16);
    const dv = new DataView(buf);
    dv.setUint32(0, SAVE_MAGIC, true);
    dv.setUint32(4, SAVE_VERSION, true);
    dv.setUint32(8, this.mpState, true);
    // Bit 0: a CPU_ON reset is pending; bit 1: its endianness is big.
    dv.setUint32(12, this.resetState ? 1 | (this.resetState.be ? 2 : 0) : 0, true);
    dv.setBigUint64(16, this.resetState?.pc ?? 0n, true);
    dv.setBigUint64(24, this.resetState?.r0 ?? 0n, true);
    dv.setUint32(32, ids.length, true);
    ids.forEach((id, i) => {
      dv.setBigUint64(36 + i * 16, id, true);
      dv.setBigUint64(44 + i * 16, this.getOneRegValue(id), true);
    });
    return new Uint8Array(buf);
  }

  /**
   * Restore a save() blob, as a VMM would replay it with SET_MP_STATE and
   * SET_ONE_REG: a register this host does not have (ENOENT) or a value it
   * refuses (EINVAL, EBUSY) fails the whole restore, and everything (this
   * vCPU and the VM-wide firmware state) is left as it was. Registers this
   * host has but the blob lacks keep their current values.
   */
  restore(blob: Uint8Array): void {
    const op = 'restore';
    this.requireInit(op);
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    if (blob.byteLength < 36 || dv.getUint32(0, true) !== SAVE_MAGIC)
      fail('EINVAL', 'not a kvm-arm-psci vCPU blob', op);
    if (dv.getUint32(4, true) !== SAVE_VERSION)
      fail('EINVAL', `blob version ${dv.getUint32(4, true)} is unknown`, op);
    const n = dv.getUint32(32, true);
    if (blob.byteLength !== 36 + n * 16) fail('EINVAL', 'blob length does not match its register count', op);
    const mpState = dv.getUint32(8, true);
    const undo = this.snapshot();
    try {
      this.setMpState({ mp_state: mpState });
      for (let i = 0; i < n; i++)
        this.setOneRegValue(dv.getBigUint64(36 + i * 16, true), dv.getBigUint64(44 + i * 16, true));
      const pending = dv.getUint32(12, true);
      this.resetState =
        (pending & 1) !== 0
          ? { pc: dv.getBigUint64(16, true), r0: dv.getBigUint64(24, true), be: (pending & 2) !== 0 }
          : undefined;
    } catch (e) {
      undo();
      throw e;
    }
  }

  /** Everything restore() may change, and a function that puts it back. */
  private snapshot(): () => void {
    const vm = this.vm;
    const x = [0, 1, 2, 3].map((i) => this.regs.getX(i));
    const pc = this.regs.getPc();
    const { mpState, resetState } = this;
    const { psciVersion, stdBmap, stdHypBmap, vendorHypBmap } = vm;
    return () => {
      for (const [i, v] of x.entries()) this.regs.setX(i, v);
      this.regs.setPc(pc);
      this.mpState = mpState;
      this.resetState = resetState;
      Object.assign(vm, { psciVersion, stdBmap, stdHypBmap, vendorHypBmap });
    };
  }
}
