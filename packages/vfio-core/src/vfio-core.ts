import { Device, type EventFd, type FdTable, fail } from '@tsvirt/core-bus';
import type { IommuGroupRef, VfioIommuDriver } from './iommu-driver.ts';
import { type IommuGroup, IommuGroups } from './iommu-group.ts';
import { VFIO_MIGRATION_STOP_COPY } from './uapi.ts';
import { VfioContainerFile } from './vfio-container.ts';
import { VfioDevice, type VfioDeviceOps } from './vfio-device.ts';
import { VfioGroup, VfioGroupFile } from './vfio-group.ts';

/** __vfio_register_dev(): migration ops need at least VFIO_MIGRATION_STOP_COPY. */
function checkOps(dev: Device, ops: VfioDeviceOps): void {
  if (ops.migration !== undefined && (ops.migration.flags & VFIO_MIGRATION_STOP_COPY) === 0)
    fail('EINVAL', `${dev.name}: migration without VFIO_MIGRATION_STOP_COPY`);
}

/** An interrupt a VFIO bus driver offers for bypass: its trigger eventfd (the token) and host irq. */
export interface VfioIrqBypassProducer {
  /** The trigger eventfd, matched against the consumer's irqfd. */
  readonly token: EventFd;
  /** The host interrupt number. */
  readonly irq: number;
}

/**
 * The host's IRQ bypass manager as VFIO bus drivers see it (virt/lib/
 * irqbypass.c: irq_bypass_register_producer() and its inverse). VFIO does
 * not provide one: whoever does (kvm-vfio's module) plugs it into
 * `VfioCore.irqBypass`. Registration may fail (EBUSY for a token already
 * taken); the driver then keeps the eventfd path, as vfio-pci warns and goes on.
 */
export interface VfioIrqBypass {
  /** Offer an interrupt for bypass. */
  registerProducer(p: VfioIrqBypassProducer): void;
  /** Withdraw an interrupt. */
  unregisterProducer(p: VfioIrqBypassProducer): void;
}

/** Path of the VFIO container character device. */
export const VFIO_CONTAINER_PATH = '/dev/vfio/vfio';
const GROUP_PATH = /^\/dev\/vfio\/(0|[1-9][0-9]*)$/;

/**
 * The VFIO core of one host (drivers/vfio/vfio.c, the group/container
 * model): IOMMU backend registration, the groups drivers register devices
 * into, and the character devices /dev/vfio/vfio and /dev/vfio/<group>.
 */
export class VfioCore {
  /** The host's IOMMU groups. */
  readonly iommuGroups = new IommuGroups();
  /** The host's IRQ bypass manager, once something provides one (kvm-vfio); read when a driver sets up a trigger. */
  irqBypass: VfioIrqBypass | undefined = undefined;
  private readonly drivers: VfioIommuDriver[] = [];
  /** Containers currently using each backend (the module reference of try_module_get()). */
  private readonly driverUsers = new Map<VfioIommuDriver, number>();
  private readonly groups = new Map<number, VfioGroup>();
  private readonly byDevice = new Map<Device, VfioDevice>();
  /** Emulated groups this core made itself (vfio_register_emulated_iommu_dev()); torn down with their device. */
  private readonly ownGroups = new Set<IommuGroup>();

  /**
   * An IOMMU group allocator for mdev-core (its MdevIommuGroups): each
   * mediated device gets an emulated group of its own in this core's
   * registry (mdev_attach_iommu() in the seed), so the bus driver can then
   * vfio_register_group_dev() it and /dev/vfio/<id> matches sysfs.
   * `free` takes the device out of the group; the group itself goes as
   * soon as VFIO no longer uses it (files may still be open).
   */
  readonly mdevIommuGroups = {
    /** Give a new mdev an emulated IOMMU group. */
    alloc: (mdev: { readonly uuid: string }): IommuGroup => {
      const ig = this.iommuGroups.alloc({ mdev: true });
      if (mdev instanceof Device) this.iommuGroups.addDevice(ig, mdev);
      return ig;
    },
    /** Take the mdev out of its group. */
    free: (group: IommuGroupRef): void => {
      const ig = this.iommuGroups.get(group.id);
      if (ig === undefined || !ig.mdev) return;
      for (const d of ig.devices) this.iommuGroups.removeDevice(d);
      const vg = this.groups.get(ig.id);
      if (vg === undefined) this.iommuGroups.free(ig);
      else this.maybeFreeGroup(vg);
    },
  };

