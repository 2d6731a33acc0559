import { EventFd } from '@tsvirt/core-bus';
import type { VfioDeviceFile, VfioGroupFile } from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import {
  encodeFd,
  encodeForwardedIrq,
  KVM_DEV_VFIO_DEVICE,
  KVM_DEV_VFIO_DEVICE_FORWARD_IRQ,
  KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ,
  KVM_DEV_VFIO_FILE,
  KVM_DEV_VFIO_FILE_ADD,
  type KvmArchForwardedIrq,
  kvmVfioOf,
} from '../src/index.ts';
import { createVfioDevice, openDevice, openGroup, type World, world } from './helpers.ts';

const code = (c: string) => expect.objectContaining({ code: c });
const MSI = 1;
const INTX = 0;

function fwdAttr(attr: number, f: Partial<KvmArchForwardedIrq> & { fd: number }) {
  const full = { index: MSI, start: 0, count: 1, gsi: 40, ...f };
  return {
    flags: 0,
    group: KVM_DEV_VFIO_DEVICE,
    attr: BigInt(attr),
    addr: 0x2000n,
    data: encodeForwardedIrq(full),
  };
}
const FWD = KVM_DEV_VFIO_DEVICE_FORWARD_IRQ;
const UNFWD = KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ;

/** A VM with the KVM-VFIO device, group 5 added and its device open. */
function ready(w: World = world()) {
  const dev = createVfioDevice(w);
  const gfd = openGroup(w, 5);
  dev.setAttr({
    flags: 0,
    group: KVM_DEV_VFIO_FILE,
    attr: BigInt(KVM_DEV_VFIO_FILE_ADD),
    addr: 0n,
    data: encodeFd(gfd),
  });
  const dfd = openDevice(w, gfd, 5);
  const dfile = w.fds.get(dfd) as VfioDeviceFile;
  return { w, dev, gfd, dfd, dfile, vdev: w.vdevs[0]! };
}

