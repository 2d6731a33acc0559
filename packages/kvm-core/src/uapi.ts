// KVM UAPI constants (include/uapi/linux/kvm.h and the arch headers), the
// names and values user space compiles against. Shared by kvm-core, the arch
// packages (kvm-riscv, kvm-arm-psci) and kvm-vfio.

/** struct kvm_run exit_reason values. */
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_EXCEPTION = 1;
export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HYPERCALL = 3;
export const KVM_EXIT_DEBUG = 4;
export const KVM_EXIT_HLT = 5;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_FAIL_ENTRY = 9;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_SYSTEM_EVENT = 24;
export const KVM_EXIT_RISCV_SBI = 35;
export const KVM_EXIT_RISCV_CSR = 36;

/** kvm_run.system_event.type values. */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
export const KVM_SYSTEM_EVENT_RESET = 2;
export const KVM_SYSTEM_EVENT_CRASH = 3;
export const KVM_SYSTEM_EVENT_WAKEUP = 4;
export const KVM_SYSTEM_EVENT_SUSPEND = 5;

/** kvm_run.internal.suberror values. */
export const KVM_INTERNAL_ERROR_EMULATION = 1;
export const KVM_INTERNAL_ERROR_SIMUL_EX = 2;
export const KVM_INTERNAL_ERROR_DELIVERY_EV = 3;
export const KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON = 4;

/** struct kvm_userspace_memory_region flags. */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
export const KVM_MEM_READONLY = 1 << 1;

/** KVM_USER_MEM_SLOTS as most architectures configure it (KVM_MEM_SLOTS_NUM - internal slots). */
export const KVM_USER_MEM_SLOTS = 32764;

/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags. */
export const KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE = 1 << 0;
export const KVM_DIRTY_LOG_INITIALLY_SET = 1 << 1;

/** struct kvm_irqfd flags. */
export const KVM_IRQFD_FLAG_DEASSIGN = 1 << 0;
export const KVM_IRQFD_FLAG_RESAMPLE = 1 << 1;

/** struct kvm_ioeventfd flags. */
export const KVM_IOEVENTFD_FLAG_DATAMATCH = 1 << 0;
export const KVM_IOEVENTFD_FLAG_PIO = 1 << 1;
export const KVM_IOEVENTFD_FLAG_DEASSIGN = 1 << 2;

/** KVM_CREATE_DEVICE types (enum kvm_device_type). */
export const KVM_DEV_TYPE_FSL_MPIC_20 = 1;
export const KVM_DEV_TYPE_FSL_MPIC_42 = 2;
export const KVM_DEV_TYPE_XICS = 3;
export const KVM_DEV_TYPE_VFIO = 4;
export const KVM_DEV_TYPE_ARM_VGIC_V2 = 5;
export const KVM_DEV_TYPE_FLIC = 6;
export const KVM_DEV_TYPE_ARM_VGIC_V3 = 7;
export const KVM_DEV_TYPE_ARM_VGIC_ITS = 8;
export const KVM_DEV_TYPE_XIVE = 9;
export const KVM_DEV_TYPE_ARM_PV_TIME = 10;
export const KVM_DEV_TYPE_RISCV_AIA = 11;
/** KVM_CREATE_DEVICE_TEST: only check that the type exists. */
export const KVM_CREATE_DEVICE_TEST = 1;

/** ONE_REG id encoding (u64 ids, bigint here). */
export const KVM_REG_ARCH_MASK = 0xff00_0000_0000_0000n;
export const KVM_REG_GENERIC = 0x0000_0000_0000_0000n;
export const KVM_REG_ARM64 = 0x6000_0000_0000_0000n;
export const KVM_REG_RISCV = 0x8000_0000_0000_0000n;
export const KVM_REG_SIZE_SHIFT = 52n;
export const KVM_REG_SIZE_MASK = 0x00f0_0000_0000_0000n;
export const KVM_REG_SIZE_U8 = 0x0000_0000_0000_0000n;
export const KVM_REG_SIZE_U16 = 0x0010_0000_0000_0000n;
export const KVM_REG_SIZE_U32 = 0x0020_0000_0000_0000n;
export const KVM_REG_SIZE_U64 = 0x0030_0000_0000_0000n;
export const KVM_REG_SIZE_U128 = 0x0040_0000_0000_0000n;