  // --- IOMMU backends -------------------------------------------------------

  /** vfio_register_iommu_driver(): the same backend twice is EINVAL. */
  registerIommuDriver(drv: VfioIommuDriver): void {
    if (this.drivers.some((d) => d === drv || d.name === drv.name))
      fail('EINVAL', `IOMMU driver ${drv.name} already registered`);
    this.drivers.push(drv);
  }

  /**
   * vfio_unregister_iommu_driver(). A backend in use by a container cannot
   * go (its module is pinned: EBUSY); an unknown one is ENOENT.
   */
  unregisterIommuDriver(drv: VfioIommuDriver): void {
    const at = this.drivers.indexOf(drv);
    if (at < 0) fail('ENOENT', `IOMMU driver ${drv.name} is not registered`);
    if ((this.driverUsers.get(drv) ?? 0) > 0) fail('EBUSY', `IOMMU driver ${drv.name} is in use`);
    this.drivers.splice(at, 1);
  }

  /** The registered IOMMU backends. */
  iommuDrivers(): readonly VfioIommuDriver[] {
    return this.drivers;
  }

  /** @internal try_module_get() when a container adopts a backend. */
  iommuDriverGet(drv: VfioIommuDriver): void {
    this.driverUsers.set(drv, (this.driverUsers.get(drv) ?? 0) + 1);
  }

  /** @internal module_put(). */
  iommuDriverPut(drv: VfioIommuDriver): void {
    const n = (this.driverUsers.get(drv) ?? 0) - 1;
    if (n <= 0) this.driverUsers.delete(drv);
    else this.driverUsers.set(drv, n);
  }

  // --- groups and devices ---------------------------------------------------

  /** The VFIO group of an IOMMU group id, if a driver has registered a device in it. */
  group(id: number): VfioGroup | undefined {
    return this.groups.get(id);
  }

  /** The ids of /dev/vfio/<id> nodes that exist now. */
  groupIds(): number[] {
    return [...this.groups.keys()].sort((a, b) => a - b);
  }

  /** vfio_device_get_from_dev(): the VFIO device a driver registered for `dev`. */
  deviceOf(dev: Device): VfioDevice | undefined {
    return this.byDevice.get(dev);
  }

  /**
   * vfio_register_group_dev() (vfio_add_group_dev() before it): a driver
   * bound to `dev` offers it to user space. The device needs an IOMMU group
   * (EINVAL); registering a device twice is EBUSY.
   */
  registerGroupDev(dev: Device, ops: VfioDeviceOps, data?: unknown): VfioDevice {
    checkOps(dev, ops);
    const ig = this.iommuGroups.ofDevice(dev);
    if (ig === undefined) fail('EINVAL', `${dev.name} has no IOMMU group`);
    if (this.byDevice.has(dev)) fail('EBUSY', `${dev.name} is already registered with VFIO`);
    return this.addToGroup(ig, dev, ops, data);
  }

  /**
   * vfio_register_emulated_iommu_dev(): a device with no hardware IOMMU
   * (a mediated device) gets a new single-device emulated group, whose
   * DMA goes through vfio_pin_pages()/vfio_dma_rw(). EBUSY if registered.
   */
  registerEmulatedIommuDev(dev: Device, ops: VfioDeviceOps, data?: unknown): VfioDevice {
    checkOps(dev, ops);
    if (this.byDevice.has(dev)) fail('EBUSY', `${dev.name} is already registered with VFIO`);
    if (this.iommuGroups.ofDevice(dev) !== undefined) fail('EBUSY', `${dev.name} already has an IOMMU group`);
    const ig = this.iommuGroups.alloc({ mdev: true });
    this.iommuGroups.addDevice(ig, dev);
    this.ownGroups.add(ig);
    return this.addToGroup(ig, dev, ops, data);
  }

