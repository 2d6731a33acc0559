// The RISC-V AIA device's UAPI (arch/riscv/include/uapi/asm/kvm.h) and the
// generic interrupt-routing UAPI it uses (include/uapi/linux/kvm.h).

/** APLIC MMIO region: 4 KiB aligned, 16 KiB (KVM_DEV_RISCV_APLIC_ALIGN / _SIZE). */
export const KVM_DEV_RISCV_APLIC_ALIGN = 0x1000;
/** Size of the APLIC domain's MMIO region. */
export const KVM_DEV_RISCV_APLIC_SIZE = 0x4000;
/** Most harts an APLIC domain addresses. */
export const KVM_DEV_RISCV_APLIC_MAX_HARTS = 0x4000;
/** IMSIC interrupt-file pages: 4 KiB aligned, 4 KiB. */
export const KVM_DEV_RISCV_IMSIC_ALIGN = 0x1000;
/** Size of one IMSIC interrupt-file page. */
export const KVM_DEV_RISCV_IMSIC_SIZE = 0x1000;

/** Attribute group: configuration (u32 values). */
export const KVM_DEV_RISCV_AIA_GRP_CONFIG = 0;
/** CONFIG: mode (EMUL, HWACCEL, AUTO). */
export const KVM_DEV_RISCV_AIA_CONFIG_MODE = 0;
/** CONFIG: IMSIC identities per file (N). */
export const KVM_DEV_RISCV_AIA_CONFIG_IDS = 1;
/** CONFIG: APLIC wired sources. */
export const KVM_DEV_RISCV_AIA_CONFIG_SRCS = 2;
/** CONFIG: group-index bits of an IMSIC address. */
export const KVM_DEV_RISCV_AIA_CONFIG_GROUP_BITS = 3;
/** CONFIG: where the group index sits in an IMSIC address. */
export const KVM_DEV_RISCV_AIA_CONFIG_GROUP_SHIFT = 4;
/** CONFIG: hart-index bits of an IMSIC address. */
export const KVM_DEV_RISCV_AIA_CONFIG_HART_BITS = 5;
/** CONFIG: guest-index bits of an IMSIC address. */
export const KVM_DEV_RISCV_AIA_CONFIG_GUEST_BITS = 6;

/** Mode: trap-and-emulate IMSIC (a software file per vCPU). */
export const KVM_DEV_RISCV_AIA_MODE_EMUL = 0;
/** Mode: the hart's guest interrupt files. */
export const KVM_DEV_RISCV_AIA_MODE_HWACCEL = 1;
/** Mode: hardware files when available, else software. */
export const KVM_DEV_RISCV_AIA_MODE_AUTO = 2;

/** Limits of the CONFIG values. */
export const KVM_DEV_RISCV_AIA_IDS_MIN = 63;
/** IDS must stay below this. */
export const KVM_DEV_RISCV_AIA_IDS_MAX = 2048;
/** SRCS must stay below this. */
export const KVM_DEV_RISCV_AIA_SRCS_MAX = 1024;
/** GROUP_BITS must stay below this. */
export const KVM_DEV_RISCV_AIA_GROUP_BITS_MAX = 8;
/** Smallest GROUP_SHIFT. */
export const KVM_DEV_RISCV_AIA_GROUP_SHIFT_MIN = 24;
/** GROUP_SHIFT must stay below this. */
export const KVM_DEV_RISCV_AIA_GROUP_SHIFT_MAX = 56;
/** HART_BITS must stay below this. */
export const KVM_DEV_RISCV_AIA_HART_BITS_MAX = 16;
/** GUEST_BITS must stay below this. */
export const KVM_DEV_RISCV_AIA_GUEST_BITS_MAX = 8;

/** Attribute group: addresses (u64 values). */
export const KVM_DEV_RISCV_AIA_GRP_ADDR = 1;
/** ADDR: the APLIC. */
export const KVM_DEV_RISCV_AIA_ADDR_APLIC = 0;
/** ADDR: the IMSIC page of vCPU `vcpu` (by index). */
export const KVM_DEV_RISCV_AIA_ADDR_IMSIC = (vcpu: number) => 1 + vcpu;
/** One past the last ADDR attribute. */
export const KVM_DEV_RISCV_AIA_ADDR_MAX = 1 + KVM_DEV_RISCV_APLIC_MAX_HARTS;

