// KVM UAPI constants (include/uapi/linux/kvm.h and the arch headers), the
// names and values user space compiles against. Shared by kvm-core, the arch
// packages (kvm-riscv, kvm-arm-psci) and kvm-vfio.

/** struct kvm_run exit_reason values. */
export const KVM_EXIT_UNKNOWN = 0;
/** Exit: the guest raised an exception user space must handle (x86). */
export const KVM_EXIT_EXCEPTION = 1;
/** Exit: port I/O the kernel did not handle (kvm_run.io). */
export const KVM_EXIT_IO = 2;
/** Exit: a hypercall forwarded to user space. */
export const KVM_EXIT_HYPERCALL = 3;
/** Exit: a debug event (breakpoint or single step). */
export const KVM_EXIT_DEBUG = 4;
/** Exit: the guest executed HLT. */
export const KVM_EXIT_HLT = 5;
/** Exit: an MMIO access the kernel did not handle (kvm_run.mmio). */
export const KVM_EXIT_MMIO = 6;
/** Exit: the guest shut down (x86 triple fault). */
export const KVM_EXIT_SHUTDOWN = 8;
/** Exit: hardware failed to enter the guest. */
export const KVM_EXIT_FAIL_ENTRY = 9;
/** Exit: a signal is pending for the vCPU thread (KVM_RUN returns -EINTR). */
export const KVM_EXIT_INTR = 10;
/** Exit: KVM hit an internal error (kvm_run.internal). */
export const KVM_EXIT_INTERNAL_ERROR = 17;
/** Exit: the guest requested a system event (kvm_run.system_event). */
export const KVM_EXIT_SYSTEM_EVENT = 24;
/** Exit: an SBI call forwarded to user space (kvm_run.riscv_sbi). */
export const KVM_EXIT_RISCV_SBI = 35;
/** Exit: a CSR access forwarded to user space (kvm_run.riscv_csr). */
export const KVM_EXIT_RISCV_CSR = 36;

/** kvm_run.system_event.type values. */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
/** System event: the guest asked for a reset. */
export const KVM_SYSTEM_EVENT_RESET = 2;
/** System event: the guest reported a crash. */
export const KVM_SYSTEM_EVENT_CRASH = 3;
/** System event: a vCPU woke up (arm64 PSCI SUSPEND wakeup). */
export const KVM_SYSTEM_EVENT_WAKEUP = 4;
/** System event: the guest asked for system suspend. */
export const KVM_SYSTEM_EVENT_SUSPEND = 5;

/** kvm_run.internal.suberror values. */
export const KVM_INTERNAL_ERROR_EMULATION = 1;
/** Internal error: an exception arrived while delivering another. */
export const KVM_INTERNAL_ERROR_SIMUL_EX = 2;
/** Internal error: an exception could not be delivered. */
export const KVM_INTERNAL_ERROR_DELIVERY_EV = 3;
/** Internal error: KVM got an exit reason it does not handle. */
export const KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON = 4;

/** struct kvm_userspace_memory_region flags. */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;
/** The memslot is read-only for the guest; writes exit as MMIO. */
export const KVM_MEM_READONLY = 1 << 1;

/** KVM_USER_MEM_SLOTS as most architectures configure it (KVM_MEM_SLOTS_NUM - internal slots). */
export const KVM_USER_MEM_SLOTS = 32764;

/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 flags. */
export const KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE = 1 << 0;
/** With manual protect: new dirty bitmaps start all ones. */
export const KVM_DIRTY_LOG_INITIALLY_SET = 1 << 1;

/** struct kvm_irqfd flags. */
export const KVM_IRQFD_FLAG_DEASSIGN = 1 << 0;
/** Level-triggered: the GSI is deasserted at guest EOI and resamplefd is signalled. */
export const KVM_IRQFD_FLAG_RESAMPLE = 1 << 1;

/** struct kvm_ioeventfd flags. */
export const KVM_IOEVENTFD_FLAG_DATAMATCH = 1 << 0;
/** The ioeventfd is on the PIO bus, not MMIO. */
export const KVM_IOEVENTFD_FLAG_PIO = 1 << 1;
/** Remove a previously assigned ioeventfd. */
export const KVM_IOEVENTFD_FLAG_DEASSIGN = 1 << 2;

