import { type BusDevice, EventFd } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  type IrqBypassConsumer,
  type IrqBypassManager,
  KVM_EXIT_MMIO,
  KVM_IOEVENTFD,
  KVM_IOEVENTFD_FLAG_DATAMATCH,
  KVM_IOEVENTFD_FLAG_DEASSIGN,
  KVM_IOEVENTFD_FLAG_PIO,
  KVM_IRQ_LINE,
  KVM_IRQFD,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQFD_FLAG_RESAMPLE,
  type KvmIoeventfd,
} from '../src/index.ts';
import { fakeState } from './fake-arch.ts';
import { setup } from './helpers.ts';

describe('KVM_IRQFD', () => {
  it('a signal injects an edge on the gsi and consumes the count', () => {
    const { vm, arch, files } = setup();
    const ev = new EventFd();
    const fd = files.install(ev);
    vm.ioctl(KVM_IRQFD, { fd, gsi: 5, flags: 0 });
    ev.signal();
    ev.write(3n);
    expect(arch.irqs).toEqual([
      { gsi: 5, level: 1 },
      { gsi: 5, level: 0 },
      { gsi: 5, level: 1 },
      { gsi: 5, level: 0 },
    ]);
    expect(ev.value).toBe(0n);
  });

  it('a signal pending before assignment is delivered at once', () => {
    const { vm, arch, files } = setup();
    const ev = new EventFd(1n);
    vm.irqfd({ fd: files.install(ev), gsi: 2, flags: 0 });
    expect(arch.irqs).toEqual([
      { gsi: 2, level: 1 },
      { gsi: 2, level: 0 },
    ]);
  });

  it('errors: EBADF, EINVAL (not an eventfd, bad flags, RESAMPLE), EBUSY (eventfd in use), EAGAIN (no intc)', () => {
    const { vm, arch, files } = setup();
    const ev = new EventFd();
    const fd = files.install(ev);
    expect(errnoOf(() => vm.irqfd({ fd: 99, gsi: 1, flags: 0 }))).toBe('EBADF');
    const notEv = files.install({});
    expect(errnoOf(() => vm.irqfd({ fd: notEv, gsi: 1, flags: 0 }))).toBe('EINVAL');
    expect(errnoOf(() => vm.irqfd({ fd, gsi: 1, flags: 4 }))).toBe('EINVAL');
    expect(errnoOf(() => vm.irqfd({ fd, gsi: 1, flags: KVM_IRQFD_FLAG_RESAMPLE, resamplefd: fd }))).toBe(
      'EINVAL',
    );
    arch.intcReady = false;
    expect(errnoOf(() => vm.irqfd({ fd, gsi: 1, flags: 0 }))).toBe('EAGAIN');
    arch.intcReady = true;
    expect(vm.irqfds).toHaveLength(0);
    vm.irqfd({ fd, gsi: 1, flags: 0 });
    expect(errnoOf(() => vm.irqfd({ fd, gsi: 2, flags: 0 }))).toBe('EBUSY');
    expect(vm.irqfds).toHaveLength(1);
    expect(ev.listenerCount).toBe(1);
  });

  it('deassign removes the (eventfd, gsi) pair; an unknown pair is not an error', () => {
    const { vm, arch, files } = setup();
    const ev = new EventFd();
    const fd = files.install(ev);
    vm.irqfd({ fd, gsi: 1, flags: 0 });
    vm.irqfd({ fd, gsi: 2, flags: KVM_IRQFD_FLAG_DEASSIGN });
    expect(vm.irqfds).toHaveLength(1);
    vm.irqfd({ fd, gsi: 1, flags: KVM_IRQFD_FLAG_DEASSIGN });
    expect(vm.irqfds).toHaveLength(0);
    expect(ev.listenerCount).toBe(0);
    ev.signal();
    expect(arch.irqs).toEqual([]);
    expect(errnoOf(() => vm.irqfd({ fd: 42, gsi: 1, flags: KVM_IRQFD_FLAG_DEASSIGN }))).toBe('EBADF');
  });

  it('closing the eventfd (EPOLLHUP) tears the irqfd down; the eventfd may then be reused', () => {
    const { vm, files } = setup();
    const fd = files.install(new EventFd());
    vm.irqfd({ fd, gsi: 1, flags: 0 });
    files.close(fd);
    expect(vm.irqfds).toHaveLength(0);
    const fd2 = files.install(new EventFd());
    vm.irqfd({ fd: fd2, gsi: 1, flags: 0 });
    expect(vm.irqfds).toHaveLength(1);
  });

  it('KVM_IRQ_LINE drives the arch line', () => {
    const { vm, arch } = setup();
    vm.ioctl(KVM_IRQ_LINE, { irq: 9, level: 1 });
    expect(arch.irqs).toEqual([{ gsi: 9, level: 1 }]);
  });

  it('IRQ bypass seam: each irqfd registers as a consumer keyed by its eventfd; the arch sees (host irq, gsi)', () => {
    const consumers = new Map<EventFd, IrqBypassConsumer>();
    const mgr: IrqBypassManager = {
      registerConsumer(c) {
        if (consumers.has(c.token)) throw new Error('EBUSY');
        consumers.set(c.token, c);
      },
      unregisterConsumer(c) {
        consumers.delete(c.token);
      },
    };
    const { vm, arch, files, kvm } = setup();
    kvm.irqBypass = mgr;
    const ev = new EventFd();
    const fd = files.install(ev);
    vm.irqfd({ fd, gsi: 3, flags: 0 });
    const c = consumers.get(ev)!;
    expect(c).toBe(vm.irqfds[0]);
    const producer = { token: ev, irq: 77 };
    c.addProducer(producer);
    expect(arch.bypass).toEqual(['add:77:3']);
    c.delProducer(producer);
    expect(arch.bypass).toEqual(['add:77:3', 'del:77:3']);
    vm.irqfd({ fd, gsi: 3, flags: KVM_IRQFD_FLAG_DEASSIGN });
    expect(consumers.size).toBe(0);
  });
});

