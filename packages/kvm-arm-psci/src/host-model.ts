import {
  KVM_REG_ARM_PSCI_VERSION,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1_AVAIL,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_REQUIRED,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3_AVAIL,
  KVM_REG_ARM_STD_BMAP,
  KVM_REG_ARM_STD_HYP_BMAP,
  KVM_REG_ARM_VENDOR_HYP_BMAP,
} from './arm-uapi.ts';
import { KVM_ARM_PSCI_0_1, KVM_ARM_PSCI_0_2, KVM_ARM_PSCI_1_0, KVM_ARM_PSCI_1_1 } from './psci-uapi.ts';

/**
 * How user space picks the PSCI version a VM sees:
 * - 'one-reg': the merged design, the KVM_REG_ARM_PSCI_VERSION firmware register;
 * - 'vcpu-feature': the review's alternative, a vCPU feature bit
 *   (KVM_ARM_VCPU_FORCE_PSCI_0_2) that pins the vCPU to 0.2;
 * - 'none': a kernel from before either existed (always the latest it implements).
 */
export type PsciVersionSelection = 'one-reg' | 'vcpu-feature' | 'none';

/** A host kernel: which PSCI versions and firmware registers it implements. */
export interface KvmArmHostModel {
  /** Name of the modelled kernel. */
  readonly name: string;
  /** PSCI versions implemented, ascending; the last is what a 0.2-capable VM gets by default. */
  readonly psciVersions: readonly number[];
  /** Firmware pseudo-registers, in the order KVM_GET_REG_LIST gives them (kvm_arm_fw_reg_ids). */
  readonly fwRegs: readonly bigint[];
  /** How user space may pin the PSCI version on this kernel. */
  readonly versionSelection: PsciVersionSelection;
  /** KVM_CAP_ARM_SYSTEM_SUSPEND exists. */
  readonly systemSuspend: boolean;
  /** The host's mitigation state as the workaround registers report it (get_kernel_wa_level()). */
  readonly wa1Level: bigint;
  /** WORKAROUND_2 level the host reports. */
  readonly wa2Level: bigint;
  /** WORKAROUND_3 level the host reports. */
  readonly wa3Level: bigint;
}

const UPSTREAM_FW_REGS = [
  KVM_REG_ARM_PSCI_VERSION,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3,
  KVM_REG_ARM_STD_BMAP,
  KVM_REG_ARM_STD_HYP_BMAP,
  KVM_REG_ARM_VENDOR_HYP_BMAP,
] as const;

/** Today's upstream: PSCI 0.1 to 1.1, all seven firmware registers, SYSTEM_SUSPEND. */
export const UPSTREAM_HOST: KvmArmHostModel = {
  name: 'upstream',
  psciVersions: [KVM_ARM_PSCI_0_1, KVM_ARM_PSCI_0_2, KVM_ARM_PSCI_1_0, KVM_ARM_PSCI_1_1],
  fwRegs: UPSTREAM_FW_REGS,
  versionSelection: 'one-reg',
  systemSuspend: true,
  wa1Level: KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1_AVAIL,
  wa2Level: KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2_NOT_REQUIRED,
  wa3Level: KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3_AVAIL,
};

/**
 * The review's "old" host (before the seed patch, v4.15): PSCI 0.1 and 0.2,
 * no firmware register class, so a firmware register id falls through to
 * the system registers, which answer ENOENT for it.
 */
export const OLD_HOST: KvmArmHostModel = {
  name: 'old',
  psciVersions: [KVM_ARM_PSCI_0_1, KVM_ARM_PSCI_0_2],
  fwRegs: [],
  versionSelection: 'none',
  systemSuspend: false,
  wa1Level: 0n,
  wa2Level: 0n,
  wa3Level: 0n,
};

/**
 * The review's "new" host with the seed patch: PSCI 1.0 added and the
 * default, the PSCI_VERSION register listed for every vCPU. For a vCPU
 * without PSCI_0_2 the register behaves as merged in v4.16 (reads 0.1,
 * accepts 0.1), not as in the reviewed v3 (EINVAL); see the README.
 */
export const NEW_ONE_REG_HOST: KvmArmHostModel = {
  ...OLD_HOST,
  name: 'new (one-reg)',
  psciVersions: [KVM_ARM_PSCI_0_1, KVM_ARM_PSCI_0_2, KVM_ARM_PSCI_1_0],
  fwRegs: [KVM_REG_ARM_PSCI_VERSION],
  versionSelection: 'one-reg',
};

/**
 * The "new" host had the review's alternative been merged: PSCI 1.0 by
 * default, KVM_ARM_VCPU_FORCE_PSCI_0_2 accepted (KVM_VCPU_MAX_FEATURES 5),
 * no firmware register.
 */
export const NEW_FEATURE_HOST: KvmArmHostModel = {
  ...OLD_HOST,
  name: 'new (vcpu-feature)',
  psciVersions: [KVM_ARM_PSCI_0_1, KVM_ARM_PSCI_0_2, KVM_ARM_PSCI_1_0],
  fwRegs: [],
  versionSelection: 'vcpu-feature',
};

/** The newest PSCI version `host` offers (what a guest gets when user space picks none). */
export function latestPsciVersion(host: KvmArmHostModel): number {
  return host.psciVersions[host.psciVersions.length - 1]!;
}
