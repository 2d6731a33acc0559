import { fail } from '@tsvirt/core-bus';
import {
  KVM_ARM_SMCCC_STD_FEATURES,
  KVM_ARM_SMCCC_STD_HYP_FEATURES,
  KVM_ARM_SMCCC_VENDOR_HYP_FEATURES,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_REG_ARM_PSCI_VERSION,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_AVAIL,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_ENABLED,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_AVAIL,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_REQUIRED,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_UNKNOWN,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3,
  KVM_REG_ARM_STD_BIT_TRNG_V1_0,
  KVM_REG_ARM_STD_BMAP,
  KVM_REG_ARM_STD_HYP_BIT_PV_TIME,
  KVM_REG_ARM_STD_HYP_BMAP,
  KVM_REG_ARM_VENDOR_HYP_BIT_FUNC_FEAT,
  KVM_REG_ARM_VENDOR_HYP_BIT_PTP,
  KVM_REG_ARM_VENDOR_HYP_BMAP,
  KVM_REG_FEATURE_LEVEL_MASK,
} from './arm-uapi.ts';
import type { KvmArmVcpu } from './kvm-arm-vcpu.ts';
import type { KvmArmVm } from './kvm-arm-vm.ts';
import { kvmPsciCall } from './psci.ts';
import {
  ARM_SMCCC_ARCH_FEATURES_FUNC_ID,
  ARM_SMCCC_ARCH_WORKAROUND_1,
  ARM_SMCCC_ARCH_WORKAROUND_2,
  ARM_SMCCC_ARCH_WORKAROUND_3,
  ARM_SMCCC_HV_PV_TIME_FEATURES,
  ARM_SMCCC_HV_PV_TIME_ST,
  ARM_SMCCC_TRNG_FEATURES,
  ARM_SMCCC_TRNG_GET_UUID,
  ARM_SMCCC_TRNG_RND32,
  ARM_SMCCC_TRNG_RND64,
  ARM_SMCCC_TRNG_VERSION,
  ARM_SMCCC_TRNG_VERSION_1_0,
  ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID,
  ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID,
  ARM_SMCCC_VENDOR_HYP_KVM_PTP_FUNC_ID,
  ARM_SMCCC_VENDOR_HYP_UID_KVM,
  ARM_SMCCC_VERSION_1_1,
  ARM_SMCCC_VERSION_FUNC_ID,
  KVM_ARM_PSCI_0_1,
  SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED,
  SMCCC_RET_NOT_REQUIRED,
  SMCCC_RET_NOT_SUPPORTED,
  SMCCC_RET_SUCCESS,
} from './psci-uapi.ts';
import { smcccGetArg, smcccGetFunction, smcccSetRetval } from './smccc.ts';

// arch/arm64/kvm/hypercalls.c: the SMCCC dispatcher in front of PSCI, and
// the firmware pseudo-registers user space reads and writes through ONE_REG.

const bit = (b: number) => 1n << BigInt(b);

/** kvm_smccc_test_fw_bmap(): may the guest use this service, per the VM's bitmaps? */
function serviceAllowed(vm: KvmArmVm, fnId: number): boolean {
  switch (fnId) {
    case ARM_SMCCC_TRNG_VERSION:
    case ARM_SMCCC_TRNG_FEATURES:
    case ARM_SMCCC_TRNG_GET_UUID:
    case ARM_SMCCC_TRNG_RND32:
    case ARM_SMCCC_TRNG_RND64:
      return (vm.stdBmap & bit(KVM_REG_ARM_STD_BIT_TRNG_V1_0)) !== 0n;
    case ARM_SMCCC_HV_PV_TIME_FEATURES:
    case ARM_SMCCC_HV_PV_TIME_ST:
      return (vm.stdHypBmap & bit(KVM_REG_ARM_STD_HYP_BIT_PV_TIME)) !== 0n;
    case ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID:
    case ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID:
      return (vm.vendorHypBmap & bit(KVM_REG_ARM_VENDOR_HYP_BIT_FUNC_FEAT)) !== 0n;
    case ARM_SMCCC_VENDOR_HYP_KVM_PTP_FUNC_ID:
      return (vm.vendorHypBmap & bit(KVM_REG_ARM_VENDOR_HYP_BIT_PTP)) !== 0n;
    default:
      return true;
  }
}

