// include/uapi/linux/kvm.h: the KVM-VFIO device's attribute groups.

/** Attribute group of KVM_DEV_TYPE_VFIO for VFIO files (GROUP is its older name). */
export const KVM_DEV_VFIO_FILE = 1;
export const KVM_DEV_VFIO_GROUP = KVM_DEV_VFIO_FILE;
export const KVM_DEV_VFIO_FILE_ADD = 1;
export const KVM_DEV_VFIO_FILE_DEL = 2;
export const KVM_DEV_VFIO_GROUP_ADD = KVM_DEV_VFIO_FILE_ADD;
export const KVM_DEV_VFIO_GROUP_DEL = KVM_DEV_VFIO_FILE_DEL;
/** powerpc only (CONFIG_SPAPR_TCE_IOMMU): ENXIO here. */
export const KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE = 3;

/** The seed's ("KVM: kvm-vfio: generic forwarding control") device group and its attributes. */
export const KVM_DEV_VFIO_DEVICE = 2;
export const KVM_DEV_VFIO_DEVICE_FORWARD_IRQ = 1;
export const KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ = 2;

/**
 * struct kvm_arch_forwarded_irq of the seed: VFIO device fd, its IRQ index
 * and sub-index range, and the guest interrupt (gsi). Five u32 fields, 20
 * bytes, read from the attribute's user memory.
 */
export interface KvmArchForwardedIrq {
  fd: number;
  index: number;
  start: number;
  count: number;
  gsi: number;
}

export const KVM_ARCH_FORWARDED_IRQ_SIZE = 20;

/** Lay out a kvm_arch_forwarded_irq as user memory (for `kvm_device_attr.data`). */
export function encodeForwardedIrq(f: KvmArchForwardedIrq): Uint8Array {
  const b = new Uint8Array(KVM_ARCH_FORWARDED_IRQ_SIZE);
  const v = new DataView(b.buffer);
  [f.fd, f.index, f.start, f.count, f.gsi].forEach((x, i) => {
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
