import { EventFd, type FdTable, fail } from '@tsvirt/core-bus';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS,
  VFIO_PCI_REQ_IRQ_INDEX,
  type VfioIrqBypass,
  type VfioIrqSet,
} from '@tsvirt/vfio-core';

const IOCTL = 'VFIO_DEVICE_SET_IRQS';
/** offsetofend(struct vfio_irq_set, count). */
const SET_IRQS_MINSZ = 20;
const U32_MAX = 0xffff_ffff;

/** Which of INTx / MSI / MSI-X is in use (vdev->irq_type); they exclude each other. */
export type MpciIrqType = 'none' | 'intx' | 'msi' | 'msix';

/**
 * vfio_set_irqs_validate_and_prepare(): the checks every VFIO bus driver
 * applies to a SET_IRQS header before looking at its data. Returns the
 * data size in bytes (0 for DATA_NONE).
 */
export function vfioSetIrqsValidateAndPrepare(hdr: VfioIrqSet, numIrqs: number, maxIrqType: number): number {
  const { argsz, index, start, count, flags } = hdr;
  if (![argsz, index, start, count, flags].every((v) => Number.isInteger(v) && v >= 0 && v <= U32_MAX))
    fail('EFAULT', 'header fields are not u32', IOCTL);
  if (argsz < SET_IRQS_MINSZ) fail('EINVAL', `argsz ${argsz} < ${SET_IRQS_MINSZ}`, IOCTL);
  if (index >= maxIrqType) fail('EINVAL', `index ${index} >= ${maxIrqType}`, IOCTL);
  if (count >= U32_MAX - start) fail('EINVAL', 'start + count overflows', IOCTL);
  if (flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK))
    fail('EINVAL', `unknown flags 0x${flags.toString(16)}`, IOCTL);
  if (start >= numIrqs || start + count > numIrqs)
    fail('EINVAL', `[${start}, +${count}) outside the ${numIrqs} interrupts of index ${index}`, IOCTL);
  let size: number;
  switch (flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE:
      size = 0;
      break;
    case VFIO_IRQ_SET_DATA_BOOL:
      size = 1;
      break;
    case VFIO_IRQ_SET_DATA_EVENTFD:
      size = 4;
      break;
    default:
      return fail('EINVAL', 'exactly one DATA_ type is needed', IOCTL);
  }
  if (size !== 0 && argsz - SET_IRQS_MINSZ < count * size)
    fail('EINVAL', `argsz ${argsz} has no room for ${count} x ${size} bytes of data`, IOCTL);
  return count * size;
}

/** The data words of a validated header (copy_from_user of the trailing array). */
export function vfioSetIrqsData(hdr: VfioIrqSet): number[] {
  const n = hdr.count;
  if (n === 0 || (hdr.flags & VFIO_IRQ_SET_DATA_NONE) !== 0) return [];
  const d = hdr.data;
  if (d === undefined || d.length < n) fail('EFAULT', `data holds fewer than ${n} entries`, IOCTL);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = Number(d[i]);
    out.push((hdr.flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 ? v & 0xff : v | 0);
  }
  return out;
}

interface Virqfd {
  fd: EventFd;
  stop: () => void;
}

/** Host irq numbers for mediated interrupts (a virq per vector, as pci_irq_vector() gives). */
let nextHostIrq = 1024;

/**
 * A trigger eventfd as an IRQ bypass producer: keyed by the eventfd, with
 * the host irq. While connected to a consumer that takes interrupts
 * directly (a KVM irqfd), an interrupt goes to it without the eventfd.
 */
export class MpciIrqProducer {
  /** The connected bypass consumer, if any. */
  consumer:
    | {
        /** Take the interrupt directly (a KVM irqfd's injection). */
        inject?(): void;
      }
    | undefined;

  constructor(
    /** The trigger eventfd (the bypass token). */
    readonly token: EventFd,
    /** The host interrupt number. */
    readonly irq: number,
    /** The manager it is registered with (unregistered from the same one). */
    readonly manager: VfioIrqBypass,
  ) {}

  /** Connect a bypass consumer. */
  addConsumer(c: object): void {
    this.consumer = c as { inject?(): void };
  }

