import {
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  KVM_SYSTEM_EVENT_SUSPEND,
} from '@tsvirt/kvm-core';
import { KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2 } from './arm-uapi.ts';
import type { KvmArmVcpu } from './kvm-arm-vcpu.ts';
import { clearSystemEvent } from './kvm-run.ts';
import {
  ARM_SMCCC_VERSION_FUNC_ID,
  KVM_ARM_PSCI_0_1,
  KVM_ARM_PSCI_0_2,
  KVM_ARM_PSCI_1_0,
  KVM_ARM_PSCI_1_1,
  KVM_PSCI_FN_CPU_OFF,
  KVM_PSCI_FN_CPU_ON,
  PSCI_0_2_64BIT,
  PSCI_0_2_AFFINITY_LEVEL_OFF,
  PSCI_0_2_AFFINITY_LEVEL_ON,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_CPU_ON,
  PSCI_0_2_FN_CPU_SUSPEND,
  PSCI_0_2_FN_MIGRATE_INFO_TYPE,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_0_2_FN_SYSTEM_RESET,
  PSCI_0_2_FN64_AFFINITY_INFO,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_0_2_FN64_CPU_SUSPEND,
  PSCI_0_2_TOS_MP,
  PSCI_1_0_FN_PSCI_FEATURES,
  PSCI_1_0_FN_SYSTEM_SUSPEND,
  PSCI_1_0_FN64_SYSTEM_SUSPEND,
  PSCI_1_1_FN_SYSTEM_RESET2,
  PSCI_1_1_FN64_SYSTEM_RESET2,
  PSCI_1_1_RESET_TYPE_SYSTEM_WARM_RESET,
  PSCI_1_1_RESET_TYPE_VENDOR_START,
  PSCI_RET_ALREADY_ON,
  PSCI_RET_INTERNAL_FAILURE,
  PSCI_RET_INVALID_PARAMS,
  PSCI_RET_NOT_SUPPORTED,
  PSCI_RET_SUCCESS,
} from './psci-uapi.ts';
import { narrowTo32, smcccGetArg, smcccGetFunction, smcccSetRetval } from './smccc.ts';

// PSCI as arch/arm64/kvm/psci.c emulates it. Each handler returns 1 to
// resume the guest or 0 to exit to user space with vcpu.run filled.

/** MPIDR_HWID_BITMASK: Aff3 (39:32) and Aff2..Aff0 (23:0). */
export const MPIDR_HWID_BITMASK = 0xff_00ff_ffffn;

/** kvm_psci_valid_affinity(): no bits outside the affinity fields. */
function validAffinity(affinity: bigint): boolean {
  return (affinity & ~MPIDR_HWID_BITMASK) === 0n;
}

/** psci_affinity_mask(): the MPIDR bits that matter at an affinity level (0..3), 0 if invalid. */
export function psciAffinityMask(level: bigint): bigint {
  if (level > 3n || level < 0n) return 0n;
  // MPIDR_LEVEL_SHIFT: 0, 8, 16, 32 for levels 0..3.
  const shift = level === 3n ? 32n : level * 8n;
  const mask = ((1n << 64n) - 1n) ^ ((1n << shift) - 1n);
  return MPIDR_HWID_BITMASK & mask;
}

/** kvm_psci_check_allowed_function(): a 32-bit guest may not use the SMC64 ids. */
export function checkAllowedFunction(vcpu: KvmArmVcpu, fn: number): number {
  if ((fn & PSCI_0_2_64BIT) !== 0 && vcpu.is32bit) return PSCI_RET_NOT_SUPPORTED;
  return 0;
}

/** kvm_psci_vcpu_on(). */
function psciVcpuOn(source: KvmArmVcpu): number {
  const cpuId = smcccGetArg(source, 1);
  if (!validAffinity(cpuId)) return PSCI_RET_INVALID_PARAMS;
  const target = source.vm.mpidrToVcpu(cpuId);
  if (target === undefined) return PSCI_RET_INVALID_PARAMS;
  if (!target.isStopped()) {
    // PSCI 0.1 had no ALREADY_ON.
    return source.psciVersion() !== KVM_ARM_PSCI_0_1 ? PSCI_RET_ALREADY_ON : PSCI_RET_INVALID_PARAMS;
  }
  // The target resets on its next KVM_RUN (KVM_REQ_VCPU_RESET): pc = entry,
  // x0 = context id (always written: 0.1 leaves the GPRs undefined anyway),
  // with the caller's endianness.
  target.requestReset({
    pc: smcccGetArg(source, 2),
    r0: smcccGetArg(source, 3),
    be: source.regs.bigEndian ?? false,
  });
  target.mpState = KVM_MP_STATE_RUNNABLE;
  return PSCI_RET_SUCCESS;
}

