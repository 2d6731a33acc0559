import type { EventFd } from '@tsvirt/core-bus';

/**
 * The IRQ bypass seam (include/linux/irqbypass.h). A producer (a VFIO
 * device's interrupt, signalling an eventfd) and a consumer (a KVM irqfd
 * waiting on that eventfd) are matched by their token, the eventfd itself;
 * when both are present the manager connects them and the interrupt can
 * reach the guest without the eventfd round trip.
 *
 * kvm-core provides the consumer side (each irqfd is one) and calls the
 * manager it was given; the manager itself (matching, connect/disconnect
 * order) belongs to whoever implements IRQ forwarding (kvm-vfio).
 */
export interface IrqBypassProducer {
  /** The eventfd that pairs producer and consumer. */
  readonly token: EventFd;
  /** The host interrupt number the device raises. */
  readonly irq: number;
  /** Connect to a consumer. */
  addConsumer?(c: IrqBypassConsumer): void;
  /** Disconnect from a consumer. */
  delConsumer?(c: IrqBypassConsumer): void;
  /** Pause interrupt delivery while the pair is changed. */
  stop?(): void;
  /** Resume interrupt delivery. */
  start?(): void;
}

/** The consumer side of an IRQ bypass pair (struct irq_bypass_consumer), e.g. KVM's irqfd, matched by eventfd token. */
export interface IrqBypassConsumer {
  /** The eventfd that pairs producer and consumer. */
  readonly token: EventFd;
  /** Connect: called by the manager once a producer with the same token exists. */
  addProducer(p: IrqBypassProducer): void;
  /** Disconnect; must not fail. */
  delProducer(p: IrqBypassProducer): void;
  /** Pause injection while the pair is changed. */
  stop?(): void;
  /** Resume injection. */
  start?(): void;
}

/** What kvm-core needs of a bypass manager (irq_bypass_register_consumer and its inverse). */
export interface IrqBypassManager {
  /** EBUSY when a consumer with the same token is registered; the caller ignores failure, as irqfd does. */
  registerConsumer(c: IrqBypassConsumer): void;
  /** Unregister a consumer, disconnecting any producer. */
  unregisterConsumer(c: IrqBypassConsumer): void;
}