  /** Disconnect a bypass consumer. */
  delConsumer(c: unknown): void {
    if (this.consumer === c) this.consumer = undefined;
  }

  /** Deliver the interrupt: to the consumer directly, else by signalling the eventfd. */
  fire(): void {
    if (this.consumer?.inject !== undefined) this.consumer.inject();
    else this.token.signal();
  }
}

/**
 * The interrupt lines of one vfio-mpci device, as vfio_pci_intrs.c keeps
 * them: INTx with automasking (the line masks itself each time it fires
 * until user space, or an unmask eventfd, unmasks it), MSI/MSI-X vectors,
 * and the ERR and REQ eventfds. The vendor raises interrupts through
 * `trigger()` / `setIntx()`; user space configures them with SET_IRQS.
 */
export class MpciIrqs {
  /** The interrupt mode in use (none, INTx, MSI or MSI-X). */
  type: MpciIrqType = 'none';
  private intxTrigger: EventFd | undefined;
  /** The line is masked (by the automask or a MASK action). */
  intxMasked = false;
  /** The device asserts INTx (level). */
  private intxLevel = false;
  private intxUnmask: Virqfd | undefined;
  private vectors: (EventFd | undefined)[] = [];
  private errTrigger: EventFd | undefined;
  private reqTrigger: EventFd | undefined;
  /** Bypass producers of the MSI / MSI-X trigger eventfds, by "index:vector". */
  private readonly producers = new Map<string, MpciIrqProducer>();
  private readonly hostIrqs = new Map<string, number>();

  constructor(
    /** vfio_pci_get_irq_count(): interrupts the device has at an index. */
    private readonly countOf: (index: number) => number,
    /** ERR exists only for PCI Express devices. */
    private readonly isPcie: () => boolean,
    /** The host's IRQ bypass manager, read whenever a vector's trigger changes (VfioCore.irqBypass). */
    private readonly bypass: () => VfioIrqBypass | undefined = () => undefined,
  ) {}

  /** Vectors enabled for MSI/MSI-X (0 otherwise). */
  get vectorCount(): number {
    return this.vectors.length;
  }

  /** The eventfd behind an interrupt, for inspection (undefined when none). */
  eventfd(index: number, vector = 0): EventFd | undefined {
    switch (index) {
      case VFIO_PCI_INTX_IRQ_INDEX:
        return this.type === 'intx' ? this.intxTrigger : undefined;
      case VFIO_PCI_MSI_IRQ_INDEX:
        return this.type === 'msi' ? this.vectors[vector] : undefined;
      case VFIO_PCI_MSIX_IRQ_INDEX:
        return this.type === 'msix' ? this.vectors[vector] : undefined;
      case VFIO_PCI_ERR_IRQ_INDEX:
        return this.errTrigger;
      case VFIO_PCI_REQ_IRQ_INDEX:
        return this.reqTrigger;
      default:
        return undefined;
    }
  }

  /** The host irq of interrupt `vector` of `index` (stable for the device's life); undefined if it has none. */
  hostIrq(index: number, vector = 0): number | undefined {
    if (!Number.isInteger(vector) || vector < 0 || vector >= this.countOf(index)) return undefined;
    const key = `${index}:${vector}`;
    let irq = this.hostIrqs.get(key);
    if (irq === undefined) {
      irq = nextHostIrq++;
      this.hostIrqs.set(key, irq);
    }
    return irq;
  }

  /** The bypass producer behind a trigger, if one is registered. */
  producer(index: number, vector = 0): MpciIrqProducer | undefined {
    return this.producers.get(`${index}:${vector}`);
  }

  /**
   * A trigger eventfd changed: unregister the old producer, register one for
   * the new eventfd. Registration failure is not fatal (upstream warns).
   */
  private setProducer(index: number, vector: number, fd: EventFd | undefined): void {
    const key = `${index}:${vector}`;
    const old = this.producers.get(key);
    if (old !== undefined) {
      if (old.token === fd) return;
      this.producers.delete(key);
      old.manager.unregisterProducer(old);
    }
    const manager = this.bypass();
    if (fd === undefined || manager === undefined) return;
    const p = new MpciIrqProducer(fd, this.hostIrq(index, vector) ?? 0, manager);
    try {
      manager.registerProducer(p);
      this.producers.set(key, p);
    } catch {
      // "irq bypass producer registration failed": the eventfd path still works.
    }
  }

