import { EventFd } from '@tsvirt/core-bus';
import { KVM_CREATE_DEVICE_TEST, KVM_DEV_TYPE_VFIO, KVM_GET_DEVICE_ATTR } from '@tsvirt/kvm-core';
import type { VfioGroupFile } from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import {
  encodeFd,
  KVM_DEV_VFIO_DEVICE,
  KVM_DEV_VFIO_DEVICE_FORWARD_IRQ,
  KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ,
  KVM_DEV_VFIO_FILE,
  KVM_DEV_VFIO_FILE_ADD,
  KVM_DEV_VFIO_FILE_DEL,
  KVM_DEV_VFIO_GROUP,
  KVM_DEV_VFIO_GROUP_ADD,
  KVM_DEV_VFIO_GROUP_DEL,
  KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE,
  kvmVfioOf,
} from '../src/index.ts';
import { createVfioDevice, openGroup, world } from './helpers.ts';

const code = (c: string) => expect.objectContaining({ code: c });
const fileAttr = (attr: number, fd: number) => ({
  flags: 0,
  group: KVM_DEV_VFIO_FILE,
  attr: BigInt(attr),
  addr: 0x1000n,
  data: encodeFd(fd),
});
const groupFile = (w: ReturnType<typeof world>, fd: number) => w.fds.get(fd) as VfioGroupFile;

describe('the KVM device type VFIO', () => {
  it('uses the UAPI numbers (GROUP_* are the FILE_* names)', () => {
    expect([KVM_DEV_TYPE_VFIO, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD, KVM_DEV_VFIO_FILE_DEL]).toEqual([
      4, 1, 1, 2,
    ]);
    expect([KVM_DEV_VFIO_GROUP, KVM_DEV_VFIO_GROUP_ADD, KVM_DEV_VFIO_GROUP_DEL]).toEqual([1, 1, 2]);
    expect(KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE).toBe(3);
  });

  it('one instance per VM: a second KVM_CREATE_DEVICE is EBUSY and changes nothing; TEST only probes', () => {
    const w = world();
    const dev = createVfioDevice(w);
    expect(dev.fd).toBeGreaterThanOrEqual(0);
    expect(
      w.vm.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: KVM_CREATE_DEVICE_TEST }),
    ).toBeUndefined();
    const before = { devices: w.vm.devices.length, refs: w.vm.refcount, open: w.fds.openCount };
    expect(() => w.vm.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 })).toThrow(code('EBUSY'));
    expect({ devices: w.vm.devices.length, refs: w.vm.refcount, open: w.fds.openCount }).toEqual(before);
    // another VM may have its own
    const vm2 = w.kvm.createVm();
    expect(vm2.createDevice({ type: KVM_DEV_TYPE_VFIO, fd: -1, flags: 0 })).toBeDefined(); // the device leaves the VM with its fd's last close (.release), so a new one may be made
    w.fds.close(dev.fd);
    expect(w.vm.devices.length).toBe(0);
    expect(createVfioDevice(w).fd).toBeGreaterThanOrEqual(0);
  });

  it('GROUP_ADD associates the group with the VM and holds the file; GROUP_DEL undoes both', () => {
    const w = world();
    const dev = createVfioDevice(w);
    const gfd = openGroup(w, 5);
    const gf = groupFile(w, gfd);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_GROUP_ADD, gfd));
    expect(gf.group.kvm).toBe(w.vm);
    expect(gf.fileCount).toBe(2);
    expect(kvmVfioOf(dev)!.files).toEqual([gf]);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_GROUP_DEL, gfd));
    expect(gf.group.kvm).toBeUndefined();
    expect(gf.fileCount).toBe(1);
    expect(kvmVfioOf(dev)!.files).toEqual([]);
  });

  it('a held group outlives its fd close and is released with the device', () => {
    const w = world();
    const dev = createVfioDevice(w);
    const gfd = openGroup(w, 5);
    const gf = groupFile(w, gfd);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, gfd));
    w.fds.close(gfd);
    expect(gf.isReleased).toBe(false);
    expect(gf.group.kvm).toBe(w.vm);
    w.fds.close(dev.fd);
    expect(gf.isReleased).toBe(true);
    expect(gf.group.kvm).toBeUndefined();
  });

  it('FILE_ADD errors: EBADF, EINVAL for a non-group, EEXIST for a duplicate, EFAULT without data; nothing changes', () => {
    const w = world();
    const dev = createVfioDevice(w);
    const gfd = openGroup(w, 5);
    const efd = w.fds.install(new EventFd());
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, gfd));
    const gf = groupFile(w, gfd);
    const kv = kvmVfioOf(dev)!;
    expect(() => dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, 99))).toThrow(code('EBADF'));
    expect(() => dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, efd))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, dev.fd))).toThrow(code('EINVAL'));
    expect(() => dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, gfd))).toThrow(code('EEXIST'));
    expect(() =>
      dev.setAttr({ flags: 0, group: KVM_DEV_VFIO_FILE, attr: BigInt(KVM_DEV_VFIO_FILE_ADD), addr: 0n }),
    ).toThrow(code('EFAULT'));
    expect(kv.files).toEqual([gf]);
    expect(gf.fileCount).toBe(2);
  });

  it('FILE_DEL errors: EBADF for a closed fd, ENOENT for a file never added; nothing changes', () => {
    const w = world();
    const dev = createVfioDevice(w);
    const g5 = openGroup(w, 5);
    const g6 = openGroup(w, 6, false);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, g5));
    expect(() => dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_DEL, 99))).toThrow(code('EBADF'));
    expect(() => dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_DEL, g6))).toThrow(code('ENOENT'));
    expect(kvmVfioOf(dev)!.files).toEqual([groupFile(w, g5)]);
    expect(groupFile(w, g6).fileCount).toBe(1);
    expect(w.log.noncoherent).toEqual([]);
  });

  it('unknown groups and attributes are ENXIO; HAS_DEVICE_ATTR answers; GET_DEVICE_ATTR is EPERM', () => {
    const w = world();
    const dev = createVfioDevice(w);
    const gfd = openGroup(w, 5);
    const a = (group: number, attr: number) => ({
      flags: 0,
      group,
      attr: BigInt(attr),
      addr: 0n,
      data: encodeFd(gfd),
    });
    expect(() => dev.setAttr(a(KVM_DEV_VFIO_FILE, 9))).toThrow(code('ENXIO'));
    expect(() => dev.setAttr(a(KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE))).toThrow(code('ENXIO'));
    expect(() => dev.setAttr(a(7, 1))).toThrow(code('ENXIO'));
    expect(() => dev.setAttr(a(KVM_DEV_VFIO_DEVICE, 3))).toThrow(code('ENXIO'));
    for (const [g, at] of [
      [KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD],
      [KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_DEL],
      [KVM_DEV_VFIO_DEVICE, KVM_DEV_VFIO_DEVICE_FORWARD_IRQ],
      [KVM_DEV_VFIO_DEVICE, KVM_DEV_VFIO_DEVICE_UNFORWARD_IRQ],
    ])
      expect(() => dev.hasAttr(a(g!, at!))).not.toThrow();
    expect(() => dev.hasAttr(a(KVM_DEV_VFIO_FILE, 3))).toThrow(code('ENXIO'));
    expect(() => dev.hasAttr(a(0, 1))).toThrow(code('ENXIO'));
    expect(() => dev.ioctl(KVM_GET_DEVICE_ATTR, a(1, 1))).toThrow(code('EPERM'));
    expect(() => dev.ioctl(0x1234, {})).toThrow(code('ENOTTY'));
    expect(kvmVfioOf(dev)!.files).toEqual([]);
  });
});

