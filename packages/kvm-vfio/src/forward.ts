import { type FdTable, fail, type KernelFile } from '@tsvirt/core-bus';
import type { KvmVm } from '@tsvirt/kvm-core';
import { type VfioDevice, VfioDeviceFile } from '@tsvirt/vfio-core';
import { KVM_ARCH_FORWARDED_IRQ_SIZE, type KvmArchForwardedIrq } from './uapi.ts';

/**
 * The arch callout for forwarding, as the review asked: it sees only the
 * VM, the host irq and the guest irq, never VFIO types. `set` may refuse
 * (throw); `unset` must not fail.
 */
export interface KvmArchForwardOps {
  /** Start forwarding `hostIrq` to `gsi`; may throw to refuse. */
  set(vm: KvmVm, hostIrq: number, gsi: number): void;
  /** Stop forwarding; must not fail. */
  unset(vm: KvmVm, hostIrq: number, gsi: number): void;
}

/**
 * By default the arch's IRQ bypass hooks serve as the forwarding callout
 * (later upstream moved forwarding onto kvm_arch_irq_bypass_add/del_producer).
 * An arch without them forwards nothing and still succeeds: the seed's
 * kvm_arch_vfio_set_forward() stub, without __KVM_HAVE_ARCH_KVM_VFIO_FORWARD,
 * returns 0. The irq then keeps reaching the guest through its eventfd.
 */
export const archBypassForwardOps: KvmArchForwardOps = {
  set(vm, hostIrq, gsi) {
    vm.archOps.irqBypassAddProducer?.(vm, hostIrq, gsi);
  },
  unset(vm, hostIrq, gsi) {
    vm.archOps.irqBypassDelProducer?.(vm, hostIrq, gsi);
  },
};

/**
 * How kvm-vfio learns the host irq behind a device's (index, sub-index):
 * the review's "vfio bus driver - vfio - kvm-vfio - kvm - arch", where the
 * bus driver decodes its own index encoding; undefined when the device has
 * no such interrupt. The default looks for the bus driver's
 * `irqs.hostIrq(index, vector)` on the device ops (vfio-mpci's MpciIrqs).
 */
export type VfioIrqResolver = (vdev: VfioDevice, index: number, subindex: number) => number | undefined;

interface IrqHostLike {
  irqs?: { hostIrq?(index: number, vector: number): number | undefined };
}

/** Asks the device's bus driver (`ops.irqs.hostIrq`) for the host irq behind (index, sub-index). */
export const defaultIrqResolver: VfioIrqResolver = (vdev, index, subindex) => {
  const irqs = (vdev.ops as IrqHostLike).irqs;
  return typeof irqs?.hostIrq === 'function' ? irqs.hostIrq(index, subindex) : undefined;
};

/**
 * One forwarded interrupt (the seed's kvm_fwd_irq in its list node): holds a
 * reference on the device file from register to unregister, as the review
 * asked, so no other get/put surrounds the control call.
 */
export interface KvmVfioFwdIrq {
  /** The device file, referenced while forwarded. */
  readonly file: VfioDeviceFile;
  /** The device's IRQ index. */
  readonly index: number;
  /** Sub-index (vector) within the index. */
  readonly subindex: number;
  /** The host interrupt number. */
  readonly hostIrq: number;
  /** The guest interrupt. */
  readonly gsi: number;
  /** The arch callout has returned (so unset is due on teardown). */
  armed: boolean;
  /** Torn down (VM gone) while the arch callout was still running. */
  dead: boolean;
}

/** Per host (one /dev/kvm): host irqs forwarded to some VM, one VM per host interrupt. */
const forwardedByHost = new WeakMap<object, Map<number, KvmVm>>();

function forwardedHostIrqs(vm: KvmVm): Map<number, KvmVm> {
  let m = forwardedByHost.get(vm.kvm);
  if (m === undefined) {
    m = new Map();
    forwardedByHost.set(vm.kvm, m);
  }
  return m;
}

/** Decode the seed's struct from the attribute's user memory (copy_from_user): EFAULT when short. */
export function readForwardedIrq(data: Uint8Array | undefined, op: string): KvmArchForwardedIrq {
  if (!(data instanceof Uint8Array) || data.length < KVM_ARCH_FORWARDED_IRQ_SIZE)
    fail('EFAULT', 'kvm_arch_forwarded_irq not readable', op);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    fd: v.getInt32(0, true),
    index: v.getUint32(4, true),
    subindex: v.getUint32(8, true),
    gsi: v.getUint32(12, true),
  };
}

/**
 * kvm_vfio_get_vfio_device() as the review asked: a descriptor that is not
 * open is EINVAL (ERR_PTR(-EINVAL) where the seed returned NULL), and so is
 * a file that is not a VFIO device.
 */
export function vfioDeviceFileOf(files: FdTable, fd: number, op: string): VfioDeviceFile {
  let f: KernelFile | undefined;
  try {
    f = files.get(fd);
  } catch {
    fail('EINVAL', `fd ${fd} is not open`, op);
  }
  if (!(f instanceof VfioDeviceFile) || f.isReleased) fail('EINVAL', `fd ${fd} is not a VFIO device`, op);
  return f;
}

