import { fail } from '@tsvirt/core-bus';
import {
  KVM_DEV_TYPE_VFIO,
  type Kvm,
  type KvmDevice,
  type KvmDeviceAttr,
  type KvmDeviceOps,
  type KvmVm,
} from '@tsvirt/kvm-core';
import {
  type VfioGroupFile,
  vfio_file_enforced_coherent,
  vfio_file_get,
  vfio_file_is_valid,
  vfio_file_put,
  vfio_file_set_kvm,
} from '@tsvirt/vfio-core';
import {
  archBypassForwardOps,
  defaultIrqResolver,
  type KvmArchForwardOps,
  KvmVfioForwarding,
  readForwardedIrq,
  type VfioIrqResolver,
  vfioDeviceFileOf,
} from './forward.ts';
import {
  KVM_DEV_VFIO_DEVICE,
  KVM_DEV_VFIO_DEVICE_FORWARD_IRQ,
  KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ,
  KVM_DEV_VFIO_FILE,
  KVM_DEV_VFIO_FILE_ADD,
  KVM_DEV_VFIO_FILE_DEL,
} from './uapi.ts';

const SET = 'KVM_SET_DEVICE_ATTR';

/** struct kvm_vfio: the files added, the aggregate coherency, the forwarded irqs. */
export class KvmVfio {
  /** The VFIO files added (kv->file_list). */
  readonly files: VfioGroupFile[] = [];
  /** kv->noncoherent: some file's DMA is not kept coherent by its IOMMU. */
  noncoherent = false;
  /** The device has been released. */
  released = false;
  /** The forwarded interrupts. */
  readonly forwarding: KvmVfioForwarding;

  constructor(
    /** The VM the device belongs to. */
    readonly vm: KvmVm,
    forwardOps: KvmArchForwardOps,
    resolver: VfioIrqResolver,
  ) {
    this.forwarding = new KvmVfioForwarding(vm, forwardOps, resolver);
  }

  /**
   * kvm_vfio_update_coherency(): the VM is told (kvm_arch_register /
   * unregister_noncoherent_dma) only when the aggregate flips.
   */
  updateCoherency(): void {
    const nc = this.files.some((f) => !vfio_file_enforced_coherent(f));
    if (nc === this.noncoherent) return;
    this.noncoherent = nc;
    if (nc) this.vm.registerNoncoherentDma();
    else this.vm.unregisterNoncoherentDma();
  }

  /** kvm_vfio_file_add(): EBADF, EINVAL for a file that is not a VFIO group, EEXIST for a duplicate. */
  fileAdd(fd: number): void {
    const f = this.vm.files.get(fd);
    if (!vfio_file_is_valid(f)) fail('EINVAL', `fd ${fd} is not a VFIO group`, SET);
    if (this.files.includes(f)) fail('EEXIST', `fd ${fd}: group already added`, SET);
    vfio_file_get(f);
    this.files.push(f);
    vfio_file_set_kvm(f, this.vm);
    this.updateCoherency();
  }

  /** kvm_vfio_file_del(): EBADF for a closed fd, ENOENT for a file never added. */
  fileDel(fd: number): void {
    const f = this.vm.files.get(fd);
    const at = this.files.indexOf(f as VfioGroupFile);
    if (at < 0) fail('ENOENT', `fd ${fd} was not added`, SET);
    this.files.splice(at, 1);
    this.dropFile(f as VfioGroupFile);
    this.updateCoherency();
  }

  private dropFile(f: VfioGroupFile): void {
    vfio_file_set_kvm(f, undefined);
    vfio_file_put(f);
  }

