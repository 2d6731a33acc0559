import { type Device, fail } from '@tsvirt/core-bus';
import type { IommuGroupRef } from './iommu-driver.ts';

/**
 * An IOMMU group (struct iommu_group): the smallest set of devices the
 * IOMMU can isolate from the rest of the system. VFIO hands groups, never
 * single devices, to user space, because any device in the group can DMA
 * wherever any other can. `mdev` marks an emulated group (one mediated
 * device, no hardware domain), as vfio_register_emulated_iommu_dev() makes.
 */
export class IommuGroup implements IommuGroupRef {
  private readonly members = new Set<Device>();
  /**
   * The user-DMA owner (group->owner): set while VFIO has the group in a
   * container (iommu_group_claim_dma_owner()), so kernel drivers may not
   * bind to its devices meanwhile.
   */
  dmaOwner: unknown = undefined;

  constructor(
    /** The group number. */
    readonly id: number,
    /** An emulated group of a mediated device, with no hardware IOMMU. */
    readonly mdev: boolean,
  ) {}

  /** The devices in the group. */
  get devices(): readonly Device[] {
    return [...this.members];
  }

  /** Whether `dev` is in the group. */
  has(dev: Device): boolean {
    return this.members.has(dev);
  }

  /** @internal iommu_group_add_device(); use IommuGroups.addDevice(). */
  add(dev: Device): void {
    this.members.add(dev);
  }

  /** @internal iommu_group_remove_device(). */
  remove(dev: Device): void {
    this.members.delete(dev);
  }
}

/**
 * The host's IOMMU groups, as drivers/iommu/iommu.c keeps them: numbered
 * with the lowest free id (ida_alloc), one group per device.
 */
export class IommuGroups {
  private readonly groups = new Map<number, IommuGroup>();
  private readonly byDevice = new Map<Device, IommuGroup>();

  /**
   * iommu_group_alloc(): a new empty group. `id` pins the number (as a
   * platform's topology would); EEXIST if taken, EINVAL if not a u32.
   */
  alloc(opts: { id?: number; mdev?: boolean } = {}): IommuGroup {
    let id = opts.id;
    if (id === undefined) {
      id = 0;
      while (this.groups.has(id)) id++;
    } else {
      if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) fail('EINVAL', `bad iommu group id ${id}`);
      if (this.groups.has(id)) fail('EEXIST', `iommu group ${id} exists`);
    }
    const g = new IommuGroup(id, opts.mdev ?? false);
    this.groups.set(id, g);
    return g;
  }

  /** The group with this id, if any. */
  get(id: number): IommuGroup | undefined {
    return this.groups.get(id);
  }

  /** All groups. */
  all(): IommuGroup[] {
    return [...this.groups.values()];
  }

  /** iommu_group_get(dev): the group of a device, if it has one. */
  ofDevice(dev: Device): IommuGroup | undefined {
    return this.byDevice.get(dev);
  }

  /** iommu_group_add_device(): a device joins exactly one group (EEXIST if already in one). */
  addDevice(group: IommuGroup, dev: Device): void {
    if (this.groups.get(group.id) !== group) fail('ENOENT', `iommu group ${group.id} is not registered`);
    const cur = this.byDevice.get(dev);
    if (cur !== undefined) fail('EEXIST', `${dev.name} is already in iommu group ${cur.id}`);
    group.add(dev);
    this.byDevice.set(dev, group);
  }

  /** Take a device out of its group; ENODEV if it is in none. */
  removeDevice(dev: Device): void {
    const g = this.byDevice.get(dev);
    if (g === undefined) fail('ENODEV', `${dev.name} is in no iommu group`);
    g.remove(dev);
    this.byDevice.delete(dev);
  }

  /**
   * iommu_device_use_default_domain(): what a kernel (non-VFIO) driver's
   * probe asks before binding. EBUSY while user space owns the group's DMA.
   * A bus's probe path calls this; core-bus's driver core does not.
   */
  deviceUseDefaultDomain(dev: Device): void {
    const g = this.byDevice.get(dev);
    if (g?.dmaOwner !== undefined) fail('EBUSY', `iommu group ${g.id} is owned by user space`);
  }

  /** Drop an empty group (iommu_group_put of the last reference); EBUSY while it has devices. */
  free(group: IommuGroup): void {
    if (group.devices.length > 0) fail('EBUSY', `iommu group ${group.id} still has devices`);
    if (this.groups.get(group.id) === group) this.groups.delete(group.id);
  }
}
