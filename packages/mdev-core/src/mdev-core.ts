import { type DriverCore, fail, isKernelError } from '@tsvirt/core-bus';
import { LocalMdevIommuGroups, type MdevIommuGroups } from './iommu-group.ts';
import { type MdevDriver, mdevBusType } from './mdev-bus.ts';
import { MDEV_BUS_NAME, MdevDevice } from './mdev-device.ts';
import { MdevParent, type MdevParentInfo } from './mdev-parent.ts';
import type { MdevType } from './mdev-type.ts';
import { parseMdevUuid } from './uuid.ts';

/** Where the mdev core gets each mdev's IOMMU group. */
export interface MdevCoreOptions {
  /** Where each mdev's IOMMU group comes from; vfio-core's group registry in a full stack. */
  groups?: MdevIommuGroups;
}

/** How an mdev is removed: `force` skips the open and vendor checks. */
export interface MdevRemoveOptions {
  /** Remove even if open or the vendor refuses (parent unregistration does this). */
  force?: boolean;
}

/**
 * The mdev core (drivers/vfio/mdev/mdev_core.c): parents and their types,
 * mediated devices created by UUID, and the mdev bus on the driver core.
 * Host-facing errors are KernelErrors with upstream's codes; a failed call
 * changes nothing.
 */
export class MdevCore {
  private readonly parentsByName = new Map<string, MdevParent>();
  /** Every mdev not yet released, removed or not (upstream's mdev_list). */
  private readonly all = new Map<string, MdevDevice>();
  /** Where each mdev's IOMMU group comes from. */
  readonly groups: MdevIommuGroups;

  constructor(
    /** The driver core mdevs are registered with. */
    readonly driverCore: DriverCore,
    opts: MdevCoreOptions = {},
  ) {
    this.groups = opts.groups ?? new LocalMdevIommuGroups();
    // bus_register(&mdev_bus_type) at module init; a second core on the same driver core is EEXIST.
    driverCore.registerBus(mdevBusType);
  }

  /**
   * mdev_register_device(): a parent without `create`/`remove` or without
   * any supported type is EINVAL; a parent already registered is EEXIST;
   * two types with one sysfs name are EEXIST (the kobject would clash).
   */
  registerParent(info: MdevParentInfo): MdevParent {
    const op = 'mdev_register_device';
    if (typeof info.name !== 'string' || info.name === '') fail('EINVAL', 'parent has no name', op);
    const ops = info.ops;
    if (!ops || typeof ops.create !== 'function' || typeof ops.remove !== 'function')
      fail('EINVAL', `parent ${info.name} lacks the required create/remove ops`, op);
    if (!Array.isArray(info.types) || info.types.length === 0)
      fail('EINVAL', `parent ${info.name} declares no supported types`, op);
    if (this.parentsByName.has(info.name)) fail('EEXIST', `parent ${info.name} is already registered`, op);
    for (const n of [info.maxInstances, ...info.types.map((t) => t.maxInstances)]) {
      if (n !== undefined && (!Number.isInteger(n) || n < 0))
        fail('EINVAL', `instance limit ${n} is not a non-negative integer`, op);
    }
    const parent = new MdevParent(info);
    const seen = new Set<string>();
    for (const t of parent.types) {
      if (typeof t.id !== 'string' || t.id === '' || t.id.includes('/'))
        fail('EINVAL', `bad type id ${JSON.stringify(t.id)}`, op);
      if (typeof t.deviceApi !== 'string' || t.deviceApi === '')
        fail('EINVAL', `type ${t.id} has no device_api`, op);
      if (seen.has(t.sysfsName)) fail('EEXIST', `type ${t.sysfsName} declared twice`, op);
      seen.add(t.sysfsName);
    }
    this.parentsByName.set(info.name, parent);
    return parent;
  }

  /**
   * mdev_unregister_device(): every device of the parent is removed by
   * force (open ones are revoked by their bus driver). Unknown parents are
   * ignored, as upstream does; returns whether one was registered.
   */
  unregisterParent(name: string): boolean {
    const parent = this.parentsByName.get(name);
    if (parent === undefined) return false;
    for (const mdev of [...parent.devices]) {
      if (mdev.active) this.removeDevice(mdev.uuid, { force: true });
    }
    this.parentsByName.delete(name);
    return true;
  }

  /** The registered parent with this name, if any. */
  parent(name: string): MdevParent | undefined {
    return this.parentsByName.get(name);
  }

  /** The registered parents. */
  get parents(): MdevParent[] {
    return [...this.parentsByName.values()];
  }

  /** The mdev named `uuid` (any case), while not released. */
  device(uuid: string): MdevDevice | undefined {
    return this.all.get(uuid.toLowerCase());
  }

  /** Devices that exist for userspace (created, not removed). */
  get devices(): MdevDevice[] {
    return [...this.all.values()].filter((d) => d.active);
  }

