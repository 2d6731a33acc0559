import { type Device, type FdTable, fail } from '@tsvirt/core-bus';
import { type VfioMigrationOps, vfio_ioctl_device_feature } from './device-feature.ts';
import { VFIO_DEVICE_FEATURE } from './uapi.ts';
import { VfioFile } from './vfio-file.ts';
import type { VfioGroup } from './vfio-group.ts';

/**
 * The mapping a device's mmap receives: host-mm's VmArea (struct
 * vm_area_struct). Kept structural so vfio-core does not pin host-mm's
 * class; the driver sets `flags` (VM_PFNMAP | VM_IO ...) and `ops`.
 */
export interface VfioVma {
  /** First address of the mapping. */
  start: number;
  /** One past the last address. */
  end: number;
  /** VM_* flags. */
  flags: number;
  /** Offset in the device file, in pages (vm_pgoff). */
  pgoff: number;
  /** vm_operations_struct the driver installs. */
  ops?: unknown;
}

/**
 * struct vfio_device_ops: what a VFIO bus driver (vfio-pci, vfio-mpci)
 * gives the core. Failures are thrown KernelErrors. `open`/`release` are
 * open_device/close_device: first open and last close only.
 */
export interface VfioDeviceOps {
  /** Driver name, for messages. */
  readonly name?: string;
  /** First open of the device (open_device). */
  open?(vdev: VfioDevice): void;
  /** Last close of the device (close_device). */
  release?(vdev: VfioDevice): void;
  /** `fds` is the caller's descriptor table, for fd arguments such as SET_IRQS eventfds. */
  ioctl?(vdev: VfioDevice, cmd: number, arg: unknown, fds: FdTable): number;
  /** pread() at `offset` (region index << 40 | offset in region); returns bytes read. */
  read?(vdev: VfioDevice, buf: Uint8Array, offset: bigint): number;
  /** pwrite() at `offset` (region index << 40 | offset in region); returns bytes written. */
  write?(vdev: VfioDevice, buf: Uint8Array, offset: bigint): number;
  /** mmap() of a region; the driver fills in the VMA. */
  mmap?(vdev: VfioDevice, vma: VfioVma): void;
  /** The device is being unregistered while open: ask the user to let go (count: how often asked). */
  request?(vdev: VfioDevice, count: number): void;
  /** Match a GROUP_GET_DEVICE_FD name other than dev_name() (ops->match). */
  match?(vdev: VfioDevice, name: string): boolean;
  /** Migration v2 (mig_ops + migration_flags): VFIO_DEVICE_FEATURE_MIGRATION / MIG_DEVICE_STATE / MIG_DATA_SIZE. */
  readonly migration?: VfioMigrationOps;
  /** Any other VFIO_DEVICE_FEATURE (ops->device_feature): flags, payload and its size after the header. */
  deviceFeature?(vdev: VfioDevice, flags: number, data: unknown, argsz: number): number;
}

/**
 * struct vfio_device: a device a driver registered with VFIO, in its
 * group. `openCount` is open_count (device files open); `kvm` is the KVM
 * the group was associated with when the device was first opened.
 */
export class VfioDevice {
  /** open_count: device files open. */
  openCount = 0;
  /** Open device files (each holds a vfio_device reference). */
  fileRefs = 0;
  /** The KVM the group was associated with at first open. */
  kvm: unknown = undefined;
  /** vfio_unregister_group_dev() has started: the device no longer matches names. */
  removing = false;
  /** Unregistration has finished. */
  removed = false;
  private requestCount = 0;
  private readonly removedCallbacks: (() => void)[] = [];

  constructor(
    /** The underlying struct device. */
    readonly dev: Device,
    /** The VFIO group the device is in. */
    readonly group: VfioGroup,
    /** The driver's vfio_device_ops. */
    readonly ops: VfioDeviceOps,
    /** The driver's private data (vfio_device_data()). */
    public data: unknown = undefined,
  ) {}

  /** Device name (dev_name()). */
  get name(): string {
    return this.dev.name;
  }

