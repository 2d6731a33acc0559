import { Device, fail } from '@tsvirt/core-bus';
import type { IommuGroupRef } from '@tsvirt/vfio-core';
import type { MdevParent } from './mdev-parent.ts';
import type { MdevType } from './mdev-type.ts';
import { MdevPhysMappings } from './phys-mapping.ts';

/** Name of the mdev bus in the driver core (`/sys/bus/mdev`). */
export const MDEV_BUS_NAME = 'mdev';

/**
 * A mediated device (struct mdev_device): a `Device` on the mdev bus named by
 * its UUID. It is reference counted like a struct device: the core holds one
 * reference from create until remove; whoever uses the device (an open VFIO
 * device file) holds another. The instance it took from its type returns to
 * the pool only when the last reference is dropped (mdev_device_release()),
 * not at remove time.
 */
export class MdevDevice extends Device {
  /** The vendor driver's per-device state (mdev_set_drvdata()). */
  drvdata: unknown = undefined;
  /** False once removal started (upstream's `mdev->active`). */
  active = true;
  /** Opens of the device by its bus driver; a plain remove is EBUSY while > 0. */
  openCount = 0;
  /** The IOMMU group of its own this device gets (as mdev_attach_iommu() in the seed). */
  iommuGroup: IommuGroupRef | undefined = undefined;
  /** Pages handed out through mmap, for the vendor to revoke (mdev_device_invalidate_mapping()). */
  readonly physMappings = new MdevPhysMappings();
  private refs = 1;
  private readonly onRelease: (mdev: MdevDevice) => void;

  constructor(
    /** The mdev's UUID, also its device name. */
    readonly uuid: string,
    /** The type it was created from. */
    readonly type: MdevType,
    onRelease: (mdev: MdevDevice) => void,
  ) {
    super(uuid, MDEV_BUS_NAME);
    this.onRelease = onRelease;
  }

  /** The parent device the mdev was carved from. */
  get parent(): MdevParent {
    return this.type.parent;
  }

  /** References held (get_device/put_device). */
  get refcount(): number {
    return this.refs;
  }

  /** get_device(). */
  get(): this {
    if (this.refs === 0) throw new Error(`mdev ${this.uuid}: get after release`);
    this.refs++;
    return this;
  }

  /** put_device(): the last put releases the device and returns its instance. */
  put(): void {
    if (this.refs === 0) throw new Error(`mdev ${this.uuid}: put after release`);
    if (--this.refs === 0) this.onRelease(this);
  }

  /**
   * The bus driver opened the device (the VFIO device file): hold a
   * reference and count the open, so a plain remove is EBUSY meanwhile. A
   * device being removed cannot be opened (ENODEV).
   */
  markOpen(): void {
    if (!this.active) fail('ENODEV', `mdev ${this.uuid} is being removed`);
    this.get();
    this.openCount++;
  }

  /** The bus driver's open ended: drop the open count and its reference. */
  markClosed(): void {
    if (this.openCount === 0) throw new Error(`mdev ${this.uuid}: close without open`);
    this.openCount--;
    this.put();
  }

  /** mdev_device_invalidate_mapping(): zap [addr, addr + size) of the device file from every mmap. */
  invalidateMapping(addr: bigint, size: bigint): number {
    return this.physMappings.invalidate(addr, size);
  }

  /** Whether the last reference is gone. */
  get released(): boolean {
    return this.refs === 0;
  }
}
