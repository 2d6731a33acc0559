import { EventFd } from '@tsvirt/core-bus';
import type { KvmDevice } from '@tsvirt/kvm-core';
import type { VfioGroupFile } from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import {
  encodeFd,
  encodeForwardedIrq,
  KVM_DEV_VFIO_DEVICE,
  KVM_DEV_VFIO_DEVICE_FORWARD_IRQ,
  KVM_DEV_VFIO_FILE,
  KVM_DEV_VFIO_FILE_ADD,
} from '../src/index.ts';
import { createVfioDevice, openDevice, openGroup, type World, world } from './helpers.ts';

const code = (c: string) => expect.objectContaining({ code: c });
const MSI = 1;

describe('the IRQ bypass path: device interrupt -> vCPU state without the VMM', () => {
  it('an irqfd on a device trigger eventfd connects; interrupts skip the eventfd; closing the eventfd disconnects', () => {
    const w = world();
    const g = openGroup(w, 5);
    openDevice(w, g, 5);
    const ev = new EventFd();
    const efd = w.fds.install(ev);
    let wakeups = 0;
    ev.listen(() => wakeups++);
    w.irqs[0]!.setTrigger(MSI, 1, ev);
    w.vm.irqfd({ fd: efd, gsi: 33, flags: 0 });
    expect(w.mgr.connections).toBe(1);
    // the consumer's connect reached the arch with plain numbers only
    expect(w.log.calls).toEqual(['add number:133 number:33']);
    w.irqs[0]!.fire(MSI, 1);
    w.irqs[0]!.fire(MSI, 1);
    expect(w.log.raised).toEqual([33, 33]);
    expect(wakeups).toBe(0);
    expect(ev.value).toBe(0n);
    // KVM_IRQFD deassign: back to the eventfd
    w.vm.irqfd({ fd: efd, gsi: 33, flags: 1 });
    expect(w.log.calls).toEqual(['add number:133 number:33', 'del 133 33']);
    expect(w.mgr.connections).toBe(0);
    w.irqs[0]!.fire(MSI, 1);
    expect([wakeups, ev.value, w.log.raised.length]).toEqual([1, 1n, 2]);
    // reconnect, then the VMM closes the eventfd: irqfd goes (EPOLLHUP), the pair disconnects
    ev.read();
    w.vm.irqfd({ fd: efd, gsi: 33, flags: 0 });
    expect(w.mgr.connections).toBe(1);
    w.fds.close(efd);
    expect(w.mgr.connections).toBe(0);
    expect(w.mgr.consumers).toEqual([]);
    expect(w.log.routes.size).toBe(0);
  });

  it('a producer registered after the irqfd connects too, and its removal disconnects', () => {
    const w = world();
    const ev = new EventFd();
    const efd = w.fds.install(ev);
    w.vm.irqfd({ fd: efd, gsi: 7, flags: 0 });
    expect(w.mgr.connections).toBe(0);
    w.irqs[1]!.setTrigger(0, 0, ev);
    expect(w.log.calls).toEqual(['add number:200 number:7']);
    w.irqs[1]!.fire(0, 0);
    expect(w.log.raised).toEqual([7]);
    w.irqs[1]!.setTrigger(0, 0, undefined);
    expect(w.log.calls).toEqual(['add number:200 number:7', 'del 200 7']);
    expect(w.mgr.producers).toEqual([]);
  });
});

/** Everything a dead VM must have given back. */
function expectNothingLeaked(w: World, groups: VfioGroupFile[]) {
  expect(w.kvm.vms).toEqual([]);
  expect(w.vm.noncoherentDmaCount).toBe(0);
  expect(w.log.routes.size).toBe(0);
  expect(w.mgr.connections).toBe(0);
  expect(w.mgr.consumers).toEqual([]);
  expect(w.mgr.producers).toEqual([]);
  for (const g of groups) {
    expect(g.isReleased).toBe(true);
    expect(g.group.kvm).toBeUndefined();
  }
  for (const v of w.vdevs) expect([v.openCount, v.fileRefs]).toEqual([0, 0]);
  expect(w.fds.openCount).toBe(0);
  // every noncoherent flip was undone, and every arch add has its del
  expect(w.log.noncoherent.filter((x) => x).length).toBe(w.log.noncoherent.filter((x) => !x).length);
  const adds = w.log.calls.filter((c) => c.startsWith('add')).length;
  const dels = w.log.calls.filter((c) => c.startsWith('del')).length;
  expect(dels).toBe(adds - w.log.calls.filter((c) => c.includes('refused')).length);
}