  /** First-open side of vfio_group_get_device_fd(): open_device once; undone if it fails. */
  openFile(): void {
    this.openCount++;
    if (this.openCount === 1) {
      this.kvm = this.group.kvm;
      try {
        this.ops.open?.(this);
      } catch (e) {
        this.openCount--;
        this.kvm = undefined;
        throw e;
      }
    }
    this.fileRefs++;
  }

  /** vfio_device_fops_release(): close_device on the last close, then drop the container user. */
  closeFile(): void {
    try {
      // close_device() returns nothing upstream: a driver that throws
      // still loses the device, and the refcounts below drop regardless.
      if (this.openCount === 1) this.ops.release?.(this);
    } finally {
      this.openCount--;
      if (this.openCount === 0) this.kvm = undefined;
      this.group.tryDissolveContainer();
      this.fileRefs--;
      if (this.removing && this.fileRefs === 0) this.group.core.finishUnregister(this);
    }
  }

  /** @internal Unregister started while open: ask the user to release (ops->request). */
  request(): void {
    this.ops.request?.(this, this.requestCount++);
  }

  /** Run `cb` once the device is fully unregistered (at once if it already is). */
  whenRemoved(cb: () => void): void {
    if (this.removed) cb();
    else this.removedCallbacks.push(cb);
  }

  /** Record that unregistration finished and run the whenRemoved() callbacks. @internal */
  markRemoved(): void {
    this.removed = true;
    for (const cb of this.removedCallbacks.splice(0)) cb();
  }
}

/** ksys_pread64()/pwrite64(): a negative position is EINVAL; a buffer that is not one EFAULT. */
function checkRw(buf: Uint8Array, offset: bigint, syscall: string): void {
  if (!(buf instanceof Uint8Array)) fail('EFAULT', 'buffer is not a Uint8Array', syscall);
  if (typeof offset !== 'bigint' || offset < 0n) fail('EINVAL', `bad position ${offset}`, syscall);
}

/**
 * The file behind a device fd: ioctl/read/write/mmap go to the driver's ops;
 * a missing op is EINVAL, as vfio_device_fops_*() answer.
 */
export class VfioDeviceFile extends VfioFile {
  constructor(
    /** The device this file opens. */
    readonly device: VfioDevice,
    /** The descriptor table the file was installed in (the opener's). */
    readonly fds: FdTable,
  ) {
    super();
  }

  protected releaseFile(): void {
    this.device.closeFile();
  }

  private live(): VfioDevice {
    if (this.isReleased) fail('EBADF', 'device file is closed');
    return this.device;
  }

  ioctl(cmd: number, arg?: unknown, fds: FdTable = this.fds): number {
    const d = this.live();
    // VFIO_DEVICE_FEATURE is the core's (vfio_device_fops_unl_ioctl()).
    if (cmd === VFIO_DEVICE_FEATURE) return vfio_ioctl_device_feature(d, arg, fds);
    if (d.ops.ioctl === undefined) fail('EINVAL', `${d.name} has no ioctl`);
    return d.ops.ioctl(d, cmd, arg, fds);
  }

  /** pread(fd, buf, offset). */
  read(buf: Uint8Array, offset: bigint): number {
    const d = this.live();
    checkRw(buf, offset, 'pread64');
    if (d.ops.read === undefined) fail('EINVAL', `${d.name} has no read`, 'pread64');
    return d.ops.read(d, buf, offset);
  }

  /** pwrite(fd, buf, offset). */
  write(buf: Uint8Array, offset: bigint): number {
    const d = this.live();
    checkRw(buf, offset, 'pwrite64');
    if (d.ops.write === undefined) fail('EINVAL', `${d.name} has no write`, 'pwrite64');
    return d.ops.write(d, buf, offset);
  }

  /** file_operations->mmap, as host-mm's mmap() of this file calls it. */
  mmap(vma: VfioVma): void {
    const d = this.live();
    if (d.ops.mmap === undefined) fail('EINVAL', `${d.name} has no mmap`);
    d.ops.mmap(d, vma);
  }
}
