import { fail, type KernelFile } from '@tsvirt/core-bus';
import type { KvmDeviceAttr } from './structs.ts';
import { KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR, KVM_SET_DEVICE_ATTR } from './uapi.ts';
import type { KvmVm } from './vm.ts';

/**
 * struct kvm_device_ops: a KVM device type (registered with
 * kvm_register_device_ops). Hooks refuse by throwing a KernelError.
 */
export interface KvmDeviceOps {
  readonly name: string;
  /** Called with the VM's lock held; refuse with e.g. EBUSY for a second instance. */
  create(dev: KvmDevice, type: number): void;
  /** After the device is on the VM's list, before its fd exists. */
  init?(dev: KvmDevice): void;
  /** VM teardown (or a failed fd install): free everything. */
  destroy(dev: KvmDevice): void;
  /** The device fd's last close; when present, the device is freed here and not at VM teardown. */
  release?(dev: KvmDevice): void;
  setAttr?(dev: KvmDevice, attr: KvmDeviceAttr): void;
  getAttr?(dev: KvmDevice, attr: KvmDeviceAttr): void;
  /** Throw ENXIO (usually) when the attribute does not exist. */
  hasAttr?(dev: KvmDevice, attr: KvmDeviceAttr): void;
  ioctl?(dev: KvmDevice, cmd: number, arg: unknown): unknown;
}

/** struct kvm_device: one instance, reachable through its anon-inode fd. */
export class KvmDevice implements KernelFile {
  /** The device's own state (dev->private). */
  private_: unknown;
  /** The descriptor KVM_CREATE_DEVICE returned (-1 until installed). */
  fd = -1;
  released = false;

  constructor(
    readonly ops: KvmDeviceOps,
    readonly vm: KvmVm,
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

  setAttr(attr: KvmDeviceAttr): void {
    this.ioctl(KVM_SET_DEVICE_ATTR, attr);
  }

  getAttr(attr: KvmDeviceAttr): void {
    this.ioctl(KVM_GET_DEVICE_ATTR, attr);
  }

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
