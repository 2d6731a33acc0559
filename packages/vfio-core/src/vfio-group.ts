import { type FdTable, fail } from '@tsvirt/core-bus';
import type { IommuGroup } from './iommu-group.ts';
import {
  PAGE_SIZE,
  VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_STATUS_SIZE,
  VFIO_GROUP_UNSET_CONTAINER,
  type VfioGroupStatus,
} from './uapi.ts';
import type { VfioContainer } from './vfio-container.ts';
import { VfioContainerFile } from './vfio-container.ts';
import type { VfioCore } from './vfio-core.ts';
import { type VfioDevice, VfioDeviceFile } from './vfio-device.ts';
import { VfioFile } from './vfio-file.ts';

/** Drivers that leave a device harmless to a VFIO user (vfio_driver_allowed(): pci-stub). */
export const VFIO_DRIVER_ALLOWED = new Set(['pci-stub']);

/** Group notifier events (enum vfio_notify_type's VFIO_GROUP_NOTIFY events). */
export const VFIO_GROUP_NOTIFY_SET_KVM = 1 << 0;
/** A listener for group events (VFIO_GROUP_NOTIFY_SET_KVM with the KVM instance). */
export type VfioGroupNotifier = (event: number, data: unknown) => void;

/**
 * struct vfio_group: VFIO's view of one IOMMU group, exposed as
 * /dev/vfio/<id>. It tracks the devices drivers registered (device_list),
 * its container, and `containerUsers` (container_users): the group file
 * counts as one user while a container is set, each open device file and
 * each external user (kvm-vfio) as one more. The last user leaving detaches
 * the group from its container (vfio_group_try_dissolve_container()).
 */
export class VfioGroup {
  /** device_list: the devices registered in the group. */
  readonly devices: VfioDevice[] = [];
  /** The container the group is attached to, if any. */
  container: VfioContainer | undefined = undefined;
  /** container_users: the group file, open device files and external users. */
  containerUsers = 0;
  /** The open /dev/vfio/<id> file, if any (only one open at a time). */
  file: VfioGroupFile | undefined = undefined;
  /** References held by external users (vfio_group_get_external_user()). */
  externalRefs = 0;
  /** The KVM this group's files were handed to (vfio_file_set_kvm()). */
  kvm: unknown = undefined;
  /** Notifiers told of group events (VFIO_GROUP_NOTIFY_SET_KVM). */
  readonly notifiers = new Set<VfioGroupNotifier>();

  constructor(
    /** The VFIO core the group belongs to. */
    readonly core: VfioCore,
    /** The IOMMU group behind it. */
    readonly iommuGroup: IommuGroup,
  ) {}

  /** The IOMMU group number, as in /dev/vfio/<id>. */
  get id(): number {
    return this.iommuGroup.id;
  }

  /**
   * vfio_group_viable(): every device of the IOMMU group is unbound, bound
   * to an allowed stub driver, or driven by a driver that registered it
   * with VFIO (vfio_dev_viable()).
   */
  get viable(): boolean {
    for (const dev of this.iommuGroup.devices) {
      const drv = dev.driver;
      if (drv === undefined || VFIO_DRIVER_ALLOWED.has(drv.name)) continue;
      if (this.devices.some((v) => v.dev === dev)) continue;
      return false;
    }
    return true;
  }

  /** vfio_group_set_container(). */
  setContainer(fds: FdTable, containerFd: unknown): number {
    const IOCTL = 'VFIO_GROUP_SET_CONTAINER';
    if (typeof containerFd !== 'number' || !Number.isInteger(containerFd))
      fail('EFAULT', 'argument is not an int', IOCTL);
    if (containerFd < 0) fail('EINVAL', `negative fd ${containerFd}`, IOCTL);
    if (this.containerUsers > 0) fail('EINVAL', `group ${this.id} already has a container`, IOCTL);
    let file: unknown;
    try {
      file = fds.get(containerFd);
    } catch {
      fail('EBADF', `fd ${containerFd} is not open`, IOCTL);
    }
    if (!(file instanceof VfioContainerFile))
      fail('EINVAL', `fd ${containerFd} is not a VFIO container`, IOCTL);
    const container = file.container;
    // Claiming the group for user DMA fails while a kernel driver uses a
    // member device (iommu_group_claim_dma_owner() -> EPERM). An emulated
    // (mdev) group has no hardware domain to claim.
    if (!this.iommuGroup.mdev && !this.viable)
      fail('EPERM', `group ${this.id} has a device bound to a non-VFIO driver`, IOCTL);
    if (container.iommu !== undefined) container.iommu.attachGroup(this.iommuGroup);
    if (!this.iommuGroup.mdev) this.iommuGroup.dmaOwner = this;
    this.container = container;
    container.groups.push(this);
    container.getRef();
    this.containerUsers++;
    return 0;
  }

  /**
   * vfio_group_unset_container(): only the 1 -> 0 transition of
   * container_users is allowed: no container EINVAL, open devices or
   * external users EBUSY.
   */
  unsetContainer(): number {
    const IOCTL = 'VFIO_GROUP_UNSET_CONTAINER';
    if (this.containerUsers === 0) fail('EINVAL', `group ${this.id} has no container`, IOCTL);
    if (this.containerUsers !== 1)
      fail('EBUSY', `group ${this.id} has ${this.containerUsers - 1} device or external users`, IOCTL);
    this.containerUsers = 0;
    this.detachContainer();
    return 0;
  }

