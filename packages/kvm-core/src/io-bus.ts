import { AddressBus, type BusDevice, fail } from '@tsvirt/core-bus';
import type { Ioeventfd } from './ioeventfd.ts';
import { NR_IOBUS_DEVS } from './uapi.ts';

/**
 * A KVM I/O bus (struct kvm_io_bus: KVM_MMIO_BUS, KVM_PIO_BUS): what the
 * arch consults before it exits to user space for an MMIO or PIO access.
 * In-kernel device models sit on `devices`, a core-bus AddressBus; the
 * ioeventfds are indexed by their exact address, since several may share one
 * (different datamatch values or lengths) where devices may not overlap.
 */
export class KvmIoBus {
  /** The in-kernel devices on the bus. */
  readonly devices: AddressBus<BusDevice>;
  private readonly eventfds = new Map<number, Ioeventfd[]>();
  private eventfdCount = 0;

  constructor(
    /** Bus name. */
    readonly name: string,
  ) {
    this.devices = new AddressBus(name);
  }

  /** Number of ioeventfds on the bus. */
  get ioeventfdCount(): number {
    return this.eventfdCount;
  }

  /** kvm_io_bus_register_dev() for a device model; ENOSPC past NR_IOBUS_DEVS, EEXIST on overlap. */
  registerDevice(device: BusDevice, addr: number, len: number): void {
    if (this.devices.size >= NR_IOBUS_DEVS) fail('ENOSPC', `${this.name}: bus is full`);
    this.devices.insert(device, addr, len);
  }

  /** Remove the device registered at `addr`. */
  unregisterDevice(addr: number): void {
    this.devices.remove(addr);
  }

  /** The ioeventfds registered at exactly `addr`. */
  ioeventfdsAt(addr: number): readonly Ioeventfd[] {
    return this.eventfds.get(addr) ?? [];
  }

  /** All ioeventfds, in no particular order. */
  allIoeventfds(): Ioeventfd[] {
    return [...this.eventfds.values()].flat();
  }

  /** Add an ioeventfd. */
  addIoeventfd(p: Ioeventfd): void {
    const list = this.eventfds.get(p.addr);
    if (list === undefined) this.eventfds.set(p.addr, [p]);
    else list.push(p);
    this.eventfdCount++;
  }

  /** Remove an ioeventfd. */
  removeIoeventfd(p: Ioeventfd): void {
    const list = this.eventfds.get(p.addr);
    const i = list?.indexOf(p) ?? -1;
    if (list === undefined || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.eventfds.delete(p.addr);
    this.eventfdCount--;
  }

  /**
   * kvm_io_bus_write(): true when an ioeventfd or a device took the write
   * (the guest continues), false when user space must handle it.
   */
  write(addr: number, data: Uint8Array): boolean {
    if (this.eventfdCount !== 0) {
      const list = this.eventfds.get(addr);
      if (list !== undefined) {
        for (const p of list) {
          if (p.matches(data)) {
            p.eventfd.signal();
            return true;
          }
        }
      }
    }
    return this.devices.write(addr, data);
  }

  /** kvm_io_bus_read(): ioeventfds never answer reads. */
  read(addr: number, data: Uint8Array): boolean {
    return this.devices.read(addr, data);
  }
}
