// PSCI and SMCCC constants (include/uapi/linux/psci.h, include/linux/arm-smccc.h,
// include/kvm/arm_psci.h, and the KVM-specific PSCI 0.1 ids of
// arch/arm64/include/uapi/asm/kvm.h). Values are the firmware ABI the guest sees.

/** PSCI_VERSION(major, minor) as the PSCI_VERSION call and the firmware register encode it. */
export function psciVersion(major: number, minor: number): number {
  return ((major << 16) | (minor & 0xffff)) >>> 0;
}
export const PSCI_VERSION_MAJOR_SHIFT = 16;
export const PSCI_VERSION_MINOR_MASK = 0xffff;

/** The PSCI revisions KVM implements (include/kvm/arm_psci.h). */
export const KVM_ARM_PSCI_0_1 = psciVersion(0, 1);
export const KVM_ARM_PSCI_0_2 = psciVersion(0, 2);
export const KVM_ARM_PSCI_1_0 = psciVersion(1, 0);
export const KVM_ARM_PSCI_1_1 = psciVersion(1, 1);
export const KVM_ARM_PSCI_LATEST = KVM_ARM_PSCI_1_1;

/** PSCI 0.1 as KVM defined it, before the spec fixed ids: KVM_PSCI_FN_BASE + n. */
export const KVM_PSCI_FN_BASE = 0x95c1ba5e;
export const KVM_PSCI_FN_CPU_SUSPEND = KVM_PSCI_FN_BASE + 0;
export const KVM_PSCI_FN_CPU_OFF = KVM_PSCI_FN_BASE + 1;
export const KVM_PSCI_FN_CPU_ON = KVM_PSCI_FN_BASE + 2;
export const KVM_PSCI_FN_MIGRATE = KVM_PSCI_FN_BASE + 3;

/** Function ids from PSCI 0.2 on: SMC32 at 0x84000000, SMC64 (bit 30) at 0xC4000000. */
export const PSCI_0_2_FN_BASE = 0x84000000;
export const PSCI_0_2_64BIT = 0x40000000;
export const PSCI_0_2_FN64_BASE = (PSCI_0_2_FN_BASE + PSCI_0_2_64BIT) >>> 0;
const fn = (n: number) => (PSCI_0_2_FN_BASE + n) >>> 0;
const fn64 = (n: number) => (PSCI_0_2_FN64_BASE + n) >>> 0;

export const PSCI_0_2_FN_PSCI_VERSION = fn(0);
export const PSCI_0_2_FN_CPU_SUSPEND = fn(1);
export const PSCI_0_2_FN_CPU_OFF = fn(2);
export const PSCI_0_2_FN_CPU_ON = fn(3);
export const PSCI_0_2_FN_AFFINITY_INFO = fn(4);
export const PSCI_0_2_FN_MIGRATE = fn(5);
export const PSCI_0_2_FN_MIGRATE_INFO_TYPE = fn(6);
export const PSCI_0_2_FN_MIGRATE_INFO_UP_CPU = fn(7);
export const PSCI_0_2_FN_SYSTEM_OFF = fn(8);
export const PSCI_0_2_FN_SYSTEM_RESET = fn(9);
export const PSCI_0_2_FN64_CPU_SUSPEND = fn64(1);
export const PSCI_0_2_FN64_CPU_ON = fn64(3);
export const PSCI_0_2_FN64_AFFINITY_INFO = fn64(4);
export const PSCI_0_2_FN64_MIGRATE = fn64(5);
export const PSCI_0_2_FN64_MIGRATE_INFO_UP_CPU = fn64(7);

export const PSCI_1_0_FN_PSCI_FEATURES = fn(10);
export const PSCI_1_0_FN_CPU_FREEZE = fn(11);
export const PSCI_1_0_FN_CPU_DEFAULT_SUSPEND = fn(12);
export const PSCI_1_0_FN_NODE_HW_STATE = fn(13);
export const PSCI_1_0_FN_SYSTEM_SUSPEND = fn(14);
export const PSCI_1_0_FN_SET_SUSPEND_MODE = fn(15);
export const PSCI_1_0_FN_STAT_RESIDENCY = fn(16);
export const PSCI_1_0_FN_STAT_COUNT = fn(17);
export const PSCI_1_0_FN64_CPU_DEFAULT_SUSPEND = fn64(12);
export const PSCI_1_0_FN64_NODE_HW_STATE = fn64(13);
export const PSCI_1_0_FN64_SYSTEM_SUSPEND = fn64(14);
export const PSCI_1_0_FN64_STAT_RESIDENCY = fn64(16);
export const PSCI_1_0_FN64_STAT_COUNT = fn64(17);