/** KVM_CREATE_DEVICE types (enum kvm_device_type). */
export const KVM_DEV_TYPE_FSL_MPIC_20 = 1;
/** Device type: Freescale MPIC 4.2. */
export const KVM_DEV_TYPE_FSL_MPIC_42 = 2;
/** Device type: POWER XICS interrupt controller. */
export const KVM_DEV_TYPE_XICS = 3;
/** Device type: the KVM-VFIO pseudo device. */
export const KVM_DEV_TYPE_VFIO = 4;
/** Device type: Arm GICv2. */
export const KVM_DEV_TYPE_ARM_VGIC_V2 = 5;
/** Device type: s390 floating interrupt controller. */
export const KVM_DEV_TYPE_FLIC = 6;
/** Device type: Arm GICv3. */
export const KVM_DEV_TYPE_ARM_VGIC_V3 = 7;
/** Device type: Arm GICv3 ITS. */
export const KVM_DEV_TYPE_ARM_VGIC_ITS = 8;
/** Device type: POWER XIVE interrupt controller. */
export const KVM_DEV_TYPE_XIVE = 9;
/** Device type: Arm paravirtualized stolen time. */
export const KVM_DEV_TYPE_ARM_PV_TIME = 10;
/** Device type: RISC-V AIA (APLIC and IMSIC). */
export const KVM_DEV_TYPE_RISCV_AIA = 11;
/** KVM_CREATE_DEVICE_TEST: only check that the type exists. */
export const KVM_CREATE_DEVICE_TEST = 1;

/** ONE_REG id encoding (u64 ids, bigint here). */
export const KVM_REG_ARCH_MASK = 0xff00_0000_0000_0000n;
/** ONE_REG arch field: generic registers. */
export const KVM_REG_GENERIC = 0x0000_0000_0000_0000n;
/** ONE_REG arch field: arm64. */
export const KVM_REG_ARM64 = 0x6000_0000_0000_0000n;
/** ONE_REG arch field: RISC-V. */
export const KVM_REG_RISCV = 0x8000_0000_0000_0000n;
/** Shift of the size field in a ONE_REG id (log2 of the byte count). */
export const KVM_REG_SIZE_SHIFT = 52n;
/** Mask of the size field in a ONE_REG id. */
export const KVM_REG_SIZE_MASK = 0x00f0_0000_0000_0000n;
/** ONE_REG size: 1 byte. */
export const KVM_REG_SIZE_U8 = 0x0000_0000_0000_0000n;
/** ONE_REG size: 2 bytes. */
export const KVM_REG_SIZE_U16 = 0x0010_0000_0000_0000n;
/** ONE_REG size: 4 bytes. */
export const KVM_REG_SIZE_U32 = 0x0020_0000_0000_0000n;
/** ONE_REG size: 8 bytes. */
export const KVM_REG_SIZE_U64 = 0x0030_0000_0000_0000n;
/** ONE_REG size: 16 bytes. */
export const KVM_REG_SIZE_U128 = 0x0040_0000_0000_0000n;

