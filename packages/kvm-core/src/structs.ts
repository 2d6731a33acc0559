// The UAPI structs of the ioctls, field for field (u64 as bigint, u32 as
// number). Where the kernel struct carries a user pointer, the user memory it
// points at is modelled by a typed array or value field next to it.

/** struct kvm_userspace_memory_region (KVM_SET_USER_MEMORY_REGION). */
export interface KvmUserspaceMemoryRegion {
  /** as_id << 16 | slot id. */
  slot: number;
  flags: number;
  guest_phys_addr: bigint;
  /** Bytes; 0 deletes the slot. */
  memory_size: bigint;
  /** Start of the host virtual range backing the slot. */
  userspace_addr: bigint;
}

/** struct kvm_dirty_log (KVM_GET_DIRTY_LOG). The bitmap is written here; allocated when absent. */
export interface KvmDirtyLog {
  slot: number;
  dirty_bitmap?: Uint8Array;
}

/** struct kvm_clear_dirty_log (KVM_CLEAR_DIRTY_LOG): bit i clears page first_page + i. */
export interface KvmClearDirtyLog {
  slot: number;
  num_pages: number;
  first_page: bigint;
  dirty_bitmap: Uint8Array;
}

/** struct kvm_enable_cap (KVM_ENABLE_CAP). */
export interface KvmEnableCap {
  cap: number;
  flags: number;
  args: bigint[];
}

/** struct kvm_irqfd (KVM_IRQFD). */
export interface KvmIrqfd {
  fd: number;
  gsi: number;
  flags: number;
  resamplefd?: number;
}

/** struct kvm_ioeventfd (KVM_IOEVENTFD). */
export interface KvmIoeventfd {
  datamatch: bigint;
  addr: bigint;
  /** 0, 1, 2, 4 or 8 bytes; 0 matches any length (no DATAMATCH then). */
  len: number;
  fd: number;
  flags: number;
}

/** struct kvm_create_device (KVM_CREATE_DEVICE); `fd` is written back. */
export interface KvmCreateDevice {
  type: number;
  fd: number;
  flags: number;
}

/**
 * struct kvm_device_attr. `addr` is the user pointer of the attribute's
 * data; `data` models the user memory at that address (what the device
 * copies from on SET and to on GET).
 */
export interface KvmDeviceAttr {
  flags: number;
  group: number;
  attr: bigint;
  addr: bigint;
  data?: Uint8Array;
}

/**
 * struct kvm_one_reg. `addr` is kept for the UAPI shape; the register's value
 * travels in `value`: a bigint for registers of up to 8 bytes, bytes
 * (little-endian, kvmRegSize(id) long) for wider ones. GET writes it back.
 */
export interface KvmOneReg {
  id: bigint;
  addr: bigint;
  value?: bigint | Uint8Array;
}

/** struct kvm_reg_list (KVM_GET_REG_LIST): `n` in = room, out = count; `reg` filled when it fits. */
export interface KvmRegList {
  n: number;
  reg: bigint[];
}

/** struct kvm_irq_level (KVM_IRQ_LINE). */
export interface KvmIrqLevel {
  irq: number;
  level: number;
}

/** struct kvm_interrupt (KVM_INTERRUPT). */
export interface KvmInterrupt {
  irq: number;
}

/** struct kvm_mp_state (KVM_GET/SET_MP_STATE). */
export interface KvmMpState {
  mp_state: number;
}