/** ARCH_FEATURES for a workaround, from the host's mitigation state. */
function workaroundFeature(vm: KvmArmVm, fnId: number): number {
  const h = vm.host;
  switch (fnId) {
    case ARM_SMCCC_ARCH_WORKAROUND_1:
      // AVAIL = mitigated by firmware; NOT_REQUIRED = CPU unaffected.
      if (h.wa1Level === 1n) return SMCCC_RET_SUCCESS;
      if (h.wa1Level === 2n) return SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED;
      return SMCCC_RET_NOT_SUPPORTED;
    case ARM_SMCCC_ARCH_WORKAROUND_2:
      return h.wa2Level === KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_REQUIRED
        ? SMCCC_RET_NOT_REQUIRED
        : SMCCC_RET_NOT_SUPPORTED;
    case ARM_SMCCC_ARCH_WORKAROUND_3:
      if (h.wa3Level === 1n) return SMCCC_RET_SUCCESS;
      if (h.wa3Level === 2n) return SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED;
      return SMCCC_RET_NOT_SUPPORTED;
    default:
      return SMCCC_RET_NOT_SUPPORTED;
  }
}

/**
 * kvm_smccc_call_handler(): SMCCC discovery and the bitmap-gated services
 * here, everything else is PSCI. Returns 1 to resume the guest, 0 to exit.
 * (The TRNG entropy, PV-time and PTP services themselves are not modelled:
 * they answer NOT_SUPPORTED beyond their discovery calls.)
 */
export function kvmSmcccCallHandler(vcpu: KvmArmVcpu): number {
  const vm = vcpu.vm;
  const fnId = smcccGetFunction(vcpu);
  let val: number | bigint = SMCCC_RET_NOT_SUPPORTED;
  if (!serviceAllowed(vm, fnId)) {
    smcccSetRetval(vcpu, val);
    return 1;
  }
  switch (fnId) {
    case ARM_SMCCC_VERSION_FUNC_ID:
      val = ARM_SMCCC_VERSION_1_1;
      break;
    case ARM_SMCCC_ARCH_FEATURES_FUNC_ID: {
      const feature = Number(smcccGetArg(vcpu, 1) & 0xffff_ffffn);
      if (feature === ARM_SMCCC_HV_PV_TIME_FEATURES) {
        if (serviceAllowed(vm, feature)) val = SMCCC_RET_SUCCESS;
      } else {
        val = workaroundFeature(vm, feature);
      }
      break;
    }
    case ARM_SMCCC_TRNG_VERSION:
      val = ARM_SMCCC_TRNG_VERSION_1_0;
      break;
    case ARM_SMCCC_HV_PV_TIME_FEATURES: {
      const feature = Number(smcccGetArg(vcpu, 1) & 0xffff_ffffn);
      if (feature === ARM_SMCCC_HV_PV_TIME_FEATURES || feature === ARM_SMCCC_HV_PV_TIME_ST)
        val = SMCCC_RET_SUCCESS;
      break;
    }
    case ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID:
      val = vm.vendorHypBmap;
      break;
    case ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID: {
      const [a, b, c, d] = ARM_SMCCC_VENDOR_HYP_UID_KVM;
      smcccSetRetval(vcpu, a, b, BigInt(c), BigInt(d));
      return 1;
    }
    case ARM_SMCCC_HV_PV_TIME_ST:
      // No PV-time region is configured: kvm_init_stolen_time() gives INVALID_GPA.
      break;
    case ARM_SMCCC_TRNG_FEATURES:
    case ARM_SMCCC_TRNG_GET_UUID:
    case ARM_SMCCC_TRNG_RND32:
    case ARM_SMCCC_TRNG_RND64:
    case ARM_SMCCC_VENDOR_HYP_KVM_PTP_FUNC_ID:
      break;
    default:
      return kvmPsciCall(vcpu);
  }
  smcccSetRetval(vcpu, val);
  return 1;
}

/** get_kernel_wa_level(). */
function kernelWaLevel(vm: KvmArmVm, id: bigint): bigint {
  if (id === KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1) return vm.host.wa1Level;
  if (id === KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2) return vm.host.wa2Level;
  return vm.host.wa3Level;
}

/** kvm_arm_get_fw_reg(): undefined when this host has no such register (ENOENT for the caller). */
export function kvmArmGetFwReg(vcpu: KvmArmVcpu, id: bigint): bigint | undefined {
  const vm = vcpu.vm;
  if (!vm.host.fwRegs.includes(id)) return undefined;
  switch (id) {
    case KVM_REG_ARM_PSCI_VERSION:
      return BigInt(vcpu.psciVersion());
    case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1:
    case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2:
    case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3:
      return kernelWaLevel(vm, id) & KVM_REG_FEATURE_LEVEL_MASK;
    case KVM_REG_ARM_STD_BMAP:
      return vm.stdBmap;
    case KVM_REG_ARM_STD_HYP_BMAP:
      return vm.stdHypBmap;
    case KVM_REG_ARM_VENDOR_HYP_BMAP:
      return vm.vendorHypBmap;
    default:
      return undefined;
  }
}