describe('KVM_DEV_VFIO_DEVICE_FORWARD_IRQ / UNFORWARD_IRQ', () => {
  it('forward holds a device reference until unforward; the arch sees only (vm, host irq, guest irq)', () => {
    const { w, dev, dfd, dfile, vdev } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, start: 2, gsi: 40 }));
    expect(w.log.calls).toEqual(['add number:134 number:40']);
    expect(w.log.routes.get(134)).toBe(40);
    expect(dfile.fileCount).toBe(2);
    // the VMM closes its device fd: the device stays open for the forwarded irq
    const dfd2 = w.fds.dup(dfd);
    w.fds.close(dfd);
    expect(vdev.openCount).toBe(1);
    dev.setAttr(fwdAttr(UNFWD, { fd: dfd2, index: MSI, start: 2, gsi: 40 }));
    expect(w.log.calls).toEqual(['add number:134 number:40', 'del 134 40']);
    expect(w.log.routes.size).toBe(0);
    expect(dfile.fileCount).toBe(1);
    w.fds.close(dfd2);
    expect(vdev.openCount).toBe(0);
  });

  it('forwarding an irq twice is EEXIST and changes nothing', () => {
    const { w, dev, dfd, dfile } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd }));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd }))).toThrow(code('EEXIST'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, gsi: 41 }))).toThrow(code('EEXIST'));
    expect(w.log.calls).toEqual(['add number:132 number:40']);
    expect(dfile.fileCount).toBe(2);
    expect(kvmVfioOf(dev)!.forwarding.irqs.length).toBe(1);
  });

  it('a guest irq fed by a forwarded irq is EBUSY; a host irq forwarded to another VM is EBUSY', () => {
    const { w, dev, dfd, dfile } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd, start: 0, gsi: 40 }));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, start: 1, gsi: 40 }))).toThrow(code('EBUSY'));
    const vm2 = w.kvm.createVm();
    const dev2 = vm2.createDevice({ type: 4, fd: -1, flags: 0 })!;
    expect(() => dev2.setAttr(fwdAttr(FWD, { fd: dfd, start: 0, gsi: 40 }))).toThrow(code('EBUSY'));
    expect(dfile.fileCount).toBe(2);
    expect(w.log.calls).toEqual(['add number:132 number:40']);
  });

  it('a host irq already connected through IRQ bypass is EBUSY; free again once disconnected', () => {
    const { w, dev, dfd, dfile } = ready();
    const ev = new EventFd();
    const efd = w.fds.install(ev);
    w.irqs[0]!.setTrigger(MSI, 0, ev);
    w.vm.irqfd({ fd: efd, gsi: 33, flags: 0 });
    expect(w.mgr.isHostIrqConnected(132)).toBe(true);
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, start: 0, gsi: 40 }))).toThrow(code('EBUSY'));
    expect(dfile.fileCount).toBe(1);
    expect(w.log.routes.get(132)).toBe(33);
    w.fds.close(efd);
    dev.setAttr(fwdAttr(FWD, { fd: dfd, start: 0, gsi: 40 }));
    expect(w.log.routes.get(132)).toBe(40);
  });

  it('bad input: EBADF, EINVAL (not a device, no such irq, count != 1), EFAULT (short struct); nothing held', () => {
    const { w, dev, gfd, dfd, dfile } = ready();
    const efd = w.fds.install(new EventFd());
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: 77 }))).toThrow(code('EBADF'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: gfd }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: efd }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, start: 4 }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, index: 7 }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, count: 0 }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, count: 2 }))).toThrow(code('EINVAL'));
    const short = { ...fwdAttr(FWD, { fd: dfd }), data: new Uint8Array(16) };
    expect(() => dev.setAttr(short)).toThrow(code('EFAULT'));
    expect(w.log.calls).toEqual([]);
    expect(dfile.fileCount).toBe(1);
    expect((w.fds.get(gfd) as VfioGroupFile).fileCount).toBe(2);
  });

  it('an arch that refuses: its error is returned, the reference dropped, the irq forwardable later', () => {
    const { w, dev, dfd, dfile } = ready();
    w.log.failAdd = true;
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd }))).toThrow(code('EINVAL'));
    expect(dfile.fileCount).toBe(1);
    expect(kvmVfioOf(dev)!.forwarding.irqs).toEqual([]);
    w.log.failAdd = false;
    dev.setAttr(fwdAttr(FWD, { fd: dfd }));
    expect(w.log.routes.get(132)).toBe(40);
  });

  it('an arch without the callout is ENXIO', () => {
    const { w, dev, dfd, dfile } = ready();
    delete (w.vm.archOps as { irqBypassAddProducer?: unknown }).irqBypassAddProducer;
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd }))).toThrow(code('ENXIO'));
    expect(dfile.fileCount).toBe(1);
  });

  it('unforward of an irq not forwarded is ENOENT; unforward itself cannot fail', () => {
    const { w, dev, dfd, dfile } = ready();
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: dfd }))).toThrow(code('ENOENT'));
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: INTX, gsi: 9 }));
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: dfd, index: INTX, gsi: 10 }))).toThrow(code('ENOENT'));
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: 77, index: INTX, gsi: 9 }))).toThrow(code('EBADF'));
    expect(dfile.fileCount).toBe(2);
    // an arch whose unset throws anyway: the unforward still completes
    (w.vm.archOps as { irqBypassDelProducer?: unknown }).irqBypassDelProducer = () => {
      throw new Error('arch bug');
    };
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: dfd, index: INTX, gsi: 9 }))).not.toThrow();
    expect(dfile.fileCount).toBe(1);
    expect(kvmVfioOf(dev)!.forwarding.irqs).toEqual([]);
  });

  it('a custom arch callout gets only numbers', () => {
    const seen: unknown[][] = [];
    const { dev, dfd } = ready(
      world({
        forward: {
          set: (vm, h, g) => seen.push([vm.fd, h, g]),
          unset: (_vm, h, g) => seen.push(['un', h, g]),
        },
      }),
    );
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, start: 3, gsi: 12 }));
    dev.setAttr(fwdAttr(UNFWD, { fd: dfd, index: MSI, start: 3, gsi: 12 }));
    expect(seen).toEqual([
      [expect.any(Number), 135, 12],
      ['un', 135, 12],
    ]);
  });

  it('closing the KVM-VFIO device fd unforwards everything and drops every reference', () => {
    const { w, dev, gfd, dfd, dfile } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, start: 0, gsi: 40 }));
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: INTX, start: 0, gsi: 41 }));
    expect(dfile.fileCount).toBe(3);
    w.fds.close(dev.fd);
    expect(w.log.calls.slice(2)).toEqual(['del 100 41', 'del 132 40']);
    expect(w.log.routes.size).toBe(0);
    expect(dfile.fileCount).toBe(1);
    expect((w.fds.get(gfd) as VfioGroupFile).group.kvm).toBeUndefined();
  });
});