  /**
   * kvm_vfio_release(): every forwarded irq unforwarded and its device
   * reference dropped, every file dissociated and put, the non-coherent
   * registration undone. Idempotent; cannot fail.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.forwarding.teardown();
    for (const f of this.files.splice(0)) this.dropFile(f);
    this.updateCoherency();
  }
}

/** Hooks of the KVM-VFIO device: the arch's forwarding callout and the host-irq resolver. */
export interface KvmVfioOptions {
  /** The arch callout for FORWARD_IRQ (default: the arch's irqBypassAdd/DelProducer). */
  forward?: KvmArchForwardOps;
  /** Host irq of a device's (index, sub-index) (default: the bus driver's `irqs.hostIrq`). */
  irqResolver?: VfioIrqResolver;
}

/** Read the int32 fd at the attribute's address (get_user): EFAULT when unreadable. */
function readFd(attr: KvmDeviceAttr): number {
  const d = attr.data;
  if (!(d instanceof Uint8Array) || d.length < 4) fail('EFAULT', 'fd not readable at addr', SET);
  return new DataView(d.buffer, d.byteOffset, 4).getInt32(0, true);
}

function stateOf(dev: KvmDevice): KvmVfio {
  return dev.private_ as KvmVfio;
}

/** kvm_vfio_ops: the KVM device type VFIO. */
export class KvmVfioOps implements KvmDeviceOps {
  /** Device type name. */
  readonly name = 'kvm-vfio';
  private readonly forward: KvmArchForwardOps;
  private readonly resolver: VfioIrqResolver;

  constructor(opts: KvmVfioOptions = {}) {
    this.forward = opts.forward ?? archBypassForwardOps;
    this.resolver = opts.irqResolver ?? defaultIrqResolver;
  }

  /** kvm_vfio_create(): one per VM, EBUSY for a second. */
  create(dev: KvmDevice): void {
    if (dev.vm.devices.some((d) => d.ops === this))
      fail('EBUSY', 'the VM already has a KVM-VFIO device', 'KVM_CREATE_DEVICE');
    dev.private_ = new KvmVfio(dev.vm, this.forward, this.resolver);
  }

  /** .release: the device goes with its fd's last close. */
  release(dev: KvmDevice): void {
    stateOf(dev).release();
  }

  /** .destroy: VM teardown of a device still listed (same cleanup, idempotent). */
  destroy(dev: KvmDevice): void {
    stateOf(dev).release();
  }

  /** KVM_SET_DEVICE_ATTR: add or remove files, forward or unforward interrupts. */
  setAttr(dev: KvmDevice, attr: KvmDeviceAttr): void {
    const kv = stateOf(dev);
    switch (attr.group) {
      case KVM_DEV_VFIO_FILE:
        if (attr.attr === BigInt(KVM_DEV_VFIO_FILE_ADD)) {
          kv.fileAdd(readFd(attr));
          return;
        }
        if (attr.attr === BigInt(KVM_DEV_VFIO_FILE_DEL)) {
          kv.fileDel(readFd(attr));
          return;
        }
        break;
      case KVM_DEV_VFIO_DEVICE: {
        const fwd = attr.attr === BigInt(KVM_DEV_VFIO_DEVICE_FORWARD_IRQ);
        if (!fwd && attr.attr !== BigInt(KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ)) break;
        const f = readForwardedIrq(attr.data, SET);
        const file = vfioDeviceFileOf(dev.vm.files, f.fd, SET);
        if (fwd) kv.forwarding.forward(file, f, () => !kv.released, SET);
        else kv.forwarding.unforward(file, f, SET);
        return;
      }
    }
    fail('ENXIO', `no attribute ${attr.group}:${attr.attr}`, SET);
  }

  /** kvm_vfio_has_attr(). */
  hasAttr(_dev: KvmDevice, attr: KvmDeviceAttr): void {
    const a = attr.attr;
    if (
      attr.group === KVM_DEV_VFIO_FILE &&
      (a === BigInt(KVM_DEV_VFIO_FILE_ADD) || a === BigInt(KVM_DEV_VFIO_FILE_DEL))
    )
      return;
    if (
      attr.group === KVM_DEV_VFIO_DEVICE &&
      (a === BigInt(KVM_DEV_VFIO_DEVICE_FORWARD_IRQ) || a === BigInt(KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ))
    )
      return;
    fail('ENXIO', `no attribute ${attr.group}:${attr.attr}`, 'KVM_HAS_DEVICE_ATTR');
  }
}

/** kvm_vfio_ops_init(): register the VFIO device type with a /dev/kvm. */
export function registerKvmVfio(kvm: Kvm, opts: KvmVfioOptions = {}): KvmVfioOps {
  const ops = new KvmVfioOps(opts);
  kvm.registerDeviceOps(KVM_DEV_TYPE_VFIO, ops);
  return ops;
}

/** The KVM-VFIO state behind a device (for inspection). */
export function kvmVfioOf(dev: KvmDevice): KvmVfio | undefined {
  return dev.private_ instanceof KvmVfio ? dev.private_ : undefined;
}