/** kvm_arm_set_fw_reg_bmap(): unknown bits EINVAL; a change after the VM has run EBUSY. */
function setFwRegBmap(vm: KvmArmVm, id: bigint, val: bigint): void {
  const [key, valid] =
    id === KVM_REG_ARM_STD_BMAP
      ? (['stdBmap', KVM_ARM_SMCCC_STD_FEATURES] as const)
      : id === KVM_REG_ARM_STD_HYP_BMAP
        ? (['stdHypBmap', KVM_ARM_SMCCC_STD_HYP_FEATURES] as const)
        : (['vendorHypBmap', KVM_ARM_SMCCC_VENDOR_HYP_FEATURES] as const);
  if ((val & ~valid) !== 0n)
    fail('EINVAL', `bits 0x${(val & ~valid).toString(16)} are not services`, 'KVM_SET_ONE_REG');
  if (vm.ranOnce && val !== vm[key])
    fail('EBUSY', 'the VM has run: its hypercall services are fixed', 'KVM_SET_ONE_REG');
  vm[key] = val;
}

/**
 * kvm_arm_set_fw_reg(). Returns false when this host has no such register
 * (the caller answers ENOENT); throws EINVAL/EBUSY for a refused value,
 * changing nothing.
 */
export function kvmArmSetFwReg(vcpu: KvmArmVcpu, id: bigint, val: bigint): boolean {
  const vm = vcpu.vm;
  if (!vm.host.fwRegs.includes(id)) return false;
  switch (id) {
    case KVM_REG_ARM_PSCI_VERSION: {
      // Only versions this kernel implements, and only those compatible with
      // the vCPU's PSCI_0_2 feature; the choice is VM-wide.
      const wants02 = vcpu.hasFeature(KVM_ARM_VCPU_PSCI_0_2);
      const v = Number(val);
      if (val > 0xffff_ffffn || !vm.host.psciVersions.includes(v))
        fail('EINVAL', `PSCI version 0x${val.toString(16)} is not implemented`, 'KVM_SET_ONE_REG');
      if ((v === KVM_ARM_PSCI_0_1) === wants02)
        fail(
          'EINVAL',
          `PSCI version 0x${val.toString(16)} conflicts with the vCPU's PSCI_0_2 feature`,
          'KVM_SET_ONE_REG',
        );
      vm.psciVersion = v;
      return true;
    }
    case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1:
    case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3:
      // A level is accepted when this host is at least as good (NOT_AVAIL < AVAIL < NOT_REQUIRED).
      if ((val & ~KVM_REG_FEATURE_LEVEL_MASK) !== 0n)
        fail('EINVAL', 'bits above the level', 'KVM_SET_ONE_REG');
      if (kernelWaLevel(vm, id) < val)
        fail('EINVAL', 'this host cannot provide that mitigation level', 'KVM_SET_ONE_REG');
      return true;
    case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2: {
      if ((val & ~(KVM_REG_FEATURE_LEVEL_MASK | KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_ENABLED)) !== 0n)
        fail('EINVAL', 'bits above the level and ENABLED', 'KVM_SET_ONE_REG');
      const level = val & KVM_REG_FEATURE_LEVEL_MASK;
      if (
        (val & KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_ENABLED) !== 0n &&
        level !== KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_AVAIL
      )
        fail('EINVAL', 'ENABLED without AVAIL', 'KVM_SET_ONE_REG');
      // The four levels fold into the two states KVM deals in.
      let wanted: bigint;
      if (
        level === KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_AVAIL ||
        level === KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_UNKNOWN
      )
        wanted = KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_AVAIL;
      else if (
        level === KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_AVAIL ||
        level === KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_REQUIRED
      )
        wanted = KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_REQUIRED;
      else fail('EINVAL', `unknown level ${level}`, 'KVM_SET_ONE_REG');
      if (kernelWaLevel(vm, id) < wanted)
        fail('EINVAL', 'this host cannot provide that state', 'KVM_SET_ONE_REG');
      return true;
    }
    case KVM_REG_ARM_STD_BMAP:
    case KVM_REG_ARM_STD_HYP_BMAP:
    case KVM_REG_ARM_VENDOR_HYP_BMAP:
      setFwRegBmap(vm, id, val);
      return true;
    default:
      return false;
  }
}
