import { Device, EventFd, FdTable } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import {
  ioctl,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VfioCore,
  VfioDeviceFile,
  type VfioVma,
} from '../src/index.ts';
import { attach, openDevice, recordingOps, setup } from './helpers.ts';

describe('device file (vfio_device_fops)', () => {
  it('ioctl, read and write at index << 40 offsets reach the driver', () => {
    const s = setup();
    const { gfd } = attach(s);
    const f = s.fds.getAs(openDevice(s, gfd), VfioDeviceFile);
    expect(f.ioctl(0x3b6b, {})).toBe(7);
    const buf = new Uint8Array(4);
    expect(f.read(buf, VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) + 0x10n)).toBe(4);
    expect([...buf]).toEqual([0xab, 0xab, 0xab, 0xab]);
    expect(f.write(new Uint8Array(2), VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR2_REGION_INDEX) + 8n)).toBe(2);
    expect(s.log.slice(1)).toEqual(['ioctl 15211', 'read 4@70000000010', 'write 2@20000000008']);
  });

  it('mmap hands the vma to the driver, which sets it up', () => {
    const s = setup({
      ops: {
        mmap: (_d, vma) => {
          vma.flags |= 0x400; // VM_PFNMAP
          vma.ops = { fault: () => 0x1234 };
        },
      },
    });
    const { gfd } = attach(s);
    const f = s.fds.getAs(openDevice(s, gfd), VfioDeviceFile);
    const vma: VfioVma = { start: 0x10000, end: 0x11000, flags: 3, pgoff: 0 };
    f.mmap(vma);
    expect(vma.flags).toBe(0x403);
    expect(vma.ops).toBeDefined();
  });

  it('a driver without ioctl, read, write or mmap answers EINVAL for each', () => {
    const s = setup({ ops: { ioctl: undefined, read: undefined, write: undefined } });
    const { gfd } = attach(s);
    const f = s.fds.getAs(openDevice(s, gfd), VfioDeviceFile);
    const e = expect.objectContaining({ code: 'EINVAL' });
    expect(() => f.ioctl(1)).toThrow(e);
    expect(() => f.read(new Uint8Array(1), 0n)).toThrow(e);
    expect(() => f.write(new Uint8Array(1), 0n)).toThrow(e);
    expect(() => f.mmap({ start: 0, end: 4096, flags: 0, pgoff: 0 })).toThrow(e);
  });

  it('pread/pwrite at a negative position are EINVAL, with a non-buffer EFAULT, before the driver sees them', () => {
    const s = setup();
    const { gfd } = attach(s);
    const f = s.fds.getAs(openDevice(s, gfd), VfioDeviceFile);
    expect(() => f.read(new Uint8Array(4), -1n)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => f.write(new Uint8Array(4), -4n)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => f.write([1] as unknown as Uint8Array, 0n)).toThrow(
      expect.objectContaining({ code: 'EFAULT' }),
    );
    expect(s.log).toEqual(['open 0000:00:05.0']);
  });

  it('a closed device fd is EBADF, and a released file refuses calls', () => {
    const s = setup();
    const { gfd } = attach(s);
    const dfd = openDevice(s, gfd);
    const f = s.fds.getAs(dfd, VfioDeviceFile);
    s.fds.close(dfd);
    expect(() => ioctl(s.fds, dfd, 1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => f.ioctl(1)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('a driver whose release throws still loses the device: counts drop, the container is freed', () => {
    const s = setup({
      ops: {
        release: () => {
          throw new Error('driver bug');
        },
      },
    });
    const { gfd } = attach(s);
    const dfd = openDevice(s, gfd);
    expect(() => s.fds.close(dfd)).toThrow('driver bug');
    expect(s.vdev.openCount).toBe(0);
    expect(s.vdev.group.containerUsers).toBe(1);
    expect(ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER)).toBe(0);
  });

  it('closing every fd at process exit releases device, group and container in order', () => {
    const s = setup();
    const { gfd } = attach(s);
    openDevice(s, gfd);
    s.fds.install(new EventFd());
    s.fds.closeAll();
    expect(s.log).toEqual(['open 0000:00:05.0', 'release 0000:00:05.0']);
    expect(s.drv.instances[0]!.log).toEqual(['attach 5', 'detach 5', 'release']);
    expect(s.core.open(s.fds, '/dev/vfio/5')).toBe(0);
  });
});

describe('device registration (vfio_register_group_dev)', () => {
  it('a device without an IOMMU group is EINVAL; registering twice is EBUSY', () => {
    const core = new VfioCore();
    const d = new Device('0000:01:00.0', 'pci');
    expect(() => core.registerGroupDev(d, {})).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(core.groupIds()).toEqual([]);
    const ig = core.iommuGroups.alloc({ id: 3 });
    core.iommuGroups.addDevice(ig, d);
    const v = core.registerGroupDev(d, {});
    expect(core.deviceOf(d)).toBe(v);
    expect(core.groupIds()).toEqual([3]);
    expect(() => core.registerGroupDev(d, {})).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(core.group(3)!.devices).toEqual([v]);
  });

  it('IOMMU group bookkeeping: fixed ids clash EEXIST, a device joins one group only', () => {
    const core = new VfioCore();
    core.iommuGroups.alloc({ id: 0 });
    expect(() => core.iommuGroups.alloc({ id: 0 })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => core.iommuGroups.alloc({ id: -1 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(core.iommuGroups.alloc().id).toBe(1);
    const d = new Device('a', 'pci');
    core.iommuGroups.addDevice(core.iommuGroups.get(0)!, d);
    expect(() => core.iommuGroups.addDevice(core.iommuGroups.get(1)!, d)).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    expect(() => core.iommuGroups.free(core.iommuGroups.get(0)!)).toThrow(
      expect.objectContaining({ code: 'EBUSY' }),
    );
  });

  it('an emulated IOMMU device gets a group of its own, freed with it', () => {
    const core = new VfioCore();
    const a = core.registerEmulatedIommuDev(new Device('mdev-a', 'mdev'), {});
    const b = core.registerEmulatedIommuDev(new Device('mdev-b', 'mdev'), {});
    expect(a.group.iommuGroup.mdev).toBe(true);
    expect([a.group.id, b.group.id]).toEqual([0, 1]);
    expect(() => core.registerEmulatedIommuDev(a.dev, {})).toThrow(
      expect.objectContaining({ code: 'EBUSY' }),
    );
    expect(core.unregisterGroupDev(a)).toBe(true);
    expect(core.groupIds()).toEqual([1]);
    expect(core.iommuGroups.get(0)).toBeUndefined();
    expect(core.registerEmulatedIommuDev(new Device('mdev-c', 'mdev'), {}).group.id).toBe(0);
  });

  it("mdev-core's group allocator puts the mdev in a group VFIO then uses; free drops it", () => {
    const core = new VfioCore();
    const mdev = Object.assign(new Device('0b3e0b4a-1e2c-4d3e-8f00-000000000001', 'mdev'), {
      uuid: '0b3e0b4a-1e2c-4d3e-8f00-000000000001',
    });
    const ig = core.mdevIommuGroups.alloc(mdev);
    expect(ig.mdev).toBe(true);
    expect(core.iommuGroups.ofDevice(mdev)).toBe(ig);
    const v = core.registerGroupDev(mdev, {});
    expect(v.group.id).toBe(ig.id);
    // Unbinding the VFIO driver leaves the mdev's group for a later rebind.
    core.unregisterGroupDev(v);
    expect(core.iommuGroups.ofDevice(mdev)).toBe(ig);
    core.mdevIommuGroups.free(ig);
    expect(core.iommuGroups.get(ig.id)).toBeUndefined();
    expect(core.groupIds()).toEqual([]);
  });
});

describe('device unregistration (vfio_unregister_group_dev)', () => {
  it('an unused device goes at once; its group node disappears with the last device', () => {
    const s = setup();
    expect(s.core.unregisterGroupDev(s.vdev)).toBe(true);
    expect(s.vdev.removed).toBe(true);
    expect(s.core.groupIds()).toEqual([]);
    expect(() => s.core.open(s.fds, '/dev/vfio/5')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => s.core.unregisterGroupDev(s.vdev)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
  });

  it('an open device: the driver is asked to release (request), the device hides, and goes on the last close', () => {
    const s = setup();
    const { gfd } = attach(s);
    const dfd = openDevice(s, gfd);
    let removed = false;
    s.vdev.whenRemoved(() => {
      removed = true;
    });
    expect(s.core.unregisterGroupDev(s.vdev)).toBe(false);
    expect(s.core.unregisterGroupDev(s.vdev)).toBe(false);
    expect(s.log).toEqual(['open 0000:00:05.0', 'request 0000:00:05.0 0', 'request 0000:00:05.0 1']);
    expect(() => openDevice(s, gfd)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    // Still usable through the open fd meanwhile.
    expect(ioctl(s.fds, dfd, 9)).toBe(7);
    expect(removed).toBe(false);
    s.fds.close(dfd);
    expect(removed).toBe(true);
    expect(s.core.deviceOf(s.pdev)).toBeUndefined();
    // The open group file keeps the group (without devices) until closed.
    const st = { argsz: 8, flags: 0 };
    ioctl(s.fds, gfd, VFIO_GROUP_GET_STATUS, st);
    expect(s.core.groupIds()).toEqual([5]);
    s.fds.close(gfd);
    expect(s.core.groupIds()).toEqual([]);
  });

  it("a device ioctl sees the caller's descriptor table (to resolve eventfds)", () => {
    const seen: FdTable[] = [];
    const s = setup({
      ops: {
        ioctl: (_d, _cmd, arg, fds) => {
          seen.push(fds);
          return fds.getAs(arg as number, EventFd).read() === 1n ? 1 : 0;
        },
      },
    });
    const { gfd } = attach(s);
    const dfd = openDevice(s, gfd);
    const efd = s.fds.install(new EventFd(1n));
    expect(ioctl(s.fds, dfd, 0x3b6e, efd)).toBe(1);
    const other = new FdTable();
    const ofd = other.install(s.fds.getAs(dfd, VfioDeviceFile).get());
    expect(() => ioctl(other, ofd, 0x3b6e, efd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(seen).toEqual([s.fds, other]);
  });

  it('device files from two processes: open_count spans both tables', () => {
    const s = setup();
    const { gfd } = attach(s);
    const other = new FdTable();
    const dfd = openDevice(s, gfd);
    const f = s.fds.getAs(dfd, VfioDeviceFile);
    const ofd = other.install(f.get());
    s.fds.close(dfd);
    expect(s.log).toEqual(['open 0000:00:05.0']);
    other.close(ofd);
    expect(s.log).toEqual(['open 0000:00:05.0', 'release 0000:00:05.0']);
  });

  it('recordingOps sanity: a second device in a group is found by name', () => {
    const s = setup();
    const d2 = new Device('0000:00:05.1', 'pci');
    s.core.iommuGroups.addDevice(s.ig, d2);
    const log2: string[] = [];
    s.core.registerGroupDev(d2, recordingOps(log2));
    const { gfd } = attach(s);
    openDevice(s, gfd, '0000:00:05.1');
    expect(log2).toEqual(['open 0000:00:05.1']);
    expect(s.log).toEqual([]);
  });
});