  private signal(index: number, vector: number, fd: EventFd): void {
    const p = this.producers.get(`${index}:${vector}`);
    if (p !== undefined && p.token === fd) p.fire();
    else fd.signal();
  }

  // --- the device side ------------------------------------------------------

  /**
   * The device raises interrupt `vector` of `index`. INTx here is a pulse:
   * delivered unless masked, then automasked. Returns whether an eventfd was
   * signalled. Never throws: it runs on the device's (guest-facing) path.
   */
  trigger(index: number, vector = 0): boolean {
    if (index === VFIO_PCI_INTX_IRQ_INDEX) {
      if (this.type !== 'intx' || this.intxMasked) return false;
      return this.fireIntx();
    }
    const fd = this.eventfd(index, vector);
    if (fd === undefined) return false;
    this.signal(index, vector, fd);
    return true;
  }

  /**
   * The device drives its INTx line (level-triggered, as PCI INTx is): a
   * rising level fires unless masked; a line still high when unmasked fires
   * again, as __vfio_pci_intx_unmask() with pci_check_and_unmask_intx().
   */
  setIntx(level: boolean): void {
    const rising = level && !this.intxLevel;
    this.intxLevel = level;
    if (rising && this.type === 'intx' && !this.intxMasked) this.fireIntx();
  }

  private fireIntx(): boolean {
    // vfio_intx_handler(): mask first (automask), then signal.
    this.intxMasked = true;
    if (this.intxTrigger === undefined) return false;
    this.signal(VFIO_PCI_INTX_IRQ_INDEX, 0, this.intxTrigger);
    return true;
  }

  private unmaskIntx(): void {
    if (this.type !== 'intx' || !this.intxMasked) return;
    this.intxMasked = false;
    if (this.intxLevel) this.fireIntx();
  }

  /** vfio_pci_core_request(): ask user space to release the device. */
  request(): boolean {
    if (this.reqTrigger === undefined) return false;
    this.reqTrigger.signal();
    return true;
  }

  // --- the user side: VFIO_DEVICE_SET_IRQS ------------------------------------

  /** vfio_pci_ioctl_set_irqs() + vfio_pci_set_irqs_ioctl(). `fds` resolves eventfd numbers. */
  setIrqs(hdr: VfioIrqSet, fds: FdTable | undefined): number {
    if (hdr === null || typeof hdr !== 'object') fail('EFAULT', 'no argument', IOCTL);
    const num = Number.isInteger(hdr.index) ? this.countOf(hdr.index) : 0;
    vfioSetIrqsValidateAndPrepare(hdr, num, VFIO_PCI_NUM_IRQS);
    const data = vfioSetIrqsData(hdr);
    const { index, start, count, flags } = hdr;
    const action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    const resolve = (fd: number): EventFd => {
      // eventfd_ctx_fdget(): EBADF for a closed fd, EINVAL for one that is not an eventfd.
      if (fds === undefined) fail('EBADF', `fd ${fd} is not open`, IOCTL);
      return fds.getAs(fd, EventFd);
    };
    switch (index) {
      case VFIO_PCI_INTX_IRQ_INDEX:
        if (action === VFIO_IRQ_SET_ACTION_MASK) return this.intxMask(start, count, flags, data);
        if (action === VFIO_IRQ_SET_ACTION_UNMASK)
          return this.intxUnmaskAction(start, count, flags, data, resolve);
        if (action === VFIO_IRQ_SET_ACTION_TRIGGER)
          return this.intxTriggerAction(start, count, flags, data, resolve);
        break;
      case VFIO_PCI_MSI_IRQ_INDEX:
      case VFIO_PCI_MSIX_IRQ_INDEX:
        // MASK/UNMASK of MSI vectors is not supported upstream ("XXX Need masking support exported").
        if (action === VFIO_IRQ_SET_ACTION_TRIGGER)
          return this.msiTrigger(
            index === VFIO_PCI_MSIX_IRQ_INDEX ? 'msix' : 'msi',
            start,
            count,
            flags,
            data,
            resolve,
          );
        break;
      case VFIO_PCI_ERR_IRQ_INDEX:
        if (action === VFIO_IRQ_SET_ACTION_TRIGGER && this.isPcie())
          return this.ctxTriggerSingle('err', start, count, flags, data, resolve);
        break;
      case VFIO_PCI_REQ_IRQ_INDEX:
        if (action === VFIO_IRQ_SET_ACTION_TRIGGER)
          return this.ctxTriggerSingle('req', start, count, flags, data, resolve);
        break;
    }
    return fail('ENOTTY', `no handler for index ${index} action 0x${action.toString(16)}`, IOCTL);
  }