/** Bytes of a ONE_REG value, from its id. */
export function kvmRegSize(id: bigint): number {
  return 1 << Number((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

/** KVM_GET_API_VERSION's answer, fixed since 2.6.22. */
export const KVM_API_VERSION = 12;

/** Extension numbers for KVM_CHECK_EXTENSION / KVM_ENABLE_CAP (the ones this model answers). */
export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_USER_MEMORY = 3;
export const KVM_CAP_NR_VCPUS = 9;
export const KVM_CAP_NR_MEMSLOTS = 10;
export const KVM_CAP_MP_STATE = 14;
export const KVM_CAP_SYNC_MMU = 16;
export const KVM_CAP_DESTROY_MEMORY_REGION_WORKS = 21;
export const KVM_CAP_JOIN_MEMORY_REGIONS_WORKS = 30;
export const KVM_CAP_IRQFD = 32;
export const KVM_CAP_IOEVENTFD = 36;
export const KVM_CAP_INTERNAL_ERROR_DATA = 40;
export const KVM_CAP_ENABLE_CAP = 54;
export const KVM_CAP_MAX_VCPUS = 66;
export const KVM_CAP_ONE_REG = 70;
export const KVM_CAP_READONLY_MEM = 81;
export const KVM_CAP_IRQFD_RESAMPLE = 82;
export const KVM_CAP_DEVICE_CTRL = 89;
export const KVM_CAP_ENABLE_CAP_VM = 98;
export const KVM_CAP_IOEVENTFD_NO_LENGTH = 100;
export const KVM_CAP_CHECK_EXTENSION_VM = 105;
export const KVM_CAP_MULTI_ADDRESS_SPACE = 118;
export const KVM_CAP_IOEVENTFD_ANY_LENGTH = 122;
export const KVM_CAP_MAX_VCPU_ID = 128;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
export const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168;
export const KVM_CAP_VM_GPA_BITS = 207;
export const KVM_CAP_SYSTEM_EVENT_DATA = 215;

/** The options KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 accepts (and KVM_CHECK_EXTENSION reports). */
export const KVM_DIRTY_LOG_MANUAL_CAPS = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;

/** KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY (s390's notify bus) and the mask of flags the ioctl knows. */
export const KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY = 1 << 3;
export const KVM_IOEVENTFD_VALID_FLAG_MASK = (1 << 4) - 1;

/** One past the last enum kvm_device_type value (the size of kvm_device_ops_table). */
export const KVM_DEV_TYPE_MAX = 12;

/** Address spaces (as_id = slot >> 16); 1 except on x86 with SMM. */
export const KVM_ADDRESS_SPACE_NUM = 1;
/** Largest npages of one memslot (KVM_MEM_MAX_NR_PAGES, 2^31 - 1). */
export const KVM_MEM_MAX_NR_PAGES = 2 ** 31 - 1;
/** KVM_MAX_VCPUS as RISC-V configures it (and KVM_MAX_VCPU_IDS, which defaults to it). */
export const KVM_MAX_VCPUS = 1024;
/** In-kernel devices per I/O bus, ioeventfds not counted (NR_IOBUS_DEVS). */
export const NR_IOBUS_DEVS = 1000;
/** The host page size KVM's memslots are aligned to. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** enum kvm_mr_change: what a KVM_SET_USER_MEMORY_REGION call does to a slot. */
export const KVM_MR_CREATE = 0;
export const KVM_MR_DELETE = 1;
export const KVM_MR_MOVE = 2;
export const KVM_MR_FLAGS_ONLY = 3;
/** What a KVM_SET_USER_MEMORY_REGION call does to a memslot (enum kvm_mr_change). */
export type KvmMrChange =
  | typeof KVM_MR_CREATE
  | typeof KVM_MR_DELETE
  | typeof KVM_MR_MOVE
  | typeof KVM_MR_FLAGS_ONLY;

// ioctl request numbers (include/uapi/asm-generic/ioctl.h encoding).
const IOC_WRITE = 1;
const IOC_READ = 2;
const KVMIO = 0xae;
function ioc(dir: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (KVMIO << 8) | nr) >>> 0;
}
const io = (nr: number) => ioc(0, nr, 0);
const iow = (nr: number, size: number) => ioc(IOC_WRITE, nr, size);
const iowr = (nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, nr, size);

/** /dev/kvm ioctls. */
export const KVM_GET_API_VERSION = io(0x00);
export const KVM_CREATE_VM = io(0x01);
export const KVM_CHECK_EXTENSION = io(0x03);
export const KVM_GET_VCPU_MMAP_SIZE = io(0x04);
/** VM ioctls. */
export const KVM_CREATE_VCPU = io(0x41);
export const KVM_GET_DIRTY_LOG = iow(0x42, 16);
export const KVM_SET_USER_MEMORY_REGION = iow(0x46, 32);
export const KVM_IRQ_LINE = iow(0x61, 8);
export const KVM_IRQFD = iow(0x76, 32);
export const KVM_IOEVENTFD = iow(0x79, 64);
export const KVM_ENABLE_CAP = iow(0xa3, 104);
export const KVM_CLEAR_DIRTY_LOG = iowr(0xc0, 24);
export const KVM_CREATE_DEVICE = iowr(0xe0, 12);
/** vCPU ioctls. */
export const KVM_RUN = io(0x80);
export const KVM_INTERRUPT = iow(0x86, 4);
export const KVM_GET_ONE_REG = iow(0xab, 16);
export const KVM_SET_ONE_REG = iow(0xac, 16);
export const KVM_GET_REG_LIST = iowr(0xb0, 8);
/** Device ioctls (also valid on VM and vCPU fds for their own attributes). */
export const KVM_SET_DEVICE_ATTR = iow(0xe1, 24);
export const KVM_GET_DEVICE_ATTR = iow(0xe2, 24);
export const KVM_HAS_DEVICE_ATTR = iow(0xe3, 24);

/** struct kvm_mp_state values (KVM_GET/SET_MP_STATE). */
export const KVM_MP_STATE_RUNNABLE = 0;
export const KVM_MP_STATE_UNINITIALIZED = 1;
export const KVM_MP_STATE_INIT_RECEIVED = 2;
export const KVM_MP_STATE_HALTED = 3;
export const KVM_MP_STATE_SIPI_RECEIVED = 4;
export const KVM_MP_STATE_STOPPED = 5;
export const KVM_MP_STATE_CHECK_STOP = 6;
export const KVM_MP_STATE_OPERATING = 7;
export const KVM_MP_STATE_LOAD = 8;
export const KVM_MP_STATE_AP_RESET_HOLD = 9;
export const KVM_MP_STATE_SUSPENDED = 10;
export const KVM_GET_MP_STATE = ioc(IOC_READ, 0x98, 4);
export const KVM_SET_MP_STATE = iow(0x99, 4);

/** vCPU requests (kvm_make_request): generic ones; an arch numbers its own from KVM_REQUEST_ARCH_BASE. */
export const KVM_REQ_TLB_FLUSH = 0;
export const KVM_REQ_VM_DEAD = 1;
export const KVM_REQ_UNBLOCK = 2;
export const KVM_REQUEST_ARCH_BASE = 8;
