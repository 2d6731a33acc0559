import { fail, type KernelFile } from '@tsvirt/core-bus';
import type { KvmDeviceAttr } from './structs.ts';
import { KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR, KVM_SET_DEVICE_ATTR } from './uapi.ts';
import type { KvmVm } from './vm.ts';

/**
 * struct kvm_device_ops: a KVM device type (registered with
 * kvm_register_device_ops). Hooks refuse by throwing a KernelError.
 */
export interface KvmDeviceOps {
  /** Device type name. */
  readonly name: string;
  /** Called with the VM's lock held; refuse with e.g. EBUSY for a second instance. */
  create(dev: KvmDevice, type: number): void;
  /** After the device is on the VM's list, before its fd exists. */
  init?(dev: KvmDevice): void;
  /** VM teardown (or a failed fd install): free everything. */
  destroy(dev: KvmDevice): void;
  /** The device fd's last close; when present, the device is freed here and not at VM teardown. */
  release?(dev: KvmDevice): void;
  /** KVM_SET_DEVICE_ATTR. */
  setAttr?(dev: KvmDevice, attr: KvmDeviceAttr): void;
  /** KVM_GET_DEVICE_ATTR. */
  getAttr?(dev: KvmDevice, attr: KvmDeviceAttr): void;
  /** Throw ENXIO (usually) when the attribute does not exist. */
  hasAttr?(dev: KvmDevice, attr: KvmDeviceAttr): void;
  /** Device-specific ioctls. */
  ioctl?(dev: KvmDevice, cmd: number, arg: unknown): unknown;
}

/** struct kvm_device: one instance, reachable through its anon-inode fd. */
export class KvmDevice implements KernelFile {
  /** The device's own state (dev->private). */
  private_: unknown;
  /** The descriptor KVM_CREATE_DEVICE returned (-1 until installed). */
  fd = -1;
  /** The device fd has been released. */
  released = false;

  constructor(
    /** The device type's ops. */
    readonly ops: KvmDeviceOps,
    /** The VM the device belongs to. */
    readonly vm: KvmVm,
    /** KVM_DEV_TYPE_* value. */
    readonly type: number,
  ) {}

  /** kvm_device_ioctl(). */
  ioctl(cmd: number, arg: unknown): unknown {
    if (this.vm.dead) fail('EIO', 'the VM is dead');
    switch (cmd) {
      case KVM_SET_DEVICE_ATTR:
        return this.attr(this.ops.setAttr, arg as KvmDeviceAttr, 'KVM_SET_DEVICE_ATTR');
      case KVM_GET_DEVICE_ATTR:
        return this.attr(this.ops.getAttr, arg as KvmDeviceAttr, 'KVM_GET_DEVICE_ATTR');
      case KVM_HAS_DEVICE_ATTR:
        return this.attr(this.ops.hasAttr, arg as KvmDeviceAttr, 'KVM_HAS_DEVICE_ATTR');
      default:
        if (this.ops.ioctl === undefined) fail('ENOTTY', `unknown device ioctl 0x${cmd.toString(16)}`);
        return this.ops.ioctl(this, cmd, arg);
    }
  }

  /** KVM_SET_DEVICE_ATTR on the device. */
  setAttr(attr: KvmDeviceAttr): void {
    this.ioctl(KVM_SET_DEVICE_ATTR, attr);
  }

  /** KVM_GET_DEVICE_ATTR on the device. */
  getAttr(attr: KvmDeviceAttr): void {
    this.ioctl(KVM_GET_DEVICE_ATTR, attr);
  }

  /** KVM_HAS_DEVICE_ATTR on the device; throws if the attribute does not exist. */
  hasAttr(attr: KvmDeviceAttr): void {
    this.ioctl(KVM_HAS_DEVICE_ATTR, attr);
  }

  /** kvm_device_ioctl_attr(): a device without the accessor is EPERM. */
  private attr(
    accessor: ((dev: KvmDevice, attr: KvmDeviceAttr) => void) | undefined,
    attr: KvmDeviceAttr,
    name: string,
  ): number {
    if (accessor === undefined) fail('EPERM', `${this.ops.name} has no ${name}`, name);
    accessor.call(this.ops, this, attr);
    return 0;
  }

  /** kvm_device_release(): the last fd closed. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.vm.releaseDevice(this);
  }
}
