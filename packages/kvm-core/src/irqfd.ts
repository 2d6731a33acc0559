import type { EventFd } from '@tsvirt/core-bus';
import type { IrqBypassConsumer, IrqBypassProducer } from './irq-bypass.ts';
import type { KvmVm } from './vm.ts';

/**
 * struct kvm_kernel_irqfd: an eventfd whose signal raises guest interrupt
 * `gsi` (irqfd_wakeup -> irqfd_inject, an edge: line high then low), and
 * which tears itself down when the eventfd closes (EPOLLHUP). It is also an
 * IRQ bypass consumer keyed by its eventfd.
 */
export class KvmIrqfd implements IrqBypassConsumer {
  private unlisten: (() => void) | undefined;
  /** The connected bypass producer, if any. */
  producer: IrqBypassProducer | undefined;
  /** Set once registered with the bypass manager (registration failure is not fatal). */
  bypassRegistered = false;
  /** Interrupts injected through this irqfd (for tests and statistics). */
  injected = 0;

  constructor(
    /** The VM the interrupt goes to. */
    readonly vm: KvmVm,
    /** The eventfd that triggers it. */
    readonly eventfd: EventFd,
    /** The guest interrupt (GSI). */
    readonly gsi: number,
  ) {}

  /** The bypass token: the eventfd. */
  get token(): EventFd {
    return this.eventfd;
  }

  /** Hook the eventfd's wait queue; a signal already pending is delivered now, as irqfd_assign does. */
  activate(onHup: (irqfd: KvmIrqfd) => void): void {
    this.unlisten = this.eventfd.listen((fd) => {
      if (fd.closed) onHup(this);
      else this.wakeup();
    });
    if (this.eventfd.value > 0n) this.wakeup();
  }

  /** irqfd_wakeup(EPOLLIN): consume the count and inject. */
  private wakeup(): void {
    if (this.eventfd.value > 0n) this.eventfd.read();
    this.inject();
  }

  /** Inject the interrupt as an edge: raise and lower the GSI. */
  inject(): void {
    this.injected++;
    this.vm.setIrq(this.gsi, 1);
    this.vm.setIrq(this.gsi, 0);
  }

  /** Unhook from the eventfd (irqfd_shutdown). */
  deactivate(): void {
    this.unlisten?.();
    this.unlisten = undefined;
  }

  /** kvm_arch_irq_bypass_add_producer() via the consumer callback. */
  addProducer(p: IrqBypassProducer): void {
    this.producer = p;
    this.vm.archOps.irqBypassAddProducer?.(this.vm, p.irq, this.gsi);
  }

  delProducer(p: IrqBypassProducer): void {
    if (this.producer !== p) return;
    this.vm.archOps.irqBypassDelProducer?.(this.vm, p.irq, this.gsi);
    this.producer = undefined;
  }
}