  private addToGroup(ig: IommuGroup, dev: Device, ops: VfioDeviceOps, data: unknown): VfioDevice {
    let group = this.groups.get(ig.id);
    if (group === undefined) {
      group = new VfioGroup(this, ig);
      this.groups.set(ig.id, group);
    }
    const vdev = new VfioDevice(dev, group, ops, data);
    group.devices.push(vdev);
    this.byDevice.set(dev, vdev);
    return vdev;
  }

  /**
   * vfio_unregister_group_dev(). The kernel blocks here until the user
   * closes every file of the device, calling the driver's request() to ask
   * for it; this model cannot block, so it asks once per call, returns
   * false, and completes on the last close (see VfioDevice.whenRemoved()).
   * Returns true when the device is gone now. ENODEV if not registered.
   */
  unregisterGroupDev(vdev: VfioDevice): boolean {
    if (vdev.removed || this.byDevice.get(vdev.dev) !== vdev)
      fail('ENODEV', `${vdev.name} is not registered`);
    vdev.removing = true;
    if (vdev.fileRefs === 0) {
      this.finishUnregister(vdev);
      return true;
    }
    vdev.request();
    return false;
  }

  /** @internal The device has no open file left: drop it from its group. */
  finishUnregister(vdev: VfioDevice): void {
    const group = vdev.group;
    const at = group.devices.indexOf(vdev);
    if (at >= 0) group.devices.splice(at, 1);
    this.byDevice.delete(vdev.dev);
    if (this.ownGroups.has(group.iommuGroup) && group.iommuGroup.has(vdev.dev))
      this.iommuGroups.removeDevice(vdev.dev);
    vdev.markRemoved();
    this.maybeFreeGroup(group);
  }

  /**
   * @internal vfio_group_put() reaching zero: a group with no device, no
   * open file, no container and no external user disappears, and so does
   * /dev/vfio/<id>; an emulated IOMMU group goes with it.
   */
  maybeFreeGroup(group: VfioGroup): void {
    if (
      group.devices.length > 0 ||
      group.file !== undefined ||
      group.externalRefs > 0 ||
      group.containerUsers > 0
    )
      return;
    if (this.groups.get(group.id) === group) this.groups.delete(group.id);
    if (group.iommuGroup.mdev && group.iommuGroup.devices.length === 0)
      this.iommuGroups.free(group.iommuGroup);
  }

  // --- files ----------------------------------------------------------------

  /** open("/dev/vfio/vfio"): a new, empty container. */
  openContainer(): VfioContainerFile {
    return new VfioContainerFile(this);
  }

  /**
   * open("/dev/vfio/<id>") (vfio_group_fops_open()): ENOENT when no such
   * node; EBUSY when the group is already open, or still attached to a
   * container through device files of an earlier open.
   */
  openGroup(id: number, fds: FdTable): VfioGroupFile {
    const group = this.groups.get(id);
    if (group === undefined) fail('ENOENT', `/dev/vfio/${id} does not exist`, 'open');
    if (group.file !== undefined) fail('EBUSY', `group ${id} is already open`, 'open');
    if (group.container !== undefined) fail('EBUSY', `group ${id} is still in use by a container`, 'open');
    // Notifiers left from the previous user belong to a driver that forgot
    // to unregister them; upstream WARNs and starts a fresh chain.
    group.notifiers.clear();
    const file = new VfioGroupFile(group, fds);
    group.file = file;
    return file;
  }

  /** open(2) of a VFIO path into a descriptor table: the new fd. */
  open(fds: FdTable, path: string): number {
    if (path === VFIO_CONTAINER_PATH) return fds.install(this.openContainer());
    const m = GROUP_PATH.exec(path);
    if (m === null) fail('ENOENT', `${path} does not exist`, 'open');
    return fds.install(this.openGroup(Number(m[1]), fds));
  }
}
