// PSCI and SMCCC constants (include/uapi/linux/psci.h, include/linux/arm-smccc.h,
// include/kvm/arm_psci.h, and the KVM-specific PSCI 0.1 ids of
// arch/arm64/include/uapi/asm/kvm.h). Values are the firmware ABI the guest sees.

/** PSCI_VERSION(major, minor) as the PSCI_VERSION call and the firmware register encode it. */
export function psciVersion(major: number, minor: number): number {
  return ((major << 16) | (minor & 0xffff)) >>> 0;
}
/** Shift of the major number in a PSCI version word. */
export const PSCI_VERSION_MAJOR_SHIFT = 16;
/** Mask of the minor number in a PSCI version word. */
export const PSCI_VERSION_MINOR_MASK = 0xffff;

/** The PSCI revisions KVM implements (include/kvm/arm_psci.h). */
export const KVM_ARM_PSCI_0_1 = psciVersion(0, 1);
/** PSCI 0.2. */
export const KVM_ARM_PSCI_0_2 = psciVersion(0, 2);
/** PSCI 1.0. */
export const KVM_ARM_PSCI_1_0 = psciVersion(1, 0);
/** PSCI 1.1. */
export const KVM_ARM_PSCI_1_1 = psciVersion(1, 1);
/** The newest PSCI revision KVM implements (the default). */
export const KVM_ARM_PSCI_LATEST = KVM_ARM_PSCI_1_1;

/** PSCI 0.1 as KVM defined it, before the spec fixed ids: KVM_PSCI_FN_BASE + n. */
export const KVM_PSCI_FN_BASE = 0x95c1ba5e;
/** KVM PSCI 0.1 id: CPU_SUSPEND. */
export const KVM_PSCI_FN_CPU_SUSPEND = KVM_PSCI_FN_BASE + 0;
/** KVM PSCI 0.1 id: CPU_OFF. */
export const KVM_PSCI_FN_CPU_OFF = KVM_PSCI_FN_BASE + 1;
/** KVM PSCI 0.1 id: CPU_ON. */
export const KVM_PSCI_FN_CPU_ON = KVM_PSCI_FN_BASE + 2;
/** KVM PSCI 0.1 id: MIGRATE. */
export const KVM_PSCI_FN_MIGRATE = KVM_PSCI_FN_BASE + 3;

/** Function ids from PSCI 0.2 on: SMC32 at 0x84000000, SMC64 (bit 30) at 0xC4000000. */
export const PSCI_0_2_FN_BASE = 0x84000000;
/** Bit that turns an SMC32 function id into SMC64. */
export const PSCI_0_2_64BIT = 0x40000000;
/** Base of the SMC64 PSCI function ids. */
export const PSCI_0_2_FN64_BASE = (PSCI_0_2_FN_BASE + PSCI_0_2_64BIT) >>> 0;
const fn = (n: number) => (PSCI_0_2_FN_BASE + n) >>> 0;
const fn64 = (n: number) => (PSCI_0_2_FN64_BASE + n) >>> 0;

/** PSCI_VERSION: the implemented PSCI revision. */
export const PSCI_0_2_FN_PSCI_VERSION = fn(0);
/** CPU_SUSPEND (SMC32). */
export const PSCI_0_2_FN_CPU_SUSPEND = fn(1);
/** CPU_OFF: power the calling CPU down. */
export const PSCI_0_2_FN_CPU_OFF = fn(2);
/** CPU_ON (SMC32): power a CPU up at an entry point. */
export const PSCI_0_2_FN_CPU_ON = fn(3);
/** AFFINITY_INFO (SMC32): power state of an affinity instance. */
export const PSCI_0_2_FN_AFFINITY_INFO = fn(4);
/** MIGRATE (SMC32): move the Trusted OS to another CPU. */
export const PSCI_0_2_FN_MIGRATE = fn(5);
/** MIGRATE_INFO_TYPE: Trusted OS migration capability. */
export const PSCI_0_2_FN_MIGRATE_INFO_TYPE = fn(6);
/** MIGRATE_INFO_UP_CPU (SMC32): the CPU a UP Trusted OS runs on. */
export const PSCI_0_2_FN_MIGRATE_INFO_UP_CPU = fn(7);
/** SYSTEM_OFF: power the system down. */
export const PSCI_0_2_FN_SYSTEM_OFF = fn(8);
/** SYSTEM_RESET: cold-reset the system. */
export const PSCI_0_2_FN_SYSTEM_RESET = fn(9);
/** CPU_SUSPEND (SMC64). */
export const PSCI_0_2_FN64_CPU_SUSPEND = fn64(1);
/** CPU_ON (SMC64). */
export const PSCI_0_2_FN64_CPU_ON = fn64(3);
/** AFFINITY_INFO (SMC64). */
export const PSCI_0_2_FN64_AFFINITY_INFO = fn64(4);
/** MIGRATE (SMC64). */
export const PSCI_0_2_FN64_MIGRATE = fn64(5);
/** MIGRATE_INFO_UP_CPU (SMC64). */
export const PSCI_0_2_FN64_MIGRATE_INFO_UP_CPU = fn64(7);

