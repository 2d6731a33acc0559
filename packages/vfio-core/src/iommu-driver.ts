/**
 * The contract between vfio-core and an IOMMU backend such as iommu-type1,
 * after `struct vfio_iommu_driver_ops` (include/linux/vfio.h). vfio-core owns
 * containers, groups and device files; the backend owns DMA mappings, pinning
 * and dirty tracking. A container holds one opened backend instance (the
 * `iommu_data` of the kernel) from VFIO_SET_IOMMU until its last group leaves.
 *
 * ioctl arguments are plain objects mirroring the UAPI structs field for
 * field (`argsz`, `flags`, ...): u64 fields are bigint, u32 fields number.
 * Output fields are written back into the same object, as copy_to_user does.
 * Errors are thrown as KernelError with the kernel's errno.
 */

/** What a backend sees of an IOMMU group (struct iommu_group). */
export interface IommuGroupRef {
  /** The IOMMU group number. */
  readonly id: number;
  /**
   * True for a group of mediated devices with no hardware IOMMU domain
   * behind it (type1's "external domain"): pinning then charges locked
   * memory itself, and dirty scope depends on the vendor driver's pins.
   */
  readonly mdev: boolean;
}

/** Notifier events (VFIO_IOMMU_NOTIFY_*). */
export const VFIO_IOMMU_NOTIFY_DMA_UNMAP = 1 << 0;

/** Payload of VFIO_IOMMU_NOTIFY_DMA_UNMAP (struct vfio_iommu_type1_dma_unmap subset). */
export interface DmaUnmapEvent {
  /** IOVA of the unmapped range. */
  iova: bigint;
  /** Size of the unmapped range in bytes. */
  size: bigint;
}

/** A listener for IOMMU backend events (VFIO_IOMMU_NOTIFY_DMA_UNMAP with the unmapped range). */
export type IommuNotifier = (event: number, data: DmaUnmapEvent) => void;

/** The backend instance of one container (the kernel's `iommu_data`). */
export interface VfioIommu {
  /** The container is going away: drop all mappings and pins. */
  release(): void;
  /** Container ioctls not handled by vfio-core itself; unknown cmd -> ENOTTY. */
  ioctl(cmd: number, arg: unknown): number;
  /** Attach a group to this container's IOMMU. */
  attachGroup(group: IommuGroupRef): void;
  /** Detach a group. */
  detachGroup(group: IommuGroupRef): void;
  /** vfio_pin_pages: pin user_iova pfns; returns host pfns. Errors as upstream. */
  pinPages(group: IommuGroupRef, userIovaPfns: readonly number[], prot: number): number[];
  /** vfio_unpin_pages: drop pins on user_iova pfns; returns how many were unpinned. */
  unpinPages(userIovaPfns: readonly number[]): number;
  /** vfio_dma_rw: copy between `data` and the user memory behind `iova`; a write marks pages dirty. */
  dmaRw(iova: bigint, data: Uint8Array, write: boolean): void;
  /** Register a notifier for the `events` bits (vfio_register_notifier). */
  registerNotifier(events: number, nb: IommuNotifier): void;
  /** Unregister a notifier. */
  unregisterNotifier(nb: IommuNotifier): void;
}

/** A registered backend (struct vfio_iommu_driver). */
export interface VfioIommuDriver {
  /** Backend name, e.g. 'vfio-iommu-type1'. */
  readonly name: string;
  /** VFIO_CHECK_EXTENSION as answered by this backend (e.g. VFIO_TYPE1_IOMMU -> 1). */
  checkExtension(ext: number): number;
  /** VFIO_SET_IOMMU with `arg` = the extension asked for; EINVAL when not served. */
  open(arg: number): VfioIommu;
}
