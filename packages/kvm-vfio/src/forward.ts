import { fail, type KernelFile } from '@tsvirt/core-bus';
import type { KvmVm } from '@tsvirt/kvm-core';
import { type VfioDevice, VfioDeviceFile } from '@tsvirt/vfio-core';
import type { KvmArchForwardedIrq } from './uapi.ts';

/**
 * The arch callout for forwarding, as the review asked: it sees only the
 * VM, the host irq and the guest irq, never VFIO types. `set` may refuse
 * (throw); `unset` must not fail.
 */
export interface KvmArchForwardOps {
  set(vm: KvmVm, hostIrq: number, gsi: number): void;
  unset(vm: KvmVm, hostIrq: number, gsi: number): void;
}

/** By default the arch's IRQ bypass hooks serve as the forwarding callout. */
export const archBypassForwardOps: KvmArchForwardOps = {
  set(vm, hostIrq, gsi) {
    const add = vm.archOps.irqBypassAddProducer;
    if (add === undefined)
      fail('ENXIO', `${vm.archOps.name} cannot forward interrupts`, 'KVM_SET_DEVICE_ATTR');
    add.call(vm.archOps, vm, hostIrq, gsi);
  },
  unset(vm, hostIrq, gsi) {
    vm.archOps.irqBypassDelProducer?.(vm, hostIrq, gsi);
  },
};

/**
 * How kvm-vfio learns the host irq behind a device's (index, sub-index),
 * as the seed asked the VFIO platform driver for it; undefined when the
 * device has no such interrupt. The default looks for the bus driver's
 * `irqs.hostIrq(index, vector)` on the device ops (vfio-mpci's MpciIrqs).
 */
export type VfioIrqResolver = (vdev: VfioDevice, index: number, start: number) => number | undefined;

interface IrqHostLike {
  irqs?: { hostIrq?(index: number, vector: number): number | undefined };
}

export const defaultIrqResolver: VfioIrqResolver = (vdev, index, start) => {
  const irqs = (vdev.ops as IrqHostLike).irqs;
  return typeof irqs?.hostIrq === 'function' ? irqs.hostIrq(index, start) : undefined;
};

/** One forwarded interrupt: holds a reference on the device file from forward to unforward. */
export interface KvmVfioFwdIrq {
  readonly file: VfioDeviceFile;
  readonly index: number;
  readonly start: number;
  readonly hostIrq: number;
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

/** Decode the seed's struct from the attribute's user memory; EFAULT when it is short. */
export function readForwardedIrq(data: Uint8Array | undefined, op: string): KvmArchForwardedIrq {
  if (!(data instanceof Uint8Array) || data.length < 20)
    fail('EFAULT', 'kvm_arch_forwarded_irq not readable', op);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    fd: v.getInt32(0, true),
    index: v.getUint32(4, true),
    start: v.getUint32(8, true),
    count: v.getUint32(12, true),
    gsi: v.getUint32(16, true),
  };
}

/** The device file behind `fd`: EBADF when not open, EINVAL when not a VFIO device. */
export function deviceFileOf(f: KernelFile, op: string): VfioDeviceFile {
  if (!(f instanceof VfioDeviceFile) || f.isReleased) fail('EINVAL', 'not a VFIO device file', op);
  return f;
}

/**
 * The forwarding list of one KVM-VFIO device (kvm_vfio_set_forward() and
 * its inverse in the seed, with the review's lifetime rules).
 */
export class KvmVfioForwarding {
  readonly irqs: KvmVfioFwdIrq[] = [];

  constructor(
    private readonly vm: KvmVm,
    private readonly ops: KvmArchForwardOps,
    private readonly resolve: VfioIrqResolver,
  ) {}

  /**
   * FORWARD_IRQ: count must be 1; an interrupt the device lacks EINVAL; a
   * host irq already forwarded (here or to another VM) EEXIST / EBUSY; a
   * gsi already fed by a forwarded irq EBUSY. The device reference is taken
   * before the arch callout and dropped again if it refuses.
   */
  forward(file: VfioDeviceFile, f: KvmArchForwardedIrq, isLive: () => boolean, op: string): void {
    if (f.count !== 1) fail('EINVAL', `count ${f.count}: one interrupt per call`, op);
    const hostIrq = this.resolve(file.device, f.index, f.start);
    if (hostIrq === undefined) fail('EINVAL', `${file.device.name} has no irq ${f.index}:${f.start}`, op);
    const owner = forwardedHostIrqs(this.vm).get(hostIrq);
    if (owner === this.vm) fail('EEXIST', `host irq ${hostIrq} is already forwarded`, op);
    if (owner !== undefined) fail('EBUSY', `host irq ${hostIrq} is forwarded to another VM`, op);
    if (this.irqs.some((r) => r.gsi === f.gsi)) fail('EBUSY', `gsi ${f.gsi} already has a forwarded irq`, op);
    // Both would program the same arch route: refuse rather than let unforward tear down the bypass's.
    const mgr = this.vm.kvm.irqBypass as { isHostIrqConnected?(irq: number): boolean } | undefined;
    if (mgr?.isHostIrqConnected?.(hostIrq))
      fail('EBUSY', `host irq ${hostIrq} already reaches the guest through IRQ bypass`, op);
    const rec: KvmVfioFwdIrq = {
      file: file.get(),
      index: f.index,
      start: f.start,
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

  /** UNFORWARD_IRQ: ENOENT when this exact forwarding does not exist. */
  unforward(file: VfioDeviceFile, f: KvmArchForwardedIrq, op: string): void {
    const rec = this.irqs.find(
      (r) =>
        r.armed &&
        r.file.device === file.device &&
        r.index === f.index &&
        r.start === f.start &&
        r.gsi === f.gsi,
    );
    if (rec === undefined) fail('ENOENT', `irq ${f.index}:${f.start} -> gsi ${f.gsi} is not forwarded`, op);
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
