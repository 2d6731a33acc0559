import type { EventFd } from '@tsvirt/core-bus';
import { fail } from '@tsvirt/core-bus';
import type { IrqBypassConsumer, IrqBypassManager, IrqBypassProducer } from '@tsvirt/kvm-core';

/**
 * The IRQ bypass manager (virt/lib/irqbypass.c): producers (a VFIO device's
 * interrupt, which signals an eventfd) and consumers (a KVM irqfd waiting on
 * it) register independently; the two with the same token (the eventfd) are
 * connected, at most one of each per token. Connecting and disconnecting
 * stop both ends first and start them again afterwards, in upstream's order.
 */
export class IrqBypass implements IrqBypassManager {
  private readonly prods = new Map<EventFd, IrqBypassProducer>();
  private readonly conss = new Map<EventFd, IrqBypassConsumer>();
  /** Connected pairs, keyed by token. */
  private readonly links = new Map<EventFd, [IrqBypassProducer, IrqBypassConsumer]>();

  /** The registered producers. */
  get producers(): readonly IrqBypassProducer[] {
    return [...this.prods.values()];
  }

  /** The registered consumers. */
  get consumers(): readonly IrqBypassConsumer[] {
    return [...this.conss.values()];
  }

  /** The consumer a token's producer is connected to, if any. */
  connectedConsumer(token: EventFd): IrqBypassConsumer | undefined {
    return this.links.get(token)?.[1];
  }

  /** Whether a producer raising host irq `irq` is connected (its interrupt already bypasses the VMM). */
  isHostIrqConnected(irq: number): boolean {
    for (const [p] of this.links.values()) if (p.irq === irq) return true;
    return false;
  }

  /** Number of connected producer/consumer pairs. */
  get connections(): number {
    return this.links.size;
  }

  /**
   * irq_bypass_register_producer(): no token EINVAL; the same producer or
   * another with its token EBUSY; when the matching consumer's connect fails
   * the error is returned and the producer is not registered.
   */
  registerProducer(p: IrqBypassProducer): void {
    const OP = 'irq_bypass_register_producer';
    if (p?.token === undefined || p.token === null) fail('EINVAL', 'producer without a token', OP);
    for (const q of this.prods.values())
      if (q === p || q.token === p.token) fail('EBUSY', `eventfd ${p.token.id} already has a producer`, OP);
    const c = this.conss.get(p.token);
    if (c !== undefined) this.connect(p, c);
    this.prods.set(p.token, p);
  }

  /** irq_bypass_unregister_producer(): unknown producers are ignored; disconnects first. */
  unregisterProducer(p: IrqBypassProducer): void {
    if (p?.token === undefined || this.prods.get(p.token) !== p) return;
    const link = this.links.get(p.token);
    if (link !== undefined) this.disconnect(link[0], link[1]);
    this.prods.delete(p.token);
  }

  /**
   * irq_bypass_register_consumer(): no token or no add/del_producer EINVAL;
   * the same consumer or another with its token EBUSY.
   */
  registerConsumer(c: IrqBypassConsumer): void {
    const OP = 'irq_bypass_register_consumer';
    if (c?.token === undefined || c.token === null) fail('EINVAL', 'consumer without a token', OP);
    if (typeof c.addProducer !== 'function' || typeof c.delProducer !== 'function')
      fail('EINVAL', 'consumer without add_producer/del_producer', OP);
    for (const q of this.conss.values())
      if (q === c || q.token === c.token) fail('EBUSY', `eventfd ${c.token.id} already has a consumer`, OP);
    const p = this.prods.get(c.token);
    if (p !== undefined) this.connect(p, c);
    this.conss.set(c.token, c);
  }

  /** irq_bypass_unregister_consumer(). */
  unregisterConsumer(c: IrqBypassConsumer): void {
    if (c?.token === undefined || this.conss.get(c.token) !== c) return;
    const link = this.links.get(c.token);
    if (link !== undefined) this.disconnect(link[0], link[1]);
    this.conss.delete(c.token);
  }

  /**
   * __connect(): stop producer, stop consumer, producer->add_consumer,
   * consumer->add_producer (a failure there undoes add_consumer), then
   * start consumer, start producer, whatever the outcome.
   */
  private connect(p: IrqBypassProducer, c: IrqBypassConsumer): void {
    p.stop?.();
    c.stop?.();
    let err: unknown;
    let ok = false;
    try {
      p.addConsumer?.(c);
      try {
        c.addProducer(p);
        ok = true;
      } catch (e) {
        err = e;
        p.delConsumer?.(c);
      }
    } catch (e) {
      err ??= e;
    }
    c.start?.();
    p.start?.();
    if (!ok) throw err;
    this.links.set(p.token, [p, c]);
  }

  /** __disconnect(): stop both, consumer->del_producer, producer->del_consumer, start both. */
  private disconnect(p: IrqBypassProducer, c: IrqBypassConsumer): void {
    this.links.delete(p.token);
    p.stop?.();
    c.stop?.();
    c.delProducer(p);
    p.delConsumer?.(c);
    c.start?.();
    p.start?.();
  }
}

/** The host's one bypass manager (irqbypass.c keeps its lists module-wide). */
export const irqBypass = new IrqBypass();