  /** __vfio_group_unset_container(). */
  private detachContainer(): void {
    const c = this.container!;
    this.container = undefined;
    c.removeGroup(this);
    // iommu_group_release_dma_owner(): kernel drivers may bind again.
    if (this.iommuGroup.dmaOwner === this) this.iommuGroup.dmaOwner = undefined;
  }

  /** vfio_group_try_dissolve_container(): drop one user; the last one detaches. */
  tryDissolveContainer(): void {
    if (this.containerUsers <= 0) return;
    if (--this.containerUsers === 0) this.detachContainer();
  }

  /**
   * vfio_group_add_container_user(): for in-kernel users of the group's
   * container (vfio_group_get_external_user()). EINVAL without a
   * container, without a backend, or when the group is not viable.
   */
  addContainerUser(op?: string): void {
    if (this.containerUsers === 0) fail('EINVAL', `group ${this.id} has no container`, op);
    if (this.container?.driver === undefined)
      fail('EINVAL', `group ${this.id}'s container has no IOMMU backend`, op);
    if (!this.viable) fail('EINVAL', `group ${this.id} is not viable`, op);
    this.containerUsers++;
  }

  /** VFIO_GROUP_GET_STATUS: fill in struct vfio_group_status. */
  getStatus(status: unknown): number {
    const IOCTL = 'VFIO_GROUP_GET_STATUS';
    if (typeof status !== 'object' || status === null) fail('EFAULT', 'no vfio_group_status', IOCTL);
    const s = status as VfioGroupStatus;
    if (typeof s.argsz !== 'number' || s.argsz < VFIO_GROUP_STATUS_SIZE)
      fail('EINVAL', `argsz ${s.argsz} < ${VFIO_GROUP_STATUS_SIZE}`, IOCTL);
    let flags = 0;
    if (this.viable) flags |= VFIO_GROUP_FLAGS_VIABLE;
    if (this.container !== undefined) flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
    s.flags = flags;
    return 0;
  }

  /** vfio_device_get_from_name(): by dev_name(), or the driver's match(). */
  findDevice(name: string): VfioDevice | undefined {
    for (const d of this.devices) {
      if (d.removing) continue;
      if (d.ops.match ? d.ops.match(d, name) : d.name === name) return d;
    }
    return undefined;
  }

  /**
   * vfio_group_get_device_fd(): needs a container with a backend and a
   * viable group (EINVAL), a device of that name (ENODEV); the driver's
   * open runs on the device's first open only (open_count). The new file
   * is installed in `fds`, and counts as a container user.
   */
  getDeviceFd(fds: FdTable, name: unknown): number {
    const IOCTL = 'VFIO_GROUP_GET_DEVICE_FD';
    if (typeof name !== 'string') fail('EFAULT', 'argument is not a string', IOCTL);
    // strndup_user(arg, PAGE_SIZE): the name with its NUL must fit in a page.
    if (name.length >= PAGE_SIZE) fail('EINVAL', 'device name longer than a page', IOCTL);
    if (this.containerUsers === 0 || this.container?.driver === undefined || !this.viable)
      fail('EINVAL', `group ${this.id} needs a container with an IOMMU set and must be viable`, IOCTL);
    const device = this.findDevice(name);
    if (device === undefined) fail('ENODEV', `no device ${name} in group ${this.id}`, IOCTL);
    device.openFile();
    const file = new VfioDeviceFile(device, fds);
    this.containerUsers++;
    return fds.install(file);
  }

  /** Called by the group file's release (vfio_group_fops_release()). */
  fileReleased(): void {
    this.tryDissolveContainer();
    this.file = undefined;
    this.core.maybeFreeGroup(this);
  }

  /** vfio_group_set_kvm(): record the KVM and tell the registered group notifiers. */
  setKvm(kvm: unknown): void {
    this.kvm = kvm;
    for (const nb of [...this.notifiers]) nb(VFIO_GROUP_NOTIFY_SET_KVM, kvm);
  }

  /** vfio_group_fops_unl_ioctl(): unknown cmd ENOTTY. `fds` resolves fd arguments and receives device fds. */
  ioctl(fds: FdTable, cmd: number, arg?: unknown): number {
    switch (cmd) {
      case VFIO_GROUP_GET_STATUS:
        return this.getStatus(arg);
      case VFIO_GROUP_SET_CONTAINER:
        return this.setContainer(fds, arg);
      case VFIO_GROUP_UNSET_CONTAINER:
        return this.unsetContainer();
      case VFIO_GROUP_GET_DEVICE_FD:
        return this.getDeviceFd(fds, arg);
      default:
        return fail('ENOTTY', `unknown group ioctl 0x${cmd.toString(16)}`);
    }
  }
}

/**
 * The file behind an open /dev/vfio/<id>. It remembers the descriptor
 * table it was opened into, as the kernel uses current->files: the
 * container fd of SET_CONTAINER is looked up there, and device fds are
 * installed there.
 */
export class VfioGroupFile extends VfioFile {
  constructor(
    /** The group this file opens. */
    readonly group: VfioGroup,
    /** The descriptor table the file was installed in. */
    readonly fds: FdTable,
  ) {
    super();
  }

  protected releaseFile(): void {
    this.group.fileReleased();
  }

  ioctl(cmd: number, arg?: unknown, fds: FdTable = this.fds): number {
    if (this.isReleased) fail('EBADF', 'group file is closed');
    return this.group.ioctl(fds, cmd, arg);
  }
}