function ioe(fd: number, addr: bigint, len: number, flags = 0, datamatch = 0n): KvmIoeventfd {
  return { fd, addr, len, flags, datamatch };
}

describe('KVM_IOEVENTFD', () => {
  it('a matching guest write signals the eventfd instead of exiting', () => {
    const { vm, files } = setup();
    const ev = new EventFd();
    const fd = files.install(ev);
    vm.ioctl(KVM_IOEVENTFD, ioe(fd, 0x1000_0050n, 4, KVM_IOEVENTFD_FLAG_DATAMATCH, 0x2n));
    const v = vm.createVcpu(0);
    fakeState(v).program.push(
      { op: 'store', gpa: 0x1000_0050, data: [2, 0, 0, 0] },
      { op: 'store', gpa: 0x1000_0050, data: [3, 0, 0, 0] },
    );
    v.kvmRun();
    expect(ev.value).toBe(1n);
    expect(v.run.exit_reason).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio.data[0]).toBe(3);
  });

  it('matching rules: exact address, exact length unless len 0, wildcard without DATAMATCH', () => {
    const { vm, files } = setup();
    const a = new EventFd();
    const b = new EventFd();
    vm.ioeventfd(ioe(files.install(a), 0x100n, 2));
    vm.ioeventfd(ioe(files.install(b), 0x200n, 0));
    expect(vm.mmioBus.write(0x100, Uint8Array.of(1, 2))).toBe(true);
    expect(vm.mmioBus.write(0x100, Uint8Array.of(1))).toBe(false);
    expect(vm.mmioBus.write(0x101, Uint8Array.of(1))).toBe(false);
    expect(vm.mmioBus.write(0x200, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toBe(true);
    expect(vm.mmioBus.read(0x100, new Uint8Array(2))).toBe(false);
    expect([a.value, b.value]).toEqual([1n, 1n]);
  });

  it('len 8 datamatch compares all 64 bits; PIO goes to the PIO bus only', () => {
    const { vm, files } = setup();
    const a = new EventFd();
    const fa = files.install(a);
    vm.ioeventfd(ioe(fa, 0x300n, 8, KVM_IOEVENTFD_FLAG_DATAMATCH, 0x8000_0000_0000_0001n));
    vm.ioeventfd(ioe(fa, 0x60n, 1, KVM_IOEVENTFD_FLAG_PIO));
    expect(vm.mmioBus.write(0x300, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0))).toBe(false);
    expect(vm.mmioBus.write(0x300, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0x80))).toBe(true);
    expect(vm.mmioBus.write(0x60, Uint8Array.of(1))).toBe(false);
    expect(vm.pioBus.write(0x60, Uint8Array.of(1))).toBe(true);
    expect(a.value).toBe(2n);
  });

  it('errors on assign: EINVAL (len, flags, wrap, DATAMATCH with len 0, not an eventfd), EBADF', () => {
    const { vm, files } = setup();
    const fd = files.install(new EventFd());
    for (const len of [3, 5, 16]) expect(errnoOf(() => vm.ioeventfd(ioe(fd, 0x100n, len)))).toBe('EINVAL');
    expect(errnoOf(() => vm.ioeventfd(ioe(fd, 0x100n, 4, 1 << 4)))).toBe('EINVAL');
    expect(errnoOf(() => vm.ioeventfd(ioe(fd, (1n << 64n) - 2n, 4)))).toBe('EINVAL');
    expect(errnoOf(() => vm.ioeventfd(ioe(fd, 0x100n, 0, KVM_IOEVENTFD_FLAG_DATAMATCH)))).toBe('EINVAL');
    expect(errnoOf(() => vm.ioeventfd(ioe(files.install({}), 0x100n, 4)))).toBe('EINVAL');
    expect(errnoOf(() => vm.ioeventfd(ioe(77, 0x100n, 4)))).toBe('EBADF');
    expect(vm.mmioBus.ioeventfdCount).toBe(0);
  });

  it('EEXIST for a colliding registration, whatever the eventfd', () => {
    const { vm, files } = setup();
    const f1 = files.install(new EventFd());
    const f2 = files.install(new EventFd());
    const DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
    vm.ioeventfd(ioe(f1, 0x100n, 4, DM, 1n));
    vm.ioeventfd(ioe(f2, 0x100n, 4, DM, 2n)); // other value: fine
    vm.ioeventfd(ioe(f2, 0x100n, 2)); // other length: fine
    expect(errnoOf(() => vm.ioeventfd(ioe(f2, 0x100n, 4, DM, 1n)))).toBe('EEXIST');
    expect(errnoOf(() => vm.ioeventfd(ioe(f2, 0x100n, 4)))).toBe('EEXIST'); // wildcard vs values
    expect(errnoOf(() => vm.ioeventfd(ioe(f2, 0x100n, 0)))).toBe('EEXIST'); // len 0 vs any
    vm.ioeventfd(ioe(f1, 0x100n, 4, KVM_IOEVENTFD_FLAG_PIO)); // other bus: fine
    expect(vm.mmioBus.ioeventfdCount).toBe(3);
  });

  it('deassign needs the exact registration, else ENOENT', () => {
    const { vm, files } = setup();
    const ev = new EventFd();
    const f1 = files.install(ev);
    const f2 = files.install(new EventFd());
    const DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
    const DE = KVM_IOEVENTFD_FLAG_DEASSIGN;
    vm.ioeventfd(ioe(f1, 0x100n, 4, DM, 1n));
    expect(errnoOf(() => vm.ioeventfd(ioe(f2, 0x100n, 4, DM | DE, 1n)))).toBe('ENOENT');
    expect(errnoOf(() => vm.ioeventfd(ioe(f1, 0x100n, 4, DM | DE, 2n)))).toBe('ENOENT');
    expect(errnoOf(() => vm.ioeventfd(ioe(f1, 0x100n, 4, DE)))).toBe('ENOENT');
    expect(errnoOf(() => vm.ioeventfd(ioe(f1, 0x100n, 2, DM | DE, 1n)))).toBe('ENOENT');
    expect(vm.mmioBus.ioeventfdCount).toBe(1);
    vm.ioeventfd(ioe(f1, 0x100n, 4, DM | DE, 1n));
    expect(vm.mmioBus.ioeventfdCount).toBe(0);
    expect(vm.mmioBus.write(0x100, Uint8Array.of(1, 0, 0, 0))).toBe(false);
    expect(ev.value).toBe(0n);
  });

  it('in-kernel devices on the MMIO bus take accesses before user space', () => {
    const { vm } = setup();
    const dev: BusDevice & { last: number } = {
      last: -1,
      read: (off, d) => {
        d[0] = 0x5a + off;
      },
      write: (off) => {
        dev.last = off;
      },
    };
    vm.mmioBus.registerDevice(dev, 0x4000, 0x100);
    const v = vm.createVcpu(0);
    fakeState(v).program.push(
      { op: 'load', gpa: 0x4001, len: 1, reg: 'x' },
      { op: 'store', gpa: 0x4010, data: [1] },
    );
    v.kvmRun();
    expect(fakeState(v).regs.get('x')).toBe(0x5bn);
    expect(dev.last).toBe(0x10);
  });
});
