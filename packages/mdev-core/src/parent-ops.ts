import type { MdevDevice } from './mdev-device.ts';
import type { MdevType } from './mdev-type.ts';

/**
 * The callbacks a vendor (parent) driver gives the mdev core, after the seed
 * series' `struct mdev_parent_ops`. Only `create` and `remove` are required
 * (mdev_register_device() refuses a parent without them, EINVAL); the rest are
 * called by the mdev bus driver that binds the device (vfio-mpci for
 * `vfio-pci` types), which may define more of its own.
 *
 * Errors are reported by throwing a KernelError (`fail('EBUSY', ...)`).
 */
export interface MdevParentOps {
  /** Set up the vendor state of a new mdev (keep it in `mdev.drvdata`). Throwing aborts the create. */
  create(mdev: MdevDevice): void;
  /**
   * Tear the device down. Throwing (EBUSY: "still in use") refuses a plain
   * remove; on a forced remove (parent unregistration) the error is ignored.
   */
  remove(mdev: MdevDevice): void;
  /** The device file was opened (first open). */
  open?(mdev: MdevDevice): void;
  /** The device file was released (last close). */
  release?(mdev: MdevDevice): void;
  /** Read `buf.length` bytes at device-file offset `pos`; returns the count done. */
  read?(mdev: MdevDevice, buf: Uint8Array, pos: bigint): number;
  /** Write `buf` at device-file offset `pos`; returns the count done. */
  write?(mdev: MdevDevice, buf: Uint8Array, pos: bigint): number;
  /** Device ioctls the bus driver does not handle itself. */
  ioctl?(mdev: MdevDevice, cmd: number, arg: unknown): number;
  /**
   * Vendor-counted instances (upstream's `get_available`): when present the
   * core does no counting of its own for this parent and the vendor refuses
   * a create it cannot serve by throwing from `create`.
   */
  getAvailable?(type: MdevType): number;
  /** Text of the type's `description` attribute (upstream's `show_description`). */
  showDescription?(type: MdevType): string;
}
