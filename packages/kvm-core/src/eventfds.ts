import { EventFd, fail } from '@tsvirt/core-bus';
import { Ioeventfd } from './ioeventfd.ts';
import { KvmIrqfd } from './irqfd.ts';
import type { KvmIoeventfd, KvmIrqfd as KvmIrqfdArgs } from './structs.ts';
import {
  KVM_IOEVENTFD_FLAG_DATAMATCH,
  KVM_IOEVENTFD_FLAG_DEASSIGN,
  KVM_IOEVENTFD_FLAG_PIO,
  KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY,
  KVM_IOEVENTFD_VALID_FLAG_MASK,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQFD_FLAG_RESAMPLE,
} from './uapi.ts';
import type { KvmVm } from './vm.ts';

/** enum kvm_bus indices. */
export const KVM_MMIO_BUS = 0;
/** Port I/O bus. */
export const KVM_PIO_BUS = 1;
/** s390 virtio-ccw notification bus. */
export const KVM_VIRTIO_CCW_NOTIFY_BUS = 2;

/** eventfd_ctx_fdget(): EBADF for a closed fd, EINVAL for a file that is not an eventfd. */
function eventfdFromFd(vm: KvmVm, fd: number, syscall: string): EventFd {
  try {
    return vm.files.getAs(fd, EventFd, 'EINVAL');
  } catch (e) {
    (e as { syscall?: string }).syscall ??= syscall;
    throw e;
  }
}

/** KVM_IRQFD (kvm_irqfd()). */
export function kvmIrqfd(vm: KvmVm, args: KvmIrqfdArgs): void {
  const S = 'KVM_IRQFD';
  if (args.flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
    fail('EINVAL', `unknown flags 0x${args.flags.toString(16)}`, S);
  if (args.flags & KVM_IRQFD_FLAG_DEASSIGN) {
    kvmIrqfdDeassign(vm, args);
    return;
  }
  // kvm_irqfd_assign()
  const arch = vm.archOps;
  if (arch.intcInitialized !== undefined && !arch.intcInitialized(vm))
    fail('EAGAIN', 'the interrupt controller is not initialised', S);
  if (arch.setIrq === undefined) fail('EINVAL', 'the arch cannot inject interrupts', S);
  // This model has no level-triggered resampler (KVM_CAP_IRQFD_RESAMPLE reads 0).
  if (args.flags & KVM_IRQFD_FLAG_RESAMPLE) fail('EINVAL', 'KVM_IRQFD_FLAG_RESAMPLE is not supported', S);
  const eventfd = eventfdFromFd(vm, args.fd, S);
  if (vm.irqfds.some((i) => i.eventfd === eventfd))
    fail('EBUSY', `eventfd ${args.fd} already drives an interrupt`, S);
  const irqfd = new KvmIrqfd(vm, eventfd, args.gsi);
  vm.irqfds.push(irqfd);
  irqfd.activate((i) => irqfdShutdown(vm, i));
  // irq_bypass_register_consumer(): a failure is logged, never returned.
  const mgr = vm.kvm.irqBypass;
  if (mgr !== undefined && !irqfd.eventfd.closed) {
    try {
      mgr.registerConsumer(irqfd);
      irqfd.bypassRegistered = true;
    } catch {
      irqfd.bypassRegistered = false;
    }
  }
}

/** kvm_irqfd_deassign(): every irqfd on (eventfd, gsi) goes; none is not an error. */
function kvmIrqfdDeassign(vm: KvmVm, args: KvmIrqfdArgs): void {
  const eventfd = eventfdFromFd(vm, args.fd, 'KVM_IRQFD');
  for (const i of [...vm.irqfds]) if (i.eventfd === eventfd && i.gsi === args.gsi) irqfdShutdown(vm, i);
}

/** irqfd_deactivate() + irqfd_shutdown(): unhook from the bypass manager and the eventfd. */
export function irqfdShutdown(vm: KvmVm, irqfd: KvmIrqfd): void {
  const at = vm.irqfds.indexOf(irqfd);
  if (at < 0) return;
  vm.irqfds.splice(at, 1);
  if (irqfd.bypassRegistered) {
    irqfd.bypassRegistered = false;
    vm.kvm.irqBypass?.unregisterConsumer(irqfd);
  }
  irqfd.deactivate();
}

function ioeventfdBus(vm: KvmVm, flags: number) {
  if (flags & KVM_IOEVENTFD_FLAG_PIO) return { idx: KVM_PIO_BUS, bus: vm.pioBus };
  if (flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY) return { idx: KVM_VIRTIO_CCW_NOTIFY_BUS, bus: vm.ccwBus };
  return { idx: KVM_MMIO_BUS, bus: vm.mmioBus };
}

/** KVM_IOEVENTFD (kvm_ioeventfd()). */
export function kvmIoeventfd(vm: KvmVm, args: KvmIoeventfd): void {
  const S = 'KVM_IOEVENTFD';
  if (typeof args.addr !== 'bigint' || args.addr < 0n || args.addr >= 1n << 64n)
    fail('EINVAL', 'addr is not a u64', S);
  const { idx, bus } = ioeventfdBus(vm, args.flags);
  const dm = args.flags & KVM_IOEVENTFD_FLAG_DATAMATCH;
  if (args.flags & KVM_IOEVENTFD_FLAG_DEASSIGN) {
    // kvm_deassign_ioeventfd_idx(): the exact registration, or ENOENT.
    const eventfd = eventfdFromFd(vm, args.fd, S);
    const addr = Number(args.addr);
    const p = bus
      .ioeventfdsAt(addr)
      .find(
        (p) =>
          p.eventfd === eventfd &&
          p.length === args.len &&
          p.wildcard === !dm &&
          (p.wildcard || p.datamatch === args.datamatch),
      );
    if (p === undefined) fail('ENOENT', 'no such ioeventfd', S);
    bus.removeIoeventfd(p);
    return;
  }
  // kvm_assign_ioeventfd()
  if (![0, 1, 2, 4, 8].includes(args.len)) fail('EINVAL', `len ${args.len} is not 0, 1, 2, 4 or 8`, S);
  if (args.addr + BigInt(args.len) >= 1n << 64n) fail('EINVAL', 'range wraps', S);
  if (args.flags & ~KVM_IOEVENTFD_VALID_FLAG_MASK)
    fail('EINVAL', `unknown flags 0x${args.flags.toString(16)}`, S);
  if (args.len === 0 && dm) fail('EINVAL', 'DATAMATCH needs a length', S);
  const eventfd = eventfdFromFd(vm, args.fd, S);
  const datamatch = dm ? BigInt.asUintN(64, args.datamatch) : undefined;
  const p = new Ioeventfd(idx, Number(args.addr), args.len, eventfd, datamatch);
  for (const o of bus.ioeventfdsAt(p.addr))
    if (o.collides(p)) fail('EEXIST', 'an ioeventfd already answers these writes', S);
  bus.addIoeventfd(p);
}
