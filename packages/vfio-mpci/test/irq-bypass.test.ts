import { EventFd, FdTable } from '@tsvirt/core-bus';
import {
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_MSIX_IRQ_INDEX,
} from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import { type MpciIrqProducer, MpciIrqs } from '../src/index.ts';

// The producer side of IRQ bypass (vfio_msi_set_vector_signal() registering
// each trigger eventfd with the bypass manager), with a recording manager.
class RecordingBypass {
  readonly live = new Map<EventFd, MpciIrqProducer>();
  readonly log: string[] = [];
  refuse = false;
  registerProducer(p: MpciIrqProducer): void {
    this.log.push(`reg ${p.irq}`);
    if (this.refuse) throw new Error('EBUSY');
    this.live.set(p.token, p);
  }
  unregisterProducer(p: MpciIrqProducer): void {
    this.log.push(`unreg ${p.irq}`);
    this.live.delete(p.token);
  }
}

const counts = [1, 4, 8, 1, 1];
const set = (index: number, flags: number, start: number, data: number[]) => ({
  argsz: 20 + 4 * data.length,
  flags: flags | VFIO_IRQ_SET_ACTION_TRIGGER,
  index,
  start,
  count: data.length,
  data,
});
/** MpciIrqs as the driver makes them, with the host's manager (VfioCore.irqBypass) behind `manager()`. */
const newIrqs = (manager: () => RecordingBypass | undefined) =>
  new MpciIrqs(
    (i) => counts[i] ?? 0,
    () => true,
    manager,
  );

describe('vfio-mpci trigger eventfds as IRQ bypass producers', () => {
  it('each MSI/MSI-X vector trigger registers a producer with a stable host irq; disabling unregisters', () => {
    const m = new RecordingBypass();
    const irqs = newIrqs(() => m);
    const fds = new FdTable();
    const e = [new EventFd(), new EventFd()];
    const fd = e.map((x) => fds.install(x));
    irqs.setIrqs(set(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 0, [fd[0]!, -1, fd[1]!]), fds);
    const h0 = irqs.hostIrq(VFIO_PCI_MSI_IRQ_INDEX, 0)!;
    const h2 = irqs.hostIrq(VFIO_PCI_MSI_IRQ_INDEX, 2)!;
    expect(h0).not.toBe(h2);
    expect(m.log).toEqual([`reg ${h0}`, `reg ${h2}`]);
    expect(irqs.producer(VFIO_PCI_MSI_IRQ_INDEX, 2)?.token).toBe(e[1]);
    expect(irqs.hostIrq(VFIO_PCI_MSI_IRQ_INDEX, 4)).toBeUndefined();
    irqs.setIrqs(set(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE, 0, []), fds);
    expect(m.live.size).toBe(0);
    expect(irqs.hostIrq(VFIO_PCI_MSI_IRQ_INDEX, 0)).toBe(h0);
    irqs.setIrqs(set(VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 5, [fd[1]!]), fds);
    expect(m.live.get(e[1]!)?.irq).toBe(irqs.hostIrq(VFIO_PCI_MSIX_IRQ_INDEX, 5));
    irqs.disableAll();
    expect(m.live.size).toBe(0);
  });

  it('INTx registers no producer (vfio_intx_set_signal() has none): its interrupts always take the eventfd', () => {
    const m = new RecordingBypass();
    const irqs = newIrqs(() => m);
    const fds = new FdTable();
    const ev = new EventFd();
    irqs.setIrqs(set(VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 0, [fds.install(ev)]), fds);
    expect(m.log).toEqual([]);
    expect(irqs.producer(VFIO_PCI_INTX_IRQ_INDEX, 0)).toBeUndefined();
    irqs.trigger(VFIO_PCI_INTX_IRQ_INDEX, 0);
    expect(ev.value).toBe(1n);
  });

  it('connected to a direct consumer, an interrupt skips the eventfd; a refused registration keeps the eventfd path', () => {
    const m = new RecordingBypass();
    const irqs = newIrqs(() => m);
    const fds = new FdTable();
    const ev = new EventFd();
    irqs.setIrqs(set(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 0, [fds.install(ev)]), fds);
    let injected = 0;
    const consumer = { inject: () => injected++ };
    m.live.get(ev)!.addConsumer(consumer);
    irqs.trigger(VFIO_PCI_MSI_IRQ_INDEX, 0);
    expect([injected, ev.value]).toEqual([1, 0n]);
    m.live.get(ev)!.delConsumer(consumer);
    irqs.trigger(VFIO_PCI_MSI_IRQ_INDEX, 0);
    expect([injected, ev.value]).toEqual([1, 1n]);
    // a manager that refuses the producer: that vector keeps the eventfd path
    m.refuse = true;
    const ev2 = new EventFd();
    irqs.setIrqs(set(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE, 0, []), fds);
    irqs.setIrqs(set(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 0, [fds.install(ev2)]), fds);
    expect(irqs.producer(VFIO_PCI_MSI_IRQ_INDEX, 0)).toBeUndefined();
    irqs.trigger(VFIO_PCI_MSI_IRQ_INDEX, 0);
    expect(ev2.value).toBe(1n);
  });

  it('a producer is unregistered from the manager it was registered with, even after the host changed managers', () => {
    const first = new RecordingBypass();
    const second = new RecordingBypass();
    let current: RecordingBypass | undefined = first;
    const irqs = newIrqs(() => current);
    const fds = new FdTable();
    const ev = new EventFd();
    irqs.setIrqs(set(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 0, [fds.install(ev)]), fds);
    current = second;
    irqs.setIrqs(
      set(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 0, [fds.install(new EventFd())]),
      fds,
    );
    expect(first.live.size).toBe(0);
    expect(first.log).toHaveLength(2);
    expect(second.live.size).toBe(1);
    current = undefined;
    irqs.disableAll();
    expect(second.live.size).toBe(0);
  });

  it('without a manager nothing registers and interrupts use the eventfd', () => {
    const irqs = newIrqs(() => undefined);
    const fds = new FdTable();
    const ev = new EventFd();
    irqs.setIrqs(set(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD, 0, [fds.install(ev)]), fds);
    expect(irqs.producer(VFIO_PCI_MSI_IRQ_INDEX, 0)).toBeUndefined();
    irqs.trigger(VFIO_PCI_MSI_IRQ_INDEX, 0);
    expect(ev.value).toBe(1n);
  });
});
