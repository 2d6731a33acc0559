// SBI facts: extension and function ids, error codes and HSM states from the
// RISC-V SBI specification v2.0, and KVM's own numbers
// (arch/riscv/include/asm/kvm_vcpu_sbi.h, sbi.h).

/** SBI error codes (returned in a0). */
export const SBI_SUCCESS = 0n;
/** SBI error: the call failed for an unspecified reason. */
export const SBI_ERR_FAILURE = -1n;
/** SBI error: the extension or function is not implemented. */
export const SBI_ERR_NOT_SUPPORTED = -2n;
/** SBI error: a parameter is invalid. */
export const SBI_ERR_INVALID_PARAM = -3n;
/** SBI error: the caller is not allowed to do this. */
export const SBI_ERR_DENIED = -4n;
/** SBI error: an address is invalid or inaccessible. */
export const SBI_ERR_INVALID_ADDRESS = -5n;
/** SBI error: the resource is already available. */
export const SBI_ERR_ALREADY_AVAILABLE = -6n;
/** SBI error: the hart is already started. */
export const SBI_ERR_ALREADY_STARTED = -7n;
/** SBI error: the hart is already stopped. */
export const SBI_ERR_ALREADY_STOPPED = -8n;
/** SBI error: shared memory is not available. */
export const SBI_ERR_NO_SHMEM = -9n;

/** Extension ids (a7). */
export const SBI_EXT_0_1_SET_TIMER = 0x0;
/** Legacy v0.1 extension: write a console character. */
export const SBI_EXT_0_1_CONSOLE_PUTCHAR = 0x1;
/** Legacy v0.1 extension: read a console character. */
export const SBI_EXT_0_1_CONSOLE_GETCHAR = 0x2;
/** Legacy v0.1 extension: clear the pending supervisor software interrupt. */
export const SBI_EXT_0_1_CLEAR_IPI = 0x3;
/** Legacy v0.1 extension: send an IPI to a hart mask. */
export const SBI_EXT_0_1_SEND_IPI = 0x4;
/** Legacy v0.1 extension: remote FENCE.I. */
export const SBI_EXT_0_1_REMOTE_FENCE_I = 0x5;
/** Legacy v0.1 extension: remote SFENCE.VMA. */
export const SBI_EXT_0_1_REMOTE_SFENCE_VMA = 0x6;
/** Legacy v0.1 extension: remote SFENCE.VMA for one ASID. */
export const SBI_EXT_0_1_REMOTE_SFENCE_VMA_ASID = 0x7;
/** Legacy v0.1 extension: shut the system down. */
export const SBI_EXT_0_1_SHUTDOWN = 0x8;
/** Base extension (mandatory). */
export const SBI_EXT_BASE = 0x10;
/** Timer extension ("TIME"). */
export const SBI_EXT_TIME = 0x54494d45;
/** IPI extension ("sPI"). */
export const SBI_EXT_IPI = 0x735049;
/** Remote fence extension ("RFNC"). */
export const SBI_EXT_RFENCE = 0x52464e43;
/** Hart state management extension ("HSM"). */
export const SBI_EXT_HSM = 0x48534d;
/** System reset extension ("SRST"). */
export const SBI_EXT_SRST = 0x53525354;
/** Performance monitoring extension ("PMU"). */
export const SBI_EXT_PMU = 0x504d55;
/** Debug console extension ("DBCN"). */
export const SBI_EXT_DBCN = 0x4442434e;
/** Steal-time accounting extension ("STA"). */
export const SBI_EXT_STA = 0x535441;
/** System suspend extension ("SUSP"). */
export const SBI_EXT_SUSP = 0x53555350;
/** First extension id of the experimental range. */
export const SBI_EXT_EXPERIMENTAL_START = 0x08000000;
/** Last extension id of the experimental range. */
export const SBI_EXT_EXPERIMENTAL_END = 0x08ffffff;
/** First extension id of the vendor range. */
export const SBI_EXT_VENDOR_START = 0x09000000;
/** Last extension id of the vendor range. */
export const SBI_EXT_VENDOR_END = 0x09ffffff;

/** BASE functions. */
export const SBI_EXT_BASE_GET_SPEC_VERSION = 0;
/** BASE: get the SBI implementation id. */
export const SBI_EXT_BASE_GET_IMP_ID = 1;
/** BASE: get the SBI implementation version. */
export const SBI_EXT_BASE_GET_IMP_VERSION = 2;
/** BASE: probe whether an extension is available. */
export const SBI_EXT_BASE_PROBE_EXT = 3;
/** BASE: get the mvendorid CSR value. */
export const SBI_EXT_BASE_GET_MVENDORID = 4;
/** BASE: get the marchid CSR value. */
export const SBI_EXT_BASE_GET_MARCHID = 5;
/** BASE: get the mimpid CSR value. */
export const SBI_EXT_BASE_GET_MIMPID = 6;

/** The SBI spec version KVM reports: 2.0 (KVM_SBI_VERSION_MAJOR/MINOR), as major << 24 | minor. */
export const KVM_SBI_VERSION_MAJOR = 2;
/** Minor SBI spec version KVM reports. */
export const KVM_SBI_VERSION_MINOR = 0;
/** Shift of the major number in the spec version word. */
export const SBI_SPEC_VERSION_MAJOR_SHIFT = 24;
/** The implementation id of KVM in the SBI spec's table. */
export const KVM_SBI_IMPID = 3;
/** The implementation version KVM reports (LINUX_VERSION_CODE of the modelled kernel, 6.12). */
export const KVM_SBI_IMP_VERSION = 0x060c00;

