import type { EventFd } from '@tsvirt/core-bus';
import type { IrqBypassConsumer, IrqBypassProducer } from '@tsvirt/kvm-core';

/** A consumer that can take an interrupt directly (a KVM irqfd: kvm-core's KvmIrqfd.inject). */
interface DirectConsumer extends IrqBypassConsumer {
  inject?(): void;
}

/**
 * The producer side of a VFIO device interrupt, as vfio-pci registers one
 * per MSI vector (vfio_msi_set_vector_signal()): keyed by the trigger
 * eventfd, carrying the host irq. While connected to a consumer that can
 * take interrupts directly, `fire()` hands the interrupt over without the
 * eventfd round trip (the posted-interrupt path); otherwise, or while
 * stopped, it signals the eventfd as the device's handler would.
 */
export class EventfdIrqProducer implements IrqBypassProducer {
  private consumer: DirectConsumer | undefined;
  private stopped = false;
  /** Interrupts raised while stopped (handed over when started again). */
  private pending = 0;

  constructor(
    /** The trigger eventfd (the bypass token). */
    readonly token: EventFd,
    /** The host interrupt number. */
    readonly irq: number,
  ) {}

  /** Whether a consumer is connected. */
  get connected(): boolean {
    return this.consumer !== undefined;
  }

  /** Connect a consumer. */
  addConsumer(c: IrqBypassConsumer): void {
    this.consumer = c;
  }

  /** Disconnect a consumer. */
  delConsumer(c: IrqBypassConsumer): void {
    if (this.consumer === c) this.consumer = undefined;
  }

  /** The interrupt is held off while the manager rewires it (disable_irq). */
  stop(): void {
    this.stopped = true;
  }

  /** enable_irq(): an interrupt that came in meanwhile is delivered now, on the new path. */
  start(): void {
    this.stopped = false;
    const n = this.pending;
    this.pending = 0;
    for (let i = 0; i < n; i++) this.fire();
  }

  /** The device raised the interrupt. Never throws (the device's path). */
  fire(): void {
    if (this.stopped) {
      this.pending++;
      return;
    }
    const c = this.consumer;
    if (c?.inject !== undefined) c.inject();
    else this.token.signal();
  }
}