/** Attribute group: control. */
export const KVM_DEV_RISCV_AIA_GRP_CTRL = 2;
/** CTRL: initialise the irqchip (no data). */
export const KVM_DEV_RISCV_AIA_CTRL_INIT = 0;

/** Attribute group: APLIC registers by offset (u32 values). */
export const KVM_DEV_RISCV_AIA_GRP_APLIC = 3;
/** Attribute group: IMSIC registers (unsigned long values). */
export const KVM_DEV_RISCV_AIA_GRP_IMSIC = 4;
/** Bits of the IMSIC attribute that are the iselect number. */
export const KVM_DEV_RISCV_AIA_IMSIC_ISEL_BITS = 12;
/** Mask of the iselect number. */
export const KVM_DEV_RISCV_AIA_IMSIC_ISEL_MASK = (1 << KVM_DEV_RISCV_AIA_IMSIC_ISEL_BITS) - 1;
/** An IMSIC attribute: vCPU id and iselect. */
export const KVM_DEV_RISCV_AIA_IMSIC_MKATTR = (vcpu: number, isel: number): bigint =>
  (BigInt(vcpu) << BigInt(KVM_DEV_RISCV_AIA_IMSIC_ISEL_BITS)) |
  BigInt(isel & KVM_DEV_RISCV_AIA_IMSIC_ISEL_MASK);

/** The AIA's wired-interrupt pins (KVM_IRQCHIP_NUM_PINS on RISC-V). */
export const KVM_IRQCHIP_NUM_PINS = 1024;
/** Most routing entries (KVM_MAX_IRQ_ROUTES). */
export const KVM_MAX_IRQ_ROUTES = 4096;
/** Routing entry type: an irqchip pin. */
export const KVM_IRQ_ROUTING_IRQCHIP = 1;
/** Routing entry type: an MSI. */
export const KVM_IRQ_ROUTING_MSI = 2;
/** kvm_msi / routing flag: devid is valid. */
export const KVM_MSI_VALID_DEVID = 1 << 0;

const iow = (nr: number, size: number) => ((1 << 30) | (size << 16) | (0xae << 8) | nr) >>> 0;
/** VM ioctl: replace the GSI routing table (struct kvm_irq_routing). */
export const KVM_SET_GSI_ROUTING = iow(0x6a, 8);
/** VM ioctl: inject one MSI (struct kvm_msi). */
export const KVM_SIGNAL_MSI = iow(0xa5, 32);

/** struct kvm_msi. */
export interface KvmMsi {
  /** Low 32 bits of the MSI address. */
  address_lo: number;
  /** High 32 bits of the MSI address. */
  address_hi: number;
  /** The MSI data (the IMSIC identity). */
  data: number;
  /** KVM_MSI_VALID_DEVID or 0. */
  flags: number;
  /** Requester id, when flagged. */
  devid?: number;
}

/** struct kvm_irq_routing_entry. */
export interface KvmIrqRoutingEntry {
  /** The GSI this entry routes. */
  gsi: number;
  /** KVM_IRQ_ROUTING_IRQCHIP or KVM_IRQ_ROUTING_MSI. */
  type: number;
  /** KVM_MSI_VALID_DEVID for MSI entries, else 0. */
  flags: number;
  /** IRQCHIP entries: the chip (0) and pin. */
  irqchip?: { irqchip: number; pin: number };
  /** MSI entries: address and data. */
  msi?: { address_lo: number; address_hi: number; data: number; devid?: number };
}

/** struct kvm_irq_routing. */
export interface KvmIrqRouting {
  /** Number of entries. */
  nr: number;
  /** Must be 0. */
  flags: number;
  /** The entries. */
  entries: KvmIrqRoutingEntry[];
}