  private findType(parentName: string, typeName: string, op: string): MdevType {
    const parent = this.parentsByName.get(parentName);
    if (parent === undefined) fail('ENODEV', `no mdev parent ${parentName}`, op);
    const type = parent.findType(typeName);
    if (type === undefined) fail('ENOENT', `parent ${parentName} has no type ${typeName}`, op);
    return type;
  }

  /**
   * mdev_device_create(), reached by writing a UUID to a type's `create`.
   * The UUID must be exactly valid (EINVAL); a UUID still in use, even by a
   * removed device not yet released, is EEXIST; when the core counts
   * instances and none is left, EUSERS. The instance is taken here and given
   * back by mdev_device_release(), so a vendor `create` that fails returns it
   * through the same release path.
   */
  createDevice(parentName: string, typeName: string, uuidText: string): MdevDevice {
    const op = 'mdev_create';
    const uuid = parseMdevUuid(uuidText, op);
    const type = this.findType(parentName, typeName, op);
    const parent = type.parent;
    if (this.all.has(uuid)) fail('EEXIST', `mdev ${uuid} already exists`, op);
    if (parent.coreCounts) {
      if (type.availableInstances <= 0) fail('EUSERS', `no instances of ${type.sysfsName} left`, op);
      if (parent.availableInstances !== undefined) parent.availableInstances--;
      if (type.availableInType !== undefined) type.availableInType--;
    }
    const mdev = new MdevDevice(uuid, type, (d) => this.release(d));
    this.all.set(uuid, mdev);
    parent.devices.add(mdev);
    try {
      parent.ops.create(mdev);
    } catch (e) {
      mdev.active = false;
      mdev.put();
      throw e;
    }
    try {
      mdev.iommuGroup = this.groups.alloc(mdev);
      // device_add(): the mdev bus offers it to every matching driver. A probe
      // failure leaves it unbound (recorded in probeErrors), not uncreated.
      this.driverCore.addDevice(mdev);
    } catch (e) {
      // Unwind as mdev_device_create()'s error path: undo the vendor's create, then release.
      if (mdev.iommuGroup) this.groups.free(mdev.iommuGroup);
      mdev.iommuGroup = undefined;
      try {
        parent.ops.remove(mdev);
      } catch {
        // The vendor cannot refuse to undo a create that failed.
      }
      mdev.active = false;
      mdev.put();
      throw e;
    }
    return mdev;
  }

  /**
   * mdev_device_remove(), reached by writing 1 to the device's `remove`.
   * Unknown device ENODEV; a removal already under way EAGAIN; an open
   * device, or one whose vendor `remove` refuses, EBUSY unless `force`.
   * The instance returns to the pool when the last reference goes (the
   * bus driver's open holds one), not here.
   */
  removeDevice(uuid: string, opts: MdevRemoveOptions = {}): void {
    const op = 'mdev_remove';
    const mdev = this.all.get(uuid.toLowerCase());
    if (mdev === undefined) fail('ENODEV', `no mdev ${uuid}`, op);
    if (!mdev.active) fail('EAGAIN', `mdev ${uuid} is already being removed`, op);
    const force = opts.force === true;
    if (!force && mdev.openCount > 0) fail('EBUSY', `mdev ${uuid} is open`, op);
    mdev.active = false;
    const ops = mdev.parent.ops;
    if (!force) {
      try {
        ops.remove(mdev);
      } catch (e) {
        mdev.active = true;
        if (isKernelError(e)) throw e;
        fail('EBUSY', `vendor remove refused: ${(e as Error)?.message ?? e}`, op);
      }
    }
    // device_del(): the bus driver's remove runs (and revokes any open file when forced).
    this.driverCore.removeDevice(mdev);
    mdev.physMappings.invalidateAll();
    if (force) {
      try {
        ops.remove(mdev);
      } catch {
        // A forced remove ignores the vendor's objection, as mdev_device_remove_ops(force_remove).
      }
    }
    if (mdev.iommuGroup) this.groups.free(mdev.iommuGroup);
    mdev.iommuGroup = undefined;
    mdev.parent.devices.delete(mdev);
    mdev.put();
  }

  /** mdev_device_release(): forget the UUID and give the instance back. */
  private release(mdev: MdevDevice): void {
    if (this.all.get(mdev.uuid) === mdev) this.all.delete(mdev.uuid);
    const parent = mdev.parent;
    parent.devices.delete(mdev);
    if (parent.coreCounts) {
      if (parent.availableInstances !== undefined) parent.availableInstances++;
      if (mdev.type.availableInType !== undefined) mdev.type.availableInType++;
    }
  }

  /** mdev_register_driver(): bind every matching device. */
  registerDriver(drv: MdevDriver): void {
    if (drv.bus !== MDEV_BUS_NAME)
      fail('EINVAL', `driver ${drv.name} is not an mdev driver`, 'mdev_register_driver');
    this.driverCore.registerDriver(drv);
  }

  /** mdev_unregister_driver(): every device it drives is unbound first. */
  unregisterDriver(drv: MdevDriver): void {
    this.driverCore.unregisterDriver(drv);
  }
}