describe('non-coherent DMA accounting', () => {
  it('the VM hears only when the aggregate flips', () => {
    const w = world();
    const dev = createVfioDevice(w);
    const coh = openGroup(w, 5, true);
    const nc = openGroup(w, 6, false);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, coh));
    expect(w.log.noncoherent).toEqual([]);
    expect(w.vm.noncoherentDma).toBe(false);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, nc));
    expect(w.log.noncoherent).toEqual([true]);
    expect(w.vm.noncoherentDmaCount).toBe(1);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_DEL, coh));
    expect(w.log.noncoherent).toEqual([true]);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, coh));
    expect(w.vm.noncoherentDmaCount).toBe(1);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_DEL, nc));
    expect(w.log.noncoherent).toEqual([true, false]);
    expect(w.vm.noncoherentDmaCount).toBe(0);
  });

  it('a failed add leaves the accounting alone; the device release unregisters', () => {
    const w = world();
    const dev = createVfioDevice(w);
    const nc = openGroup(w, 6, false);
    dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, nc));
    expect(() => dev.setAttr(fileAttr(KVM_DEV_VFIO_FILE_ADD, nc))).toThrow(code('EEXIST'));
    expect(w.vm.noncoherentDmaCount).toBe(1);
    w.fds.close(dev.fd);
    expect(w.log.noncoherent).toEqual([true, false]);
    expect(w.vm.noncoherentDmaCount).toBe(0);
  });
});
