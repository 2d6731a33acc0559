import type { BusType, Driver } from '@tsvirt/core-bus';
import { MDEV_BUS_NAME, type MdevDevice } from './mdev-device.ts';

/**
 * An mdev bus driver (struct mdev_driver): vfio-mpci for `vfio-pci` types.
 * `deviceApis` lists the `device_api` strings it drives; `match` may narrow
 * further. `probe` throws a KernelError to refuse a device.
 */
export interface MdevDriver extends Driver<MdevDevice> {
  /** Always the mdev bus. */
  readonly bus: typeof MDEV_BUS_NAME;
  /** The device_api strings this driver drives. */
  readonly deviceApis: readonly string[];
  /** Optional further check after device_api matched. */
  match?(mdev: MdevDevice): boolean;
}

/** The mdev bus type (mdev_bus_type): a driver matches the device_api of the device's type. */
export const mdevBusType: BusType<MdevDevice, MdevDriver> = {
  name: MDEV_BUS_NAME,
  match(mdev, drv) {
    if (!drv.deviceApis.includes(mdev.type.deviceApi)) return false;
    return drv.match ? drv.match(mdev) : true;
  },
};
