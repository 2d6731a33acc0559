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
  const full = { index: MSI, subindex: 0, gsi: 40, ...f };
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
  it('the wire format: group 2, attributes 1 and 2, a 16-byte {fd, index, subindex, gsi}', () => {
    const { w, dev, dfd } = ready();
    // Built by hand, not with encodeForwardedIrq: four little-endian u32.
    const raw = (attr: number, fd: number, index: number, subindex: number, gsi: number) => {
      const data = new Uint8Array(16);
      const v = new DataView(data.buffer);
      v.setInt32(0, fd, true);
      v.setUint32(4, index, true);
      v.setUint32(8, subindex, true);
      v.setUint32(12, gsi, true);
      return { flags: 0, group: 2, attr: BigInt(attr), addr: 0n, data };
    };
    expect([KVM_DEV_VFIO_DEVICE, KVM_DEV_VFIO_DEVICE_FORWARD_IRQ, KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ]).toEqual(
      [2, 1, 2],
    );
    expect(() => dev.hasAttr(raw(1, dfd, 0, 0, 0))).not.toThrow();
    expect(() => dev.hasAttr(raw(2, dfd, 0, 0, 0))).not.toThrow();
    expect(() => dev.hasAttr(raw(3, dfd, 0, 0, 0))).toThrow(code('ENXIO'));
    expect(() => dev.setAttr(raw(3, dfd, 0, 0, 0))).toThrow(code('ENXIO'));
    // MSI vector 3 of the device in group 5 is host irq 100 + 32 + 3.
    dev.setAttr(raw(1, dfd, MSI, 3, 77));
    expect(w.log.routes.get(135)).toBe(77);
    dev.setAttr(raw(2, dfd, MSI, 3, 77));
    expect(w.log.calls).toEqual(['add number:135 number:77', 'del 135 77']);
    // One byte short of the struct: copy_from_user fails.
    expect(() => dev.setAttr({ ...raw(1, dfd, MSI, 3, 77), data: new Uint8Array(15) })).toThrow(
      code('EFAULT'),
    );
    expect(() => dev.setAttr({ ...raw(1, dfd, MSI, 3, 77), data: undefined })).toThrow(code('EFAULT'));
    expect(w.log.routes.size).toBe(0);
    expect(encodeForwardedIrq({ fd: 1, index: 2, subindex: 3, gsi: 4 })).toEqual(
      new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]),
    );
  });

  it('forward holds a device reference until unforward; the arch sees only (vm, host irq, guest irq)', () => {
    const { w, dev, dfd, dfile, vdev } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, subindex: 2, gsi: 40 }));
    expect(w.log.calls).toEqual(['add number:134 number:40']);
    expect(w.log.routes.get(134)).toBe(40);
    expect(dfile.fileCount).toBe(2);
    // the VMM closes its device fd: the device stays open for the forwarded irq
    const dfd2 = w.fds.dup(dfd);
    w.fds.close(dfd);
    expect(vdev.openCount).toBe(1);
    dev.setAttr(fwdAttr(UNFWD, { fd: dfd2, index: MSI, subindex: 2, gsi: 40 }));
    expect(w.log.calls).toEqual(['add number:134 number:40', 'del 134 40']);
    expect(w.log.routes.size).toBe(0);
    expect(dfile.fileCount).toBe(1);
    w.fds.close(dfd2);
    expect(vdev.openCount).toBe(0);
  });

  it('forwarding a (device, index, subindex) twice is EINVAL (kvm_vfio_set_forward), whatever the gsi or fd; nothing changes', () => {
    const { w, dev, dfd, dfile } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd }));
    const other = w.fds.dup(dfd);
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, gsi: 41 }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: other, gsi: 41 }))).toThrow(code('EINVAL'));
    expect(w.log.calls).toEqual(['add number:132 number:40']);
    expect(dfile.fileCount).toBe(2);
    expect(kvmVfioOf(dev)!.forwarding.irqs.length).toBe(1);
  });

  it('the matching key is (device, index, subindex): the gsi and the fd used do not take part', () => {
    const { w, dev, dfd, dfile } = ready();
    const g6 = openGroup(w, 6);
    const d6 = openDevice(w, g6, 6);
    // the same (index, subindex) of another device is another key
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, subindex: 1, gsi: 40 }));
    dev.setAttr(fwdAttr(FWD, { fd: d6, index: MSI, subindex: 1, gsi: 41 }));
    // through a dup of the fd and with another gsi: found; the arch hears the gsi that was forwarded
    const other = w.fds.dup(dfd);
    dev.setAttr(fwdAttr(UNFWD, { fd: other, index: MSI, subindex: 1, gsi: 99 }));
    // other sub-index / other index of the same device: not forwarded
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, subindex: 2, gsi: 42 }));
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: dfd, index: MSI, subindex: 0, gsi: 42 }))).toThrow(
      code('EINVAL'),
    );
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: dfd, index: INTX, subindex: 2, gsi: 42 }))).toThrow(
      code('EINVAL'),
    );
    expect(w.log.calls).toEqual([
      'add number:133 number:40',
      'add number:233 number:41',
      'del 133 40',
      'add number:134 number:42',
    ]);
    expect(dfile.fileCount).toBe(2); // the first forwarding's reference is gone, the new one's held
    expect(
      kvmVfioOf(dev)!.forwarding.irqs.map((r) => [r.file.device.name, r.index, r.subindex, r.gsi]),
    ).toEqual([
      ['0000:00:06.0', MSI, 1, 41],
      ['0000:00:05.0', MSI, 2, 42],
    ]);
  });

  it('two interrupts forwarded to one gsi: kvm-vfio leaves that to the arch', () => {
    const { w, dev, dfd } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 0, gsi: 40 }));
    dev.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 1, gsi: 40 }));
    expect([...w.log.routes]).toEqual([
      [132, 40],
      [133, 40],
    ]);
  });

  it('a host irq forwarded to another VM is EBUSY', () => {
    const { w, dev, dfd, dfile } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 0, gsi: 40 }));
    const vm2 = w.kvm.createVm();
    const dev2 = vm2.createDevice({ type: 4, fd: -1, flags: 0 })!;
    expect(() => dev2.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 0, gsi: 40 }))).toThrow(code('EBUSY'));
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
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 0, gsi: 40 }))).toThrow(code('EBUSY'));
    expect(dfile.fileCount).toBe(1);
    expect(w.log.routes.get(132)).toBe(33);
    w.fds.close(efd);
    dev.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 0, gsi: 40 }));
    expect(w.log.routes.get(132)).toBe(40);
  });

  it('bad input: EINVAL for a closed fd (the review), not a device, no such irq; EFAULT (short struct); nothing held', () => {
    const { w, dev, gfd, dfd, dfile } = ready();
    const efd = w.fds.install(new EventFd());
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: 77 }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: -1 }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: gfd }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: efd }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, subindex: 4 }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, index: 7 }))).toThrow(code('EINVAL'));
    const short = { ...fwdAttr(FWD, { fd: dfd }), data: new Uint8Array(12) };
    expect(() => dev.setAttr(short)).toThrow(code('EFAULT'));
    expect(w.log.calls).toEqual([]);
    expect(dfile.fileCount).toBe(1);
    expect((w.fds.get(gfd) as VfioGroupFile).fileCount).toBe(2);
    expect(kvmVfioOf(dev)!.forwarding.irqs).toEqual([]);
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

  it('an arch without forwarding support: forward and unforward succeed (the seed stub returns 0), the reference is still held', () => {
    const { w, dev, dfd, dfile } = ready();
    const arch = w.vm.archOps as { irqBypassAddProducer?: unknown; irqBypassDelProducer?: unknown };
    delete arch.irqBypassAddProducer;
    delete arch.irqBypassDelProducer;
    dev.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 1, gsi: 40 }));
    expect(dfile.fileCount).toBe(2);
    expect(kvmVfioOf(dev)!.forwarding.irqs.length).toBe(1);
    expect(() => dev.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 1, gsi: 40 }))).toThrow(code('EINVAL'));
    dev.setAttr(fwdAttr(UNFWD, { fd: dfd, subindex: 1, gsi: 40 }));
    expect(dfile.fileCount).toBe(1);
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: dfd, subindex: 1, gsi: 40 }))).toThrow(code('EINVAL'));
    expect(w.log.calls).toEqual([]);
  });

  it('unforward of what is not forwarded is EINVAL (kvm_vfio_unset_forward); unforward itself cannot fail', () => {
    const { w, dev, dfd, dfile } = ready();
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: dfd }))).toThrow(code('EINVAL'));
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: INTX, gsi: 9 }));
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: dfd, index: MSI, gsi: 9 }))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fwdAttr(UNFWD, { fd: 77, index: INTX, gsi: 9 }))).toThrow(code('EINVAL'));
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
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, subindex: 3, gsi: 12 }));
    dev.setAttr(fwdAttr(UNFWD, { fd: dfd, index: MSI, subindex: 3, gsi: 12 }));
    expect(seen).toEqual([
      [expect.any(Number), 135, 12],
      ['un', 135, 12],
    ]);
  });

  it('while the arch callout of a forward runs, the key is taken (EINVAL) and not yet unforwardable (EINVAL)', () => {
    const inside: string[] = [];
    const attempt = (a: ReturnType<typeof fwdAttr>) => {
      try {
        dev.setAttr(a);
        inside.push('ok');
      } catch (e) {
        inside.push((e as { code: string }).code);
      }
    };
    const { dev, dfd, dfile } = ready(
      world({
        forward: {
          set: () => {
            attempt(fwdAttr(FWD, { fd: dfd, subindex: 1, gsi: 50 }));
            attempt(fwdAttr(UNFWD, { fd: dfd, subindex: 1, gsi: 40 }));
          },
          unset: () => {},
        },
      }),
    );
    dev.setAttr(fwdAttr(FWD, { fd: dfd, subindex: 1, gsi: 40 }));
    expect(inside).toEqual(['EINVAL', 'EINVAL']);
    expect(dfile.fileCount).toBe(2);
    dev.setAttr(fwdAttr(UNFWD, { fd: dfd, subindex: 1, gsi: 40 }));
    expect(dfile.fileCount).toBe(1);
  });

  it('closing the KVM-VFIO device fd unforwards everything and drops every reference', () => {
    const { w, dev, gfd, dfd, dfile } = ready();
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: MSI, subindex: 0, gsi: 40 }));
    dev.setAttr(fwdAttr(FWD, { fd: dfd, index: INTX, subindex: 0, gsi: 41 }));
    expect(dfile.fileCount).toBe(3);
    w.fds.close(dev.fd);
    expect(w.log.calls.slice(2)).toEqual(['del 100 41', 'del 132 40']);
    expect(w.log.routes.size).toBe(0);
    expect(dfile.fileCount).toBe(1);
    expect((w.fds.get(gfd) as VfioGroupFile).group.kvm).toBeUndefined();
  });
});