describe('VM destroy / VMM death at any point restores everything', () => {
  function setupSteps(w: World) {
    let dev: KvmDevice | undefined;
    const groups: VfioGroupFile[] = [];
    let g5 = -1;
    let g6 = -1;
    let d5 = -1;
    let d6 = -1;
    const ev = [new EventFd(), new EventFd()];
    const add = (fd: number) =>
      dev!.setAttr({
        flags: 0,
        group: KVM_DEV_VFIO_FILE,
        attr: BigInt(KVM_DEV_VFIO_FILE_ADD),
        addr: 0n,
        data: encodeFd(fd),
      });
    const fwd = (fd: number, index: number, subindex: number, gsi: number) =>
      dev!.setAttr({
        flags: 0,
        group: KVM_DEV_VFIO_DEVICE,
        attr: BigInt(KVM_DEV_VFIO_DEVICE_FORWARD_IRQ),
        addr: 0n,
        data: encodeForwardedIrq({ fd, index, subindex, gsi }),
      });
    const steps: (() => void)[] = [
      () => {
        dev = createVfioDevice(w);
      },
      () => {
        g5 = openGroup(w, 5);
        groups.push(w.fds.get(g5) as VfioGroupFile);
      },
      () => add(g5),
      () => {
        g6 = openGroup(w, 6, false);
        groups.push(w.fds.get(g6) as VfioGroupFile);
        add(g6);
      },
      () => {
        d5 = openDevice(w, g5, 5);
        d6 = openDevice(w, g6, 6);
      },
      () => {
        w.irqs[0]!.setTrigger(MSI, 0, ev[0]);
        w.vm.irqfd({ fd: w.fds.install(ev[0]!), gsi: 32, flags: 0 });
      },
      () => fwd(d5, MSI, 1, 40),
      () => fwd(d6, 0, 0, 41),
      () => {
        w.irqs[1]!.setTrigger(MSI, 3, ev[1]);
        w.vm.irqfd({ fd: w.fds.install(ev[1]!), gsi: 33, flags: 0 });
      },
      () => w.fds.close(d5),
    ];
    return { steps, groups };
  }

  it('killing the VMM after every step of the set-up leaks nothing', () => {
    const total = setupSteps(world()).steps.length;
    for (let k = 0; k <= total; k++) {
      const w = world();
      const { steps, groups } = setupSteps(w);
      for (const s of steps.slice(0, k)) s();
      w.fds.closeAll();
      expectNothingLeaked(w, groups);
    }
  });

  it('the VM dying inside the arch callout of a forward: EIO, and the late forward is undone', () => {
    const w = world();
    const { steps, groups } = setupSteps(w);
    for (const s of steps.slice(0, 6)) s();
    w.log.onAdd = () => {
      w.log.onAdd = undefined;
      w.fds.closeAll();
    };
    expect(() => steps[6]!()).toThrow(code('EIO'));
    expectNothingLeaked(w, groups);
  });

  it('the VM dying inside the callout and the arch then refusing: the refusal is returned, nothing leaks', () => {
    const w = world({
      forward: {
        set: () => {
          w.fds.closeAll();
          throw Object.assign(new Error('refused'), { code: 'EINVAL' });
        },
        unset: () => {},
      },
    });
    const { steps, groups } = setupSteps(w);
    for (const s of steps.slice(0, 6)) s();
    expect(() => steps[6]!()).toThrow(code('EINVAL'));
    expectNothingLeaked(w, groups);
  });

  it('closing only the VM fd and the device fd destroys the VM and lets the groups go', () => {
    const w = world();
    const { steps, groups } = setupSteps(w);
    for (const s of steps) s();
    const dev = w.vm.devices[0]!;
    w.fds.close(dev.fd);
    w.fds.close(w.vm.fd);
    expect(w.kvm.vms).toEqual([]);
    expect(w.log.routes.size).toBe(0);
    expect(groups.every((g) => g.group.kvm === undefined && g.fileCount === 1)).toBe(true);
    w.fds.closeAll();
    expectNothingLeaked(w, groups);
  });
});
