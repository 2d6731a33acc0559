// include/uapi/linux/kvm.h: the KVM-VFIO device's attribute groups.

/** Attribute group of KVM_DEV_TYPE_VFIO for VFIO files (GROUP is its older name). */
export const KVM_DEV_VFIO_FILE = 1;
/** Older name of KVM_DEV_VFIO_FILE. */
export const KVM_DEV_VFIO_GROUP = KVM_DEV_VFIO_FILE;
/** KVM_DEV_VFIO_FILE attribute: add a VFIO file (fd in the attribute data). */
export const KVM_DEV_VFIO_FILE_ADD = 1;
/** KVM_DEV_VFIO_FILE attribute: remove a VFIO file. */
export const KVM_DEV_VFIO_FILE_DEL = 2;
/** Older name of KVM_DEV_VFIO_FILE_ADD. */
export const KVM_DEV_VFIO_GROUP_ADD = KVM_DEV_VFIO_FILE_ADD;
/** Older name of KVM_DEV_VFIO_FILE_DEL. */
export const KVM_DEV_VFIO_GROUP_DEL = KVM_DEV_VFIO_FILE_DEL;
/** powerpc only (CONFIG_SPAPR_TCE_IOMMU): ENXIO here. */
export const KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE = 3;

/**
 * The seed's ("KVM: kvm-vfio: generic forwarding control", v3) device group
 * and its two attributes. The seed names them but gives no values: these
 * are ours. 2 is the first group after KVM_DEV_VFIO_FILE (upstream never
 * gave kvm-vfio a second group), and the attributes count from 1 as
 * FILE_ADD/FILE_DEL do.
 */
export const KVM_DEV_VFIO_DEVICE = 2;
/** KVM_DEV_VFIO_DEVICE attribute: forward a device interrupt to the guest. */
export const KVM_DEV_VFIO_DEVICE_FORWARD_IRQ = 1;
/** KVM_DEV_VFIO_DEVICE attribute: stop forwarding a device interrupt. */
export const KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ = 2;

/**
 * struct kvm_arch_forwarded_irq of the seed, as kvm_vfio_control_irq_forward()
 * reads it: the VFIO device fd, the device's IRQ index and sub-index, and
 * the guest interrupt (gsi). One interrupt per call. The seed shows the
 * fields but not the header: four u32 (as its kvm_fwd_irq's), in that
 * order, 16 bytes, little-endian. `fd` is taken as an int (fdget()).
 */
export interface KvmArchForwardedIrq {
  /** The VFIO device fd. */
  fd: number;
  /** The device's IRQ index. */
  index: number;
  /** Sub-index (vector) within the index. */
  subindex: number;
  /** The guest interrupt. */
  gsi: number;
}

/** Size of the kvm_arch_forwarded_irq layout in bytes. */
export const KVM_ARCH_FORWARDED_IRQ_SIZE = 16;

/** Lay out a kvm_arch_forwarded_irq as user memory (for `kvm_device_attr.data`). */
export function encodeForwardedIrq(f: KvmArchForwardedIrq): Uint8Array {
  const b = new Uint8Array(KVM_ARCH_FORWARDED_IRQ_SIZE);
  const v = new DataView(b.buffer);
  [f.fd, f.index, f.subindex, f.gsi].forEach((x, i) => {
    v.setUint32(i * 4, x >>> 0, true);
  });
  return b;
}

/** An int32 fd as user memory, for KVM_DEV_VFIO_FILE_ADD/DEL. */
export function encodeFd(fd: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, fd, true);
  return b;
}