/**
 * The forwarding list of one KVM-VFIO device (kvm_vfio_set_forward() and
 * its inverse in the seed, with the review's lifetime rules).
 */
export class KvmVfioForwarding {
  /** The forwarded interrupts. */
  readonly irqs: KvmVfioFwdIrq[] = [];

  constructor(
    private readonly vm: KvmVm,
    private readonly ops: KvmArchForwardOps,
    private readonly resolve: VfioIrqResolver,
  ) {}

  /**
   * kvm_vfio_find_fwd_irq(): the seed's key is (device, index, sub-index);
   * neither the fd used nor the gsi takes part.
   */
  private find(file: VfioDeviceFile, index: number, subindex: number): KvmVfioFwdIrq | undefined {
    return this.irqs.find(
      (r) => r.file.device === file.device && r.index === index && r.subindex === subindex,
    );
  }

  /**
   * FORWARD_IRQ (kvm_vfio_set_forward()): a key already registered EINVAL,
   * as the seed. Then ours: an interrupt the device lacks EINVAL; a host irq
   * in use elsewhere (forwarded to another VM, or already reaching a guest
   * through IRQ bypass) EBUSY, the errno the review kept for an IRQ whose
   * signalling is already set up. The arch's own refusal is returned as is.
   * The reference is taken at register and dropped at unregister.
   */
  forward(file: VfioDeviceFile, f: KvmArchForwardedIrq, isLive: () => boolean, op: string): void {
    if (this.find(file, f.index, f.subindex) !== undefined)
      fail('EINVAL', `irq ${f.index}:${f.subindex} of ${file.device.name} is already forwarded`, op);
    // kvm-vfio, not the arch, decodes (index, sub-index) into the host irq (the review's layering).
    const hostIrq = this.resolve(file.device, f.index, f.subindex);
    if (hostIrq === undefined) fail('EINVAL', `${file.device.name} has no irq ${f.index}:${f.subindex}`, op);
    if (forwardedHostIrqs(this.vm).has(hostIrq))
      fail('EBUSY', `host irq ${hostIrq} is already forwarded (another VM)`, op);
    // Both would program the same arch route: refuse rather than let unforward tear down the bypass's.
    const mgr = this.vm.kvm.irqBypass as { isHostIrqConnected?(irq: number): boolean } | undefined;
    if (mgr?.isHostIrqConnected?.(hostIrq))
      fail('EBUSY', `host irq ${hostIrq} already reaches the guest through IRQ bypass`, op);
    const rec: KvmVfioFwdIrq = {
      file: file.get(),
      index: f.index,
      subindex: f.subindex,
      hostIrq,
      gsi: f.gsi,
      armed: false,
      dead: false,
    };
    this.irqs.push(rec);
    forwardedHostIrqs(this.vm).set(hostIrq, this.vm);
    try {
      this.ops.set(this.vm, hostIrq, f.gsi);
    } catch (e) {
      if (!rec.dead) this.drop(rec);
      throw e;
    }
    rec.armed = true;
    // The VM went away while the callout ran: teardown skipped the unset, do it now.
    if (rec.dead || !isLive()) {
      if (!rec.dead) this.drop(rec);
      this.unsetQuietly(rec);
      fail('EIO', 'the VM was destroyed while forwarding', op);
    }
  }

  /**
   * UNFORWARD_IRQ (kvm_vfio_unset_forward()): EINVAL when the key is not
   * registered, as the seed; the gsi given is not compared, and the arch is
   * told the gsi that was forwarded. Once found, it cannot fail (the review).
   */
  unforward(file: VfioDeviceFile, f: KvmArchForwardedIrq, op: string): void {
    const rec = this.find(file, f.index, f.subindex);
    // Not armed: its forward is still inside the arch callout (the seed's kv->lock would make us wait).
    if (rec === undefined || !rec.armed)
      fail('EINVAL', `irq ${f.index}:${f.subindex} of ${file.device.name} is not forwarded`, op);
    this.drop(rec);
    this.unsetQuietly(rec);
  }

  /** Unforward everything, newest first; cannot fail. */
  teardown(): void {
    for (const rec of [...this.irqs].reverse()) {
      this.drop(rec);
      if (rec.armed) this.unsetQuietly(rec);
      else rec.dead = true;
    }
  }

  /** Take the record off the list and drop its device reference. */
  private drop(rec: KvmVfioFwdIrq): void {
    const at = this.irqs.indexOf(rec);
    if (at < 0) return;
    this.irqs.splice(at, 1);
    const fwd = forwardedHostIrqs(this.vm);
    if (fwd.get(rec.hostIrq) === this.vm) fwd.delete(rec.hostIrq);
    rec.file.put();
  }

  /** The arch's unset must not fail; if it throws anyway, the unforward still completes. */
  private unsetQuietly(rec: KvmVfioFwdIrq): void {
    try {
      this.ops.unset(this.vm, rec.hostIrq, rec.gsi);
    } catch {
      // kvm_arch_vfio_unforward has no error return: nothing to report.
    }
  }
}