/** kvm_psci_vcpu_affinity_info(). */
function psciAffinityInfo(vcpu: KvmArmVcpu): number {
  let target = smcccGetArg(vcpu, 1);
  const level = smcccGetArg(vcpu, 2);
  if (!validAffinity(target)) return PSCI_RET_INVALID_PARAMS;
  const mask = psciAffinityMask(level);
  if (mask === 0n) return PSCI_RET_INVALID_PARAMS;
  target &= mask;
  let matching = 0;
  for (const other of vcpu.vm.vcpus) {
    if ((other.mpidrAff & mask) !== target) continue;
    matching++;
    if (!other.isStopped()) return PSCI_0_2_AFFINITY_LEVEL_ON;
  }
  // No vCPU at that affinity: the target does not exist.
  return matching === 0 ? PSCI_RET_INVALID_PARAMS : PSCI_0_2_AFFINITY_LEVEL_OFF;
}

/** kvm_psci_vcpu_suspend(): every suspend state is a standby, emulated as WFI. */
function psciVcpuSuspend(vcpu: KvmArmVcpu): number {
  vcpu.regs.wfi?.();
  return PSCI_RET_SUCCESS;
}

/**
 * kvm_prepare_system_event(): stop every vCPU so none runs past a
 * reset/shutdown the caller believes immediate, and describe the event.
 */
function prepareSystemEvent(vcpu: KvmArmVcpu, type: number, flags: bigint): void {
  for (const v of vcpu.vm.vcpus) v.mpState = KVM_MP_STATE_STOPPED;
  const run = vcpu.run;
  clearSystemEvent(run);
  run.system_event.type = type;
  run.system_event.ndata = 1;
  run.system_event.data[0] = flags;
  run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
}

/** A SYSTEM_* call: exit to user space; a guest resumed anyway reads INTERNAL_FAILURE. */
function systemEvent(vcpu: KvmArmVcpu, type: number, flags: bigint): number {
  prepareSystemEvent(vcpu, type, flags);
  smcccSetRetval(vcpu, PSCI_RET_INTERNAL_FAILURE);
  return 0;
}

/** kvm_psci_0_1_call(): KVM's own ids, CPU_OFF and CPU_ON only. */
function psci01Call(vcpu: KvmArmVcpu): number {
  let val: number;
  switch (smcccGetFunction(vcpu)) {
    case KVM_PSCI_FN_CPU_OFF:
      vcpu.powerOff();
      val = PSCI_RET_SUCCESS;
      break;
    case KVM_PSCI_FN_CPU_ON:
      val = psciVcpuOn(vcpu);
      break;
    default:
      val = PSCI_RET_NOT_SUPPORTED;
  }
  smcccSetRetval(vcpu, val);
  return 1;
}

/** kvm_psci_0_2_call(). */
function psci02Call(vcpu: KvmArmVcpu): number {
  let val: number;
  switch (smcccGetFunction(vcpu)) {
    case PSCI_0_2_FN_PSCI_VERSION:
      val = KVM_ARM_PSCI_0_2;
      break;
    case PSCI_0_2_FN_CPU_SUSPEND:
    case PSCI_0_2_FN64_CPU_SUSPEND:
      val = psciVcpuSuspend(vcpu);
      break;
    case PSCI_0_2_FN_CPU_OFF:
      vcpu.powerOff();
      val = PSCI_RET_SUCCESS;
      break;
    case PSCI_0_2_FN_CPU_ON:
      narrowTo32(vcpu);
      val = psciVcpuOn(vcpu);
      break;
    case PSCI_0_2_FN64_CPU_ON:
      val = psciVcpuOn(vcpu);
      break;
    case PSCI_0_2_FN_AFFINITY_INFO:
      narrowTo32(vcpu);
      val = psciAffinityInfo(vcpu);
      break;
    case PSCI_0_2_FN64_AFFINITY_INFO:
      val = psciAffinityInfo(vcpu);
      break;
    case PSCI_0_2_FN_MIGRATE_INFO_TYPE:
      // No Trusted OS to migrate: report it as MP.
      val = PSCI_0_2_TOS_MP;
      break;
    case PSCI_0_2_FN_SYSTEM_OFF:
      return systemEvent(vcpu, KVM_SYSTEM_EVENT_SHUTDOWN, 0n);
    case PSCI_0_2_FN_SYSTEM_RESET:
      return systemEvent(vcpu, KVM_SYSTEM_EVENT_RESET, 0n);
    default:
      // MIGRATE, MIGRATE_INFO_UP_CPU and everything else.
      val = PSCI_RET_NOT_SUPPORTED;
  }
  smcccSetRetval(vcpu, val);
  return 1;
}

