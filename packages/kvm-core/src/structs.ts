// The UAPI structs of the ioctls, field for field (u64 as bigint, u32 as
// number). Where the kernel struct carries a user pointer, the user memory it
// points at is modelled by a typed array or value field next to it.

/** struct kvm_userspace_memory_region (KVM_SET_USER_MEMORY_REGION). */
export interface KvmUserspaceMemoryRegion {
  /** as_id << 16 | slot id. */
  slot: number;
  /** KVM_MEM_* flags. */
  flags: number;
  /** Guest physical address of the slot's first byte. */
  guest_phys_addr: bigint;
  /** Bytes; 0 deletes the slot. */
  memory_size: bigint;
  /** Start of the host virtual range backing the slot. */
  userspace_addr: bigint;
}

/** struct kvm_dirty_log (KVM_GET_DIRTY_LOG). The bitmap is written here; allocated when absent. */
export interface KvmDirtyLog {
  /** as_id << 16 | slot id. */
  slot: number;
  /** Out: one bit per page of the slot. */
  dirty_bitmap?: Uint8Array;
}

/** struct kvm_clear_dirty_log (KVM_CLEAR_DIRTY_LOG): bit i clears page first_page + i. */
export interface KvmClearDirtyLog {
  /** as_id << 16 | slot id. */
  slot: number;
  /** Number of pages the bitmap covers. */
  num_pages: number;
  /** First page of the slot the bitmap covers (a multiple of 64). */
  first_page: bigint;
  /** Bit i set: clear the dirty bit of page first_page + i. */
  dirty_bitmap: Uint8Array;
}

/** struct kvm_enable_cap (KVM_ENABLE_CAP). */
export interface KvmEnableCap {
  /** Capability number (KVM_CAP_*). */
  cap: number;
  /** Must be 0. */
  flags: number;
  /** Capability arguments (up to 4). */
  args: bigint[];
}

/** struct kvm_irqfd (KVM_IRQFD). */
export interface KvmIrqfd {
  /** The eventfd. */
  fd: number;
  /** Guest interrupt (GSI) the eventfd injects. */
  gsi: number;
  /** KVM_IRQFD_FLAG_* bits. */
  flags: number;
  /** With RESAMPLE: the eventfd signalled when the level is re-sampled. */
  resamplefd?: number;
}

/** struct kvm_ioeventfd (KVM_IOEVENTFD). */
export interface KvmIoeventfd {
  /** Value a write must carry with DATAMATCH. */
  datamatch: bigint;
  /** Guest physical address (or port) to watch. */
  addr: bigint;
  /** 0, 1, 2, 4 or 8 bytes; 0 matches any length (no DATAMATCH then). */
  len: number;
  /** The eventfd signalled on a matching write. */
  fd: number;
  /** KVM_IOEVENTFD_FLAG_* bits. */
  flags: number;
}

/** struct kvm_create_device (KVM_CREATE_DEVICE); `fd` is written back. */
export interface KvmCreateDevice {
  /** Device type (KVM_DEV_TYPE_*). */
  type: number;
  /** Out: the new device's fd. */
  fd: number;
  /** KVM_CREATE_DEVICE_TEST or 0. */
  flags: number;
}

/**
 * struct kvm_device_attr. `addr` is the user pointer of the attribute's
 * data; `data` models the user memory at that address (what the device
 * copies from on SET and to on GET).
 */
export interface KvmDeviceAttr {
  /** Must be 0. */
  flags: number;
  /** Attribute group, device specific. */
  group: number;
  /** Attribute within the group. */
  attr: bigint;
  /** User address of the attribute's data. */
  addr: bigint;
  /** The user memory at addr. */
  data?: Uint8Array;
}

/**
 * struct kvm_one_reg. `addr` is kept for the UAPI shape; the register's value
 * travels in `value`: a bigint for registers of up to 8 bytes, bytes
 * (little-endian, kvmRegSize(id) long) for wider ones. GET writes it back.
 */
export interface KvmOneReg {
  /** Register id (arch, size and register fields). */
  id: bigint;
  /** User address of the value (unused here). */
  addr: bigint;
  /** The register value. */
  value?: bigint | Uint8Array;
}

/** struct kvm_reg_list (KVM_GET_REG_LIST): `n` in = room, out = count; `reg` filled when it fits. */
export interface KvmRegList {
  /** In: room in reg; out: number of ids. */
  n: number;
  /** Out: the register ids. */
  reg: bigint[];
}

/** struct kvm_irq_level (KVM_IRQ_LINE). */
export interface KvmIrqLevel {
  /** Interrupt line number. */
  irq: number;
  /** 1 asserts, 0 deasserts. */
  level: number;
}

/** struct kvm_interrupt (KVM_INTERRUPT). */
export interface KvmInterrupt {
  /** Interrupt number, or a set/unset code on RISC-V. */
  irq: number;
}

/** struct kvm_mp_state (KVM_GET/SET_MP_STATE). */
export interface KvmMpState {
  /** KVM_MP_STATE_* value. */
  mp_state: number;
}