/** Bytes of a ONE_REG value, from its id. */
export function kvmRegSize(id: bigint): number {
  return 1 << Number((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

/** KVM_GET_API_VERSION's answer, fixed since 2.6.22. */
export const KVM_API_VERSION = 12;

/** Extension numbers for KVM_CHECK_EXTENSION / KVM_ENABLE_CAP (the ones this model answers). */
export const KVM_CAP_IRQCHIP = 0;
/** KVM_SET_USER_MEMORY_REGION is available. */
export const KVM_CAP_USER_MEMORY = 3;
/** Recommended maximum number of vCPUs. */
export const KVM_CAP_NR_VCPUS = 9;
/** Number of user memslots. */
export const KVM_CAP_NR_MEMSLOTS = 10;
/** KVM_GET/SET_MP_STATE are available. */
export const KVM_CAP_MP_STATE = 14;
/** Guest mappings follow host MMU notifier invalidations. */
export const KVM_CAP_SYNC_MMU = 16;
/** Deleting a memory region works. */
export const KVM_CAP_DESTROY_MEMORY_REGION_WORKS = 21;
/** Adjacent memory regions may be joined. */
export const KVM_CAP_JOIN_MEMORY_REGIONS_WORKS = 30;
/** KVM_IRQFD is available. */
export const KVM_CAP_IRQFD = 32;
/** KVM_IOEVENTFD is available. */
export const KVM_CAP_IOEVENTFD = 36;
/** kvm_run.internal carries extra data. */
export const KVM_CAP_INTERNAL_ERROR_DATA = 40;
/** KVM_ENABLE_CAP on vCPU fds. */
export const KVM_CAP_ENABLE_CAP = 54;
/** Maximum number of vCPUs. */
export const KVM_CAP_MAX_VCPUS = 66;
/** KVM_GET/SET_ONE_REG are available. */
export const KVM_CAP_ONE_REG = 70;
/** KVM_MEM_READONLY memslots are supported. */
export const KVM_CAP_READONLY_MEM = 81;
/** KVM_IRQFD_FLAG_RESAMPLE is supported. */
export const KVM_CAP_IRQFD_RESAMPLE = 82;
/** KVM_CREATE_DEVICE and device attributes are available. */
export const KVM_CAP_DEVICE_CTRL = 89;
/** KVM_ENABLE_CAP on VM fds. */
export const KVM_CAP_ENABLE_CAP_VM = 98;
/** ioeventfds with length 0 are accepted. */
export const KVM_CAP_IOEVENTFD_NO_LENGTH = 100;
/** KVM_CHECK_EXTENSION on VM fds. */
export const KVM_CAP_CHECK_EXTENSION_VM = 105;
/** Number of memslot address spaces. */
export const KVM_CAP_MULTI_ADDRESS_SPACE = 118;
/** A length-0 ioeventfd matches guest writes of any length. */
export const KVM_CAP_IOEVENTFD_ANY_LENGTH = 122;
/** Largest vCPU id plus one. */
export const KVM_CAP_MAX_VCPU_ID = 128;
/** kvm_run.immediate_exit is honoured. */
export const KVM_CAP_IMMEDIATE_EXIT = 136;
/** Manual dirty-log protection (KVM_CLEAR_DIRTY_LOG). */
export const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168;
/** Guest physical address width (RISC-V). */
export const KVM_CAP_VM_GPA_BITS = 207;
/** kvm_run.system_event carries data words. */
export const KVM_CAP_SYSTEM_EVENT_DATA = 215;

/** The options KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 accepts (and KVM_CHECK_EXTENSION reports). */
export const KVM_DIRTY_LOG_MANUAL_CAPS = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;

/** KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY (s390's notify bus) and the mask of flags the ioctl knows. */
export const KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY = 1 << 3;
/** All flags KVM_IOEVENTFD accepts. */
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
/** Host page size in bytes. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** enum kvm_mr_change: what a KVM_SET_USER_MEMORY_REGION call does to a slot. */
export const KVM_MR_CREATE = 0;
/** Memslot change: delete the slot. */
export const KVM_MR_DELETE = 1;
/** Memslot change: move the slot to a new guest address. */
export const KVM_MR_MOVE = 2;
/** Memslot change: only the flags change. */
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
/** /dev/kvm ioctl: create a VM, returns its fd. */
export const KVM_CREATE_VM = io(0x01);
/** /dev/kvm (and VM) ioctl: whether an extension is supported. */
export const KVM_CHECK_EXTENSION = io(0x03);
/** /dev/kvm ioctl: size of the vCPU fd's kvm_run mapping. */
export const KVM_GET_VCPU_MMAP_SIZE = io(0x04);
/** VM ioctls. */
export const KVM_CREATE_VCPU = io(0x41);
/** VM ioctl: read and reset a memslot's dirty bitmap. */
export const KVM_GET_DIRTY_LOG = iow(0x42, 16);
/** VM ioctl: create, move, change or delete a memslot. */
export const KVM_SET_USER_MEMORY_REGION = iow(0x46, 32);
/** VM ioctl: set an interrupt line level. */
export const KVM_IRQ_LINE = iow(0x61, 8);
/** VM ioctl: bind an eventfd to a GSI (struct kvm_irqfd). */
export const KVM_IRQFD = iow(0x76, 32);
/** VM ioctl: bind an eventfd to guest writes of an address (struct kvm_ioeventfd). */
export const KVM_IOEVENTFD = iow(0x79, 64);
/** VM and vCPU ioctl: enable a capability (struct kvm_enable_cap). */
export const KVM_ENABLE_CAP = iow(0xa3, 104);
/** VM ioctl: clear dirty bits and re-protect pages (manual protect). */
export const KVM_CLEAR_DIRTY_LOG = iowr(0xc0, 24);
/** VM ioctl: create an in-kernel device (struct kvm_create_device). */
export const KVM_CREATE_DEVICE = iowr(0xe0, 12);
/** vCPU ioctls. */
export const KVM_RUN = io(0x80);
/** vCPU ioctl: raise or lower the vCPU's external interrupt. */
export const KVM_INTERRUPT = iow(0x86, 4);
/** vCPU ioctl: read one register (struct kvm_one_reg). */
export const KVM_GET_ONE_REG = iow(0xab, 16);
/** vCPU ioctl: write one register (struct kvm_one_reg). */
export const KVM_SET_ONE_REG = iow(0xac, 16);
/** vCPU ioctl: list the ONE_REG ids (struct kvm_reg_list). */
export const KVM_GET_REG_LIST = iowr(0xb0, 8);
/** Device ioctls (also valid on VM and vCPU fds for their own attributes). */
export const KVM_SET_DEVICE_ATTR = iow(0xe1, 24);
/** Read a device attribute (struct kvm_device_attr). */
export const KVM_GET_DEVICE_ATTR = iow(0xe2, 24);
/** Ask whether a device attribute exists. */
export const KVM_HAS_DEVICE_ATTR = iow(0xe3, 24);

/** struct kvm_mp_state values (KVM_GET/SET_MP_STATE). */
export const KVM_MP_STATE_RUNNABLE = 0;
/** MP state: not yet initialized (x86). */
export const KVM_MP_STATE_UNINITIALIZED = 1;
/** MP state: INIT received (x86). */
export const KVM_MP_STATE_INIT_RECEIVED = 2;
/** MP state: halted, waiting for an interrupt. */
export const KVM_MP_STATE_HALTED = 3;
/** MP state: SIPI received (x86). */
export const KVM_MP_STATE_SIPI_RECEIVED = 4;
/** MP state: stopped (s390, arm64, RISC-V). */
export const KVM_MP_STATE_STOPPED = 5;
/** MP state: check-stop (s390). */
export const KVM_MP_STATE_CHECK_STOP = 6;
/** MP state: operating (s390). */
export const KVM_MP_STATE_OPERATING = 7;
/** MP state: load (s390). */
export const KVM_MP_STATE_LOAD = 8;
/** MP state: AP reset hold (x86 SEV-ES). */
export const KVM_MP_STATE_AP_RESET_HOLD = 9;
/** MP state: suspended (arm64 PSCI SYSTEM_SUSPEND). */
export const KVM_MP_STATE_SUSPENDED = 10;
/** vCPU ioctl: read struct kvm_mp_state. */
export const KVM_GET_MP_STATE = ioc(IOC_READ, 0x98, 4);
/** vCPU ioctl: write struct kvm_mp_state. */
export const KVM_SET_MP_STATE = iow(0x99, 4);

/** vCPU requests (kvm_make_request): generic ones; an arch numbers its own from KVM_REQUEST_ARCH_BASE. */
export const KVM_REQ_TLB_FLUSH = 0;
/** Request: the VM is dead; the vCPU must leave KVM_RUN. */
export const KVM_REQ_VM_DEAD = 1;
/** Request: wake the vCPU out of a halt. */
export const KVM_REQ_UNBLOCK = 2;
/** First request number an architecture may use. */
export const KVM_REQUEST_ARCH_BASE = 8;