/** The ids PSCI_FEATURES reports as implemented whatever the minor version or VM flags. */
const FEATURES_ALWAYS = new Set<number>([
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_CPU_SUSPEND,
  PSCI_0_2_FN64_CPU_SUSPEND,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_CPU_ON,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN64_AFFINITY_INFO,
  PSCI_0_2_FN_MIGRATE_INFO_TYPE,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_0_2_FN_SYSTEM_RESET,
  PSCI_1_0_FN_PSCI_FEATURES,
  ARM_SMCCC_VERSION_FUNC_ID,
]);

/** kvm_psci_1_x_call(): 1.0 (minor 0) and 1.1 (minor 1); the rest is 0.2's. */
function psci1xCall(vcpu: KvmArmVcpu, minor: number): number {
  const fn = smcccGetFunction(vcpu);
  let val: number;
  switch (fn) {
    case PSCI_0_2_FN_PSCI_VERSION:
      val = minor === 0 ? KVM_ARM_PSCI_1_0 : KVM_ARM_PSCI_1_1;
      break;
    case PSCI_1_0_FN_PSCI_FEATURES: {
      const arg = Number(smcccGetArg(vcpu, 1) & 0xffff_ffffn);
      val = checkAllowedFunction(vcpu, arg);
      if (val !== 0) break;
      val = PSCI_RET_NOT_SUPPORTED;
      if (FEATURES_ALWAYS.has(arg)) val = 0;
      else if (arg === PSCI_1_0_FN_SYSTEM_SUSPEND || arg === PSCI_1_0_FN64_SYSTEM_SUSPEND) {
        if (vcpu.vm.systemSuspendEnabled) val = 0;
      } else if (arg === PSCI_1_1_FN_SYSTEM_RESET2 || arg === PSCI_1_1_FN64_SYSTEM_RESET2) {
        if (minor >= 1) val = 0;
      }
      break;
    }
    case PSCI_1_0_FN_SYSTEM_SUSPEND:
    case PSCI_1_0_FN64_SYSTEM_SUSPEND:
      if (!vcpu.vm.systemSuspendEnabled) return psci02Call(vcpu);
      if (fn === PSCI_1_0_FN_SYSTEM_SUSPEND) narrowTo32(vcpu);
      // Exit with the guest's registers untouched: user space reads the
      // entry point and context id from x1/x2 to implement the suspend.
      clearSystemEvent(vcpu.run);
      vcpu.run.system_event.type = KVM_SYSTEM_EVENT_SUSPEND;
      vcpu.run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
      return 0;
    case PSCI_1_1_FN_SYSTEM_RESET2:
    case PSCI_1_1_FN64_SYSTEM_RESET2: {
      if (minor < 1) return psci02Call(vcpu);
      if (fn === PSCI_1_1_FN_SYSTEM_RESET2) narrowTo32(vcpu);
      // reset_type is a u32 for both conventions: 0 (warm reset) or vendor-specific.
      const type = Number(smcccGetArg(vcpu, 1) & 0xffff_ffffn);
      if (type <= PSCI_1_1_RESET_TYPE_SYSTEM_WARM_RESET || type >= PSCI_1_1_RESET_TYPE_VENDOR_START) {
        return systemEvent(vcpu, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2);
      }
      val = PSCI_RET_INVALID_PARAMS;
      break;
    }
    default:
      return psci02Call(vcpu);
  }
  smcccSetRetval(vcpu, val);
  return 1;
}

/** kvm_psci_call(): dispatch on the PSCI version the VM exposes. */
export function kvmPsciCall(vcpu: KvmArmVcpu): number {
  const denied = checkAllowedFunction(vcpu, smcccGetFunction(vcpu));
  if (denied !== 0) {
    smcccSetRetval(vcpu, denied);
    return 1;
  }
  switch (vcpu.psciVersion()) {
    case KVM_ARM_PSCI_1_1:
      return psci1xCall(vcpu, 1);
    case KVM_ARM_PSCI_1_0:
      return psci1xCall(vcpu, 0);
    case KVM_ARM_PSCI_0_2:
      return psci02Call(vcpu);
    default:
      return psci01Call(vcpu);
  }
}