/** TIME, IPI, RFENCE functions. */
export const SBI_EXT_TIME_SET_TIMER = 0;
/** IPI: send an IPI to a hart mask. */
export const SBI_EXT_IPI_SEND_IPI = 0;
/** RFENCE: remote FENCE.I. */
export const SBI_EXT_RFENCE_REMOTE_FENCE_I = 0;
/** RFENCE: remote SFENCE.VMA. */
export const SBI_EXT_RFENCE_REMOTE_SFENCE_VMA = 1;
/** RFENCE: remote SFENCE.VMA for one ASID. */
export const SBI_EXT_RFENCE_REMOTE_SFENCE_VMA_ASID = 2;
/** RFENCE: remote HFENCE.GVMA for one VMID. */
export const SBI_EXT_RFENCE_REMOTE_HFENCE_GVMA_VMID = 3;
/** RFENCE: remote HFENCE.GVMA. */
export const SBI_EXT_RFENCE_REMOTE_HFENCE_GVMA = 4;
/** RFENCE: remote HFENCE.VVMA for one ASID. */
export const SBI_EXT_RFENCE_REMOTE_HFENCE_VVMA_ASID = 5;
/** RFENCE: remote HFENCE.VVMA. */
export const SBI_EXT_RFENCE_REMOTE_HFENCE_VVMA = 6;

/** HSM functions, states and suspend types. */
export const SBI_EXT_HSM_HART_START = 0;
/** HSM: stop the calling hart. */
export const SBI_EXT_HSM_HART_STOP = 1;
/** HSM: get a hart's state. */
export const SBI_EXT_HSM_HART_GET_STATUS = 2;
/** HSM: suspend the calling hart. */
export const SBI_EXT_HSM_HART_SUSPEND = 3;
/** HSM state: started. */
export const SBI_HSM_STATE_STARTED = 0;
/** HSM state: stopped. */
export const SBI_HSM_STATE_STOPPED = 1;
/** HSM state: start requested, not yet started. */
export const SBI_HSM_STATE_START_PENDING = 2;
/** HSM state: stop requested, not yet stopped. */
export const SBI_HSM_STATE_STOP_PENDING = 3;
/** HSM state: suspended. */
export const SBI_HSM_STATE_SUSPENDED = 4;
/** HSM state: suspend requested, not yet suspended. */
export const SBI_HSM_STATE_SUSPEND_PENDING = 5;
/** HSM state: resume pending after an interrupt. */
export const SBI_HSM_STATE_RESUME_PENDING = 6;
/** HSM suspend type: default retentive suspend. */
export const SBI_HSM_SUSPEND_RET_DEFAULT = 0x00000000;
/** HSM suspend type: default non-retentive suspend. */
export const SBI_HSM_SUSPEND_NON_RET_DEFAULT = 0x80000000;

/** SRST. */
export const SBI_EXT_SRST_RESET = 0;
/** SRST reset type: shutdown. */
export const SBI_SRST_RESET_TYPE_SHUTDOWN = 0;
/** SRST reset type: cold reboot. */
export const SBI_SRST_RESET_TYPE_COLD_REBOOT = 1;
/** SRST reset type: warm reboot. */
export const SBI_SRST_RESET_TYPE_WARM_REBOOT = 2;
/** SRST reset reason: none. */
export const SBI_SRST_RESET_REASON_NONE = 0;
/** SRST reset reason: system failure. */
export const SBI_SRST_RESET_REASON_SYS_FAILURE = 1;

/** DBCN. */
export const SBI_EXT_DBCN_CONSOLE_WRITE = 0;
/** DBCN: read console bytes into memory. */
export const SBI_EXT_DBCN_CONSOLE_READ = 1;
/** DBCN: write one console byte. */
export const SBI_EXT_DBCN_CONSOLE_WRITE_BYTE = 2;

/** enum kvm_riscv_sbi_ext_id: the index KVM_REG_RISCV_SBI_EXT registers name. */
export const KVM_RISCV_SBI_EXT_V01 = 0;
/** KVM SBI extension index: TIME. */
export const KVM_RISCV_SBI_EXT_TIME = 1;
/** KVM SBI extension index: IPI. */
export const KVM_RISCV_SBI_EXT_IPI = 2;
/** KVM SBI extension index: RFENCE. */
export const KVM_RISCV_SBI_EXT_RFENCE = 3;
/** KVM SBI extension index: SRST. */
export const KVM_RISCV_SBI_EXT_SRST = 4;
/** KVM SBI extension index: HSM. */
export const KVM_RISCV_SBI_EXT_HSM = 5;
/** KVM SBI extension index: PMU. */
export const KVM_RISCV_SBI_EXT_PMU = 6;
/** KVM SBI extension index: the experimental range. */
export const KVM_RISCV_SBI_EXT_EXPERIMENTAL = 7;
/** KVM SBI extension index: the vendor range. */
export const KVM_RISCV_SBI_EXT_VENDOR = 8;
/** KVM SBI extension index: DBCN. */
export const KVM_RISCV_SBI_EXT_DBCN = 9;
/** KVM SBI extension index: STA. */
export const KVM_RISCV_SBI_EXT_STA = 10;
/** KVM SBI extension index: SUSP. */
export const KVM_RISCV_SBI_EXT_SUSP = 11;
/** Number of KVM SBI extension indexes. */
export const KVM_RISCV_SBI_EXT_MAX = 12;
