// SBI facts: extension and function ids, error codes and HSM states from the
// RISC-V SBI specification v2.0, and KVM's own numbers
// (arch/riscv/include/asm/kvm_vcpu_sbi.h, sbi.h).

/** SBI error codes (returned in a0). */
export const SBI_SUCCESS = 0n;
export const SBI_ERR_FAILURE = -1n;
export const SBI_ERR_NOT_SUPPORTED = -2n;
export const SBI_ERR_INVALID_PARAM = -3n;
export const SBI_ERR_DENIED = -4n;
export const SBI_ERR_INVALID_ADDRESS = -5n;
export const SBI_ERR_ALREADY_AVAILABLE = -6n;
export const SBI_ERR_ALREADY_STARTED = -7n;
export const SBI_ERR_ALREADY_STOPPED = -8n;
export const SBI_ERR_NO_SHMEM = -9n;

/** Extension ids (a7). */
export const SBI_EXT_0_1_SET_TIMER = 0x0;
export const SBI_EXT_0_1_CONSOLE_PUTCHAR = 0x1;
export const SBI_EXT_0_1_CONSOLE_GETCHAR = 0x2;
export const SBI_EXT_0_1_CLEAR_IPI = 0x3;
export const SBI_EXT_0_1_SEND_IPI = 0x4;
export const SBI_EXT_0_1_REMOTE_FENCE_I = 0x5;
export const SBI_EXT_0_1_REMOTE_SFENCE_VMA = 0x6;
export const SBI_EXT_0_1_REMOTE_SFENCE_VMA_ASID = 0x7;
export const SBI_EXT_0_1_SHUTDOWN = 0x8;
export const SBI_EXT_BASE = 0x10;
export const SBI_EXT_TIME = 0x54494d45;
export const SBI_EXT_IPI = 0x735049;
export const SBI_EXT_RFENCE = 0x52464e43;
export const SBI_EXT_HSM = 0x48534d;
export const SBI_EXT_SRST = 0x53525354;
export const SBI_EXT_PMU = 0x504d55;
export const SBI_EXT_DBCN = 0x4442434e;
export const SBI_EXT_STA = 0x535441;
export const SBI_EXT_SUSP = 0x53555350;
export const SBI_EXT_EXPERIMENTAL_START = 0x08000000;
export const SBI_EXT_EXPERIMENTAL_END = 0x08ffffff;
export const SBI_EXT_VENDOR_START = 0x09000000;
export const SBI_EXT_VENDOR_END = 0x09ffffff;

/** BASE functions. */
export const SBI_EXT_BASE_GET_SPEC_VERSION = 0;
export const SBI_EXT_BASE_GET_IMP_ID = 1;
export const SBI_EXT_BASE_GET_IMP_VERSION = 2;
export const SBI_EXT_BASE_PROBE_EXT = 3;
export const SBI_EXT_BASE_GET_MVENDORID = 4;
export const SBI_EXT_BASE_GET_MARCHID = 5;
export const SBI_EXT_BASE_GET_MIMPID = 6;

/** The SBI spec version KVM reports: 2.0 (KVM_SBI_VERSION_MAJOR/MINOR), as major << 24 | minor. */
export const KVM_SBI_VERSION_MAJOR = 2;
export const KVM_SBI_VERSION_MINOR = 0;
export const SBI_SPEC_VERSION_MAJOR_SHIFT = 24;
/** The implementation id of KVM in the SBI spec's table. */
export const KVM_SBI_IMPID = 3;
/** The implementation version KVM reports (LINUX_VERSION_CODE of the modelled kernel, 6.12). */
export const KVM_SBI_IMP_VERSION = 0x060c00;

/** TIME, IPI, RFENCE functions. */
export const SBI_EXT_TIME_SET_TIMER = 0;
export const SBI_EXT_IPI_SEND_IPI = 0;
export const SBI_EXT_RFENCE_REMOTE_FENCE_I = 0;
export const SBI_EXT_RFENCE_REMOTE_SFENCE_VMA = 1;
export const SBI_EXT_RFENCE_REMOTE_SFENCE_VMA_ASID = 2;
export const SBI_EXT_RFENCE_REMOTE_HFENCE_GVMA_VMID = 3;
export const SBI_EXT_RFENCE_REMOTE_HFENCE_GVMA = 4;
export const SBI_EXT_RFENCE_REMOTE_HFENCE_VVMA_ASID = 5;
export const SBI_EXT_RFENCE_REMOTE_HFENCE_VVMA = 6;

/** HSM functions, states and suspend types. */
export const SBI_EXT_HSM_HART_START = 0;
export const SBI_EXT_HSM_HART_STOP = 1;
export const SBI_EXT_HSM_HART_GET_STATUS = 2;
export const SBI_EXT_HSM_HART_SUSPEND = 3;
export const SBI_HSM_STATE_STARTED = 0;
export const SBI_HSM_STATE_STOPPED = 1;
export const SBI_HSM_STATE_START_PENDING = 2;
export const SBI_HSM_STATE_STOP_PENDING = 3;
export const SBI_HSM_STATE_SUSPENDED = 4;
export const SBI_HSM_STATE_SUSPEND_PENDING = 5;
export const SBI_HSM_STATE_RESUME_PENDING = 6;
export const SBI_HSM_SUSPEND_RET_DEFAULT = 0x00000000;
export const SBI_HSM_SUSPEND_NON_RET_DEFAULT = 0x80000000;

/** SRST. */
export const SBI_EXT_SRST_RESET = 0;
export const SBI_SRST_RESET_TYPE_SHUTDOWN = 0;
export const SBI_SRST_RESET_TYPE_COLD_REBOOT = 1;
export const SBI_SRST_RESET_TYPE_WARM_REBOOT = 2;
export const SBI_SRST_RESET_REASON_NONE = 0;
export const SBI_SRST_RESET_REASON_SYS_FAILURE = 1;

/** DBCN. */
export const SBI_EXT_DBCN_CONSOLE_WRITE = 0;
export const SBI_EXT_DBCN_CONSOLE_READ = 1;
export const SBI_EXT_DBCN_CONSOLE_WRITE_BYTE = 2;

/** enum kvm_riscv_sbi_ext_id: the index KVM_REG_RISCV_SBI_EXT registers name. */
export const KVM_RISCV_SBI_EXT_V01 = 0;
export const KVM_RISCV_SBI_EXT_TIME = 1;
export const KVM_RISCV_SBI_EXT_IPI = 2;
export const KVM_RISCV_SBI_EXT_RFENCE = 3;
export const KVM_RISCV_SBI_EXT_SRST = 4;
export const KVM_RISCV_SBI_EXT_HSM = 5;
export const KVM_RISCV_SBI_EXT_PMU = 6;
export const KVM_RISCV_SBI_EXT_EXPERIMENTAL = 7;
export const KVM_RISCV_SBI_EXT_VENDOR = 8;
export const KVM_RISCV_SBI_EXT_DBCN = 9;
export const KVM_RISCV_SBI_EXT_STA = 10;
export const KVM_RISCV_SBI_EXT_SUSP = 11;
export const KVM_RISCV_SBI_EXT_MAX = 12;