export const PSCI_1_1_FN_SYSTEM_RESET2 = fn(18);
export const PSCI_1_1_FN_MEM_PROTECT = fn(19);
export const PSCI_1_1_FN_MEM_PROTECT_CHECK_RANGE = fn(20);
export const PSCI_1_1_FN64_SYSTEM_RESET2 = fn64(18);
export const PSCI_1_1_FN64_MEM_PROTECT_CHECK_RANGE = fn64(20);

/** SYSTEM_RESET2 reset_type: bit 31 clear = architectural (only 0, warm reset, is defined), set = vendor. */
export const PSCI_1_1_RESET_TYPE_SYSTEM_WARM_RESET = 0;
export const PSCI_1_1_RESET_TYPE_VENDOR_START = 0x80000000;

/** PSCI return codes (signed; the guest reads them sign-extended in x0). */
export const PSCI_RET_SUCCESS = 0;
export const PSCI_RET_NOT_SUPPORTED = -1;
export const PSCI_RET_INVALID_PARAMS = -2;
export const PSCI_RET_DENIED = -3;
export const PSCI_RET_ALREADY_ON = -4;
export const PSCI_RET_ON_PENDING = -5;
export const PSCI_RET_INTERNAL_FAILURE = -6;
export const PSCI_RET_NOT_PRESENT = -7;
export const PSCI_RET_DISABLED = -8;
export const PSCI_RET_INVALID_ADDRESS = -9;

/** AFFINITY_INFO answers. */
export const PSCI_0_2_AFFINITY_LEVEL_ON = 0;
export const PSCI_0_2_AFFINITY_LEVEL_OFF = 1;
export const PSCI_0_2_AFFINITY_LEVEL_ON_PENDING = 2;

/** MIGRATE_INFO_TYPE answers: KVM says "Trusted OS is MP or not present" (TOS_MP). */
export const PSCI_0_2_TOS_UP_MIGRATE = 0;
export const PSCI_0_2_TOS_UP_NO_MIGRATE = 1;
export const PSCI_0_2_TOS_MP = 2;

/** SMCCC architecture calls (DEN0028). */
export const ARM_SMCCC_VERSION_FUNC_ID = 0x80000000;
export const ARM_SMCCC_ARCH_FEATURES_FUNC_ID = 0x80000001;
export const ARM_SMCCC_ARCH_WORKAROUND_1 = 0x80008000;
export const ARM_SMCCC_ARCH_WORKAROUND_2 = 0x80007fff;
export const ARM_SMCCC_ARCH_WORKAROUND_3 = 0x80003fff;
export const ARM_SMCCC_VERSION_1_0 = 0x10000;
export const ARM_SMCCC_VERSION_1_1 = 0x10001;
/** Standard-service and hypervisor-service calls that the firmware bitmaps gate. */
export const ARM_SMCCC_TRNG_VERSION = 0x84000050;
export const ARM_SMCCC_TRNG_FEATURES = 0x84000051;
export const ARM_SMCCC_TRNG_GET_UUID = 0x84000052;
export const ARM_SMCCC_TRNG_RND32 = 0x84000053;
export const ARM_SMCCC_TRNG_RND64 = 0xc4000053;
export const ARM_SMCCC_HV_PV_TIME_FEATURES = 0xc5000020;
export const ARM_SMCCC_HV_PV_TIME_ST = 0xc5000021;
export const ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID = 0x86000000;
export const ARM_SMCCC_VENDOR_HYP_KVM_PTP_FUNC_ID = 0x86000001;
export const ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID = 0x8600ff01;
/** KVM's vendor-hypervisor UID, 28b46fb6-2ec5-11e9-a9ca-4b564d003a74, as CALL_UID returns it in x0..x3. */
export const ARM_SMCCC_VENDOR_HYP_UID_KVM = [0xb66fb428, 0xe911c52e, 0x564bcaa9, 0x743a004d] as const;
/** TRNG 1.0 as KVM advertises it. */
export const ARM_SMCCC_TRNG_VERSION_1_0 = 0x10000;

export const SMCCC_RET_SUCCESS = 0;
export const SMCCC_RET_NOT_SUPPORTED = -1;
export const SMCCC_RET_NOT_REQUIRED = -2;
export const SMCCC_RET_INVALID_PARAMETER = -3;
/** ARCH_FEATURES answer for a workaround the CPU does not need. */
export const SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED = 1;