/** PSCI_FEATURES: whether a function is implemented. */
export const PSCI_1_0_FN_PSCI_FEATURES = fn(10);
/** CPU_FREEZE. */
export const PSCI_1_0_FN_CPU_FREEZE = fn(11);
/** CPU_DEFAULT_SUSPEND (SMC32). */
export const PSCI_1_0_FN_CPU_DEFAULT_SUSPEND = fn(12);
/** NODE_HW_STATE (SMC32). */
export const PSCI_1_0_FN_NODE_HW_STATE = fn(13);
/** SYSTEM_SUSPEND (SMC32): suspend to RAM. */
export const PSCI_1_0_FN_SYSTEM_SUSPEND = fn(14);
/** PSCI_SET_SUSPEND_MODE. */
export const PSCI_1_0_FN_SET_SUSPEND_MODE = fn(15);
/** PSCI_STAT_RESIDENCY (SMC32). */
export const PSCI_1_0_FN_STAT_RESIDENCY = fn(16);
/** PSCI_STAT_COUNT (SMC32). */
export const PSCI_1_0_FN_STAT_COUNT = fn(17);
/** CPU_DEFAULT_SUSPEND (SMC64). */
export const PSCI_1_0_FN64_CPU_DEFAULT_SUSPEND = fn64(12);
/** NODE_HW_STATE (SMC64). */
export const PSCI_1_0_FN64_NODE_HW_STATE = fn64(13);
/** SYSTEM_SUSPEND (SMC64). */
export const PSCI_1_0_FN64_SYSTEM_SUSPEND = fn64(14);
/** PSCI_STAT_RESIDENCY (SMC64). */
export const PSCI_1_0_FN64_STAT_RESIDENCY = fn64(16);
/** PSCI_STAT_COUNT (SMC64). */
export const PSCI_1_0_FN64_STAT_COUNT = fn64(17);

/** SYSTEM_RESET2 (SMC32): architectural or vendor reset. */
export const PSCI_1_1_FN_SYSTEM_RESET2 = fn(18);
/** MEM_PROTECT. */
export const PSCI_1_1_FN_MEM_PROTECT = fn(19);
/** MEM_PROTECT_CHECK_RANGE (SMC32). */
export const PSCI_1_1_FN_MEM_PROTECT_CHECK_RANGE = fn(20);
/** SYSTEM_RESET2 (SMC64). */
export const PSCI_1_1_FN64_SYSTEM_RESET2 = fn64(18);
/** MEM_PROTECT_CHECK_RANGE (SMC64). */
export const PSCI_1_1_FN64_MEM_PROTECT_CHECK_RANGE = fn64(20);

/** SYSTEM_RESET2 reset_type: bit 31 clear = architectural (only 0, warm reset, is defined), set = vendor. */
export const PSCI_1_1_RESET_TYPE_SYSTEM_WARM_RESET = 0;
/** First vendor-specific SYSTEM_RESET2 reset type (bit 31 set). */
export const PSCI_1_1_RESET_TYPE_VENDOR_START = 0x80000000;

/** PSCI return codes (signed; the guest reads them sign-extended in x0). */
export const PSCI_RET_SUCCESS = 0;
/** PSCI error: function not implemented. */
export const PSCI_RET_NOT_SUPPORTED = -1;
/** PSCI error: invalid parameters. */
export const PSCI_RET_INVALID_PARAMS = -2;
/** PSCI error: denied. */
export const PSCI_RET_DENIED = -3;
/** PSCI error: the CPU is already on. */
export const PSCI_RET_ALREADY_ON = -4;
/** PSCI error: a CPU_ON for this CPU is already pending. */
export const PSCI_RET_ON_PENDING = -5;
/** PSCI error: internal failure. */
export const PSCI_RET_INTERNAL_FAILURE = -6;
/** PSCI error: not present. */
export const PSCI_RET_NOT_PRESENT = -7;
/** PSCI error: disabled. */
export const PSCI_RET_DISABLED = -8;
/** PSCI error: invalid address. */
export const PSCI_RET_INVALID_ADDRESS = -9;