  /** vfio_pci_set_intx_mask(). */
  private intxMask(start: number, count: number, flags: number, data: number[]): number {
    if (this.type !== 'intx' || start !== 0 || count !== 1)
      fail('EINVAL', 'INTx is not enabled, or not [0, 1)', IOCTL);
    if (flags & VFIO_IRQ_SET_DATA_NONE) this.intxMasked = true;
    else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
      if (data[0]) this.intxMasked = true;
    } else fail('ENOTTY', 'masking by eventfd is not implemented upstream', IOCTL);
    return 0;
  }

  /** vfio_pci_set_intx_unmask(): DATA_EVENTFD installs (fd >= 0) or removes an unmask virqfd. */
  private intxUnmaskAction(
    start: number,
    count: number,
    flags: number,
    data: number[],
    resolve: (fd: number) => EventFd,
  ): number {
    if (this.type !== 'intx' || start !== 0 || count !== 1)
      fail('EINVAL', 'INTx is not enabled, or not [0, 1)', IOCTL);
    if (flags & VFIO_IRQ_SET_DATA_NONE) this.unmaskIntx();
    else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
      if (data[0]) this.unmaskIntx();
    } else {
      const fd = data[0]!;
      if (fd >= 0) {
        const efd = resolve(fd);
        this.setUnmaskFd(efd);
      } else {
        this.setUnmaskFd(undefined);
      }
    }
    return 0;
  }

  /** vfio_virqfd_enable()/disable(): a write to the eventfd unmasks; its close tears the virqfd down. */
  private setUnmaskFd(fd: EventFd | undefined): void {
    this.intxUnmask?.stop();
    this.intxUnmask = undefined;
    if (fd === undefined) return;
    const v: Virqfd = {
      fd,
      stop: fd.listen((e) => {
        if (e.closed) {
          if (this.intxUnmask === v) this.intxUnmask = undefined;
          return;
        }
        if (e.value > 0n) e.read();
        this.unmaskIntx();
      }),
    };
    this.intxUnmask = v;
  }

  /** vfio_pci_set_intx_trigger(). */
  private intxTriggerAction(
    start: number,
    count: number,
    flags: number,
    data: number[],
    resolve: (fd: number) => EventFd,
  ): number {
    if (this.type === 'intx' && count === 0 && flags & VFIO_IRQ_SET_DATA_NONE) {
      this.intxDisable();
      return 0;
    }
    if (!(this.type === 'intx' || this.type === 'none') || start !== 0 || count !== 1)
      fail('EINVAL', 'INTx is not free, or not [0, 1)', IOCTL);
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
      const fd = data[0]!;
      // Resolve first, so a bad fd leaves INTx exactly as it was (vfio_intx_set_signal() today).
      const efd = fd >= 0 ? resolve(fd) : undefined;
      if (this.type === 'none') {
        // vfio_intx_enable(): a fresh line, unmasked.
        this.type = 'intx';
        this.intxMasked = false;
      }
      // No bypass producer for INTx: vfio_intx_set_signal() registers none (only MSI/MSI-X vectors do).
      this.intxTrigger = efd;
      return 0;
    }
    if (this.type !== 'intx') fail('EINVAL', 'INTx is not enabled', IOCTL);
    // Loopback: DATA_NONE (or a true BOOL) signals the eventfd as the device would.
    if (flags & VFIO_IRQ_SET_DATA_NONE || data[0]) this.intxTrigger?.signal();
    return 0;
  }

  private intxDisable(): void {
    this.setUnmaskFd(undefined);
    this.intxTrigger = undefined;
    this.intxMasked = false;
    this.type = 'none';
  }

  /** vfio_pci_set_msi_trigger(). */
  private msiTrigger(
    kind: 'msi' | 'msix',
    start: number,
    count: number,
    flags: number,
    data: number[],
    resolve: (fd: number) => EventFd,
  ): number {
    if (this.type === kind && count === 0 && flags & VFIO_IRQ_SET_DATA_NONE) {
      this.dropVectorProducers();
      this.vectors = [];
      this.type = 'none';
      return 0;
    }
    if (!(this.type === kind || this.type === 'none')) fail('EINVAL', `${this.type} is in use`, IOCTL);
    if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
      const enabling = this.type === 'none';
      // vfio_msi_enable(vdev, start + count): the vectors that exist until disabled.
      const nvec = enabling ? start + count : this.vectors.length;
      // pci_alloc_irq_vectors(pdev, 1, 0, ...) is -ERANGE: no vectors enable nothing (fuzz-found:
      // count 0 from start 0 used to leave MSI "on" with no vector).
      if (enabling && nvec === 0) fail('ERANGE', `no ${kind} vectors to enable`, IOCTL);
      if (start + count > nvec)
        fail('EINVAL', `vectors [${start}, +${count}) beyond the ${nvec} enabled`, IOCTL);
      // Resolve every fd before changing anything: upstream's vfio_msi_set_block()
      // would de-assign the vectors it already set; here a failure changes nothing.
      const efds = data.map((fd) => (fd >= 0 ? resolve(fd) : undefined));
      if (enabling) {
        this.type = kind;
        this.vectors = new Array(nvec).fill(undefined);
      }
      const idx = kind === 'msix' ? VFIO_PCI_MSIX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
      for (let i = 0; i < count; i++) {
        this.vectors[start + i] = efds[i];
        this.setProducer(idx, start + i, efds[i]);
      }
      return 0;
    }
    if (this.type !== kind) fail('EINVAL', `${kind} is not enabled`, IOCTL);
    for (let i = start; i < start + count && i < this.vectors.length; i++) {
      if (flags & VFIO_IRQ_SET_DATA_NONE || data[i - start]) this.vectors[i]?.signal();
    }
    return 0;
  }

  /** vfio_pci_set_err_trigger() / vfio_pci_set_req_trigger(): one eventfd each. */
  private ctxTriggerSingle(
    which: 'err' | 'req',
    start: number,
    count: number,
    flags: number,
    data: number[],
    resolve: (fd: number) => EventFd,
  ): number {
    if (start !== 0 || count > 1) fail('EINVAL', 'only [0, 1) exists', IOCTL);
    const cur = which === 'err' ? this.errTrigger : this.reqTrigger;
    const set = (v: EventFd | undefined) => {
      if (which === 'err') this.errTrigger = v;
      else this.reqTrigger = v;
    };
    // vfio_pci_set_ctx_trigger_single(): DATA_NONE/BOOL are loopback tests.
    if (flags & VFIO_IRQ_SET_DATA_NONE) {
      if (cur !== undefined) {
        if (count) cur.signal();
        else set(undefined);
        return 0;
      }
    } else if (flags & VFIO_IRQ_SET_DATA_BOOL) {
      if (!count) fail('EINVAL', 'count 0 with DATA_BOOL', IOCTL);
      if (data[0] && cur !== undefined) cur.signal();
      return 0;
    } else if (flags & VFIO_IRQ_SET_DATA_EVENTFD) {
      if (!count) fail('EINVAL', 'count 0 with DATA_EVENTFD', IOCTL);
      const fd = data[0]!;
      if (fd === -1) set(undefined);
      else if (fd >= 0) set(resolve(fd));
      return 0;
    }
    return fail('EINVAL', `no ${which} eventfd to signal`, IOCTL);
  }

  /** vfio_pci_core_close_device() / remove: every interrupt torn down. */
  disableAll(): void {
    this.intxDisable();
    this.dropVectorProducers();
    this.vectors = [];
    this.errTrigger = undefined;
    this.reqTrigger = undefined;
  }

  /** vfio_msi_disable(): every vector's producer unregistered. */
  private dropVectorProducers(): void {
    for (let v = 0; v < this.vectors.length; v++) {
      this.setProducer(VFIO_PCI_MSI_IRQ_INDEX, v, undefined);
      this.setProducer(VFIO_PCI_MSIX_IRQ_INDEX, v, undefined);
    }
  }
}