/** AFFINITY_INFO answers. */
export const PSCI_0_2_AFFINITY_LEVEL_ON = 0;
/** AFFINITY_INFO: off. */
export const PSCI_0_2_AFFINITY_LEVEL_OFF = 1;
/** AFFINITY_INFO: a CPU_ON is pending. */
export const PSCI_0_2_AFFINITY_LEVEL_ON_PENDING = 2;

/** MIGRATE_INFO_TYPE answers: KVM says "Trusted OS is MP or not present" (TOS_MP). */
export const PSCI_0_2_TOS_UP_MIGRATE = 0;
/** MIGRATE_INFO_TYPE: uniprocessor Trusted OS that cannot migrate. */
export const PSCI_0_2_TOS_UP_NO_MIGRATE = 1;
/** MIGRATE_INFO_TYPE: Trusted OS is multiprocessor or absent. */
export const PSCI_0_2_TOS_MP = 2;

/** SMCCC architecture calls (DEN0028). */
export const ARM_SMCCC_VERSION_FUNC_ID = 0x80000000;
/** SMCCC_ARCH_FEATURES: whether an arch call is implemented. */
export const ARM_SMCCC_ARCH_FEATURES_FUNC_ID = 0x80000001;
/** SMCCC_ARCH_WORKAROUND_1: Spectre-v2 branch predictor invalidation. */
export const ARM_SMCCC_ARCH_WORKAROUND_1 = 0x80008000;
/** SMCCC_ARCH_WORKAROUND_2: Spectre-v4 (SSBD) mitigation control. */
export const ARM_SMCCC_ARCH_WORKAROUND_2 = 0x80007fff;
/** SMCCC_ARCH_WORKAROUND_3: Spectre-BHB mitigation. */
export const ARM_SMCCC_ARCH_WORKAROUND_3 = 0x80003fff;
/** SMCCC version 1.0. */
export const ARM_SMCCC_VERSION_1_0 = 0x10000;
/** SMCCC version 1.1. */
export const ARM_SMCCC_VERSION_1_1 = 0x10001;
/** Standard-service and hypervisor-service calls that the firmware bitmaps gate. */
export const ARM_SMCCC_TRNG_VERSION = 0x84000050;
/** TRNG_FEATURES. */
export const ARM_SMCCC_TRNG_FEATURES = 0x84000051;
/** TRNG_GET_UUID. */
export const ARM_SMCCC_TRNG_GET_UUID = 0x84000052;
/** TRNG_RND (SMC32). */
export const ARM_SMCCC_TRNG_RND32 = 0x84000053;
/** TRNG_RND (SMC64). */
export const ARM_SMCCC_TRNG_RND64 = 0xc4000053;
/** PV_TIME_FEATURES (stolen time). */
export const ARM_SMCCC_HV_PV_TIME_FEATURES = 0xc5000020;
/** PV_TIME_ST: the stolen-time structure's address. */
export const ARM_SMCCC_HV_PV_TIME_ST = 0xc5000021;
/** KVM vendor-hypervisor call: the features bitmap. */
export const ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID = 0x86000000;
/** KVM vendor-hypervisor call: PTP (host/guest clock pairing). */
export const ARM_SMCCC_VENDOR_HYP_KVM_PTP_FUNC_ID = 0x86000001;
/** Vendor-hypervisor CALL_UID. */
export const ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID = 0x8600ff01;
/** KVM's vendor-hypervisor UID, 28b46fb6-2ec5-11e9-a9ca-4b564d003a74, as CALL_UID returns it in x0..x3. */
export const ARM_SMCCC_VENDOR_HYP_UID_KVM = [0xb66fb428, 0xe911c52e, 0x564bcaa9, 0x743a004d] as const;
/** TRNG 1.0 as KVM advertises it. */
export const ARM_SMCCC_TRNG_VERSION_1_0 = 0x10000;

/** SMCCC: success. */
export const SMCCC_RET_SUCCESS = 0;
/** SMCCC error: not supported. */
export const SMCCC_RET_NOT_SUPPORTED = -1;
/** SMCCC: call not required on this CPU. */
export const SMCCC_RET_NOT_REQUIRED = -2;
/** SMCCC error: invalid parameter. */
export const SMCCC_RET_INVALID_PARAMETER = -3;
/** ARCH_FEATURES answer for a workaround the CPU does not need. */
export const SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED = 1;
