import { Device, EventFd, KernelError } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import {
  ioctl,
  VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioContainerFile,
  VfioDeviceFile,
} from '../src/index.ts';
import { attach, e1000, openDevice, setup, vfioPci } from './helpers.ts';

const status = (s: ReturnType<typeof setup>, gfd: number) => {
  const st = { argsz: 8, flags: 0xdead };
  ioctl(s.fds, gfd, VFIO_GROUP_GET_STATUS, st);
  return st.flags;
};

/** Adds a second, non-VFIO PCI function to group 5. */
function addSibling(s: ReturnType<typeof setup>, driver = e1000): Device {
  const sib = new Device('0000:00:05.1', 'pci');
  s.core.iommuGroups.addDevice(s.ig, sib);
  sib.driver = driver;
  return sib;
}

describe('opening /dev/vfio/<group> (vfio_group_fops_open)', () => {
  it('an unknown group or path is ENOENT', () => {
    const s = setup();
    expect(() => s.core.open(s.fds, '/dev/vfio/6')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => s.core.open(s.fds, '/dev/vfio/05')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => s.core.open(s.fds, '/dev/vfio/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(s.fds.openCount).toBe(0);
  });

  it('a group open twice is EBUSY; closing it lets it open again', () => {
    const s = setup();
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    expect(() => s.core.open(s.fds, '/dev/vfio/5')).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(s.fds.openCount).toBe(1);
    s.fds.close(gfd);
    expect(s.core.open(s.fds, '/dev/vfio/5')).toBe(gfd);
  });

  it('a dup of the group fd is the same file: closing one keeps the group open', () => {
    const s = setup();
    const { gfd } = attach(s);
    const dup = s.fds.dup(gfd);
    s.fds.close(gfd);
    expect(status(s, dup) & VFIO_GROUP_FLAGS_CONTAINER_SET).toBeTruthy();
    expect(() => s.core.open(s.fds, '/dev/vfio/5')).toThrow(expect.objectContaining({ code: 'EBUSY' }));
  });

  it('reopening while device fds from the last open still hold the container is EBUSY', () => {
    const s = setup();
    const { gfd } = attach(s);
    const dfd = openDevice(s, gfd);
    s.fds.close(gfd);
    expect(() => s.core.open(s.fds, '/dev/vfio/5')).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    s.fds.close(dfd);
    expect(() => s.core.open(s.fds, '/dev/vfio/5')).not.toThrow();
  });
});

describe('VFIO_GROUP_GET_STATUS', () => {
  it('argsz below 8 is EINVAL and flags are left alone', () => {
    const s = setup();
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    const st = { argsz: 4, flags: 0x77 };
    expect(() => ioctl(s.fds, gfd, VFIO_GROUP_GET_STATUS, st)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(st.flags).toBe(0x77);
    expect(() => ioctl(s.fds, gfd, VFIO_GROUP_GET_STATUS, null)).toThrow(
      expect.objectContaining({ code: 'EFAULT' }),
    );
  });

  it('reports VIABLE and CONTAINER_SET', () => {
    const s = setup();
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    expect(status(s, gfd)).toBe(VFIO_GROUP_FLAGS_VIABLE);
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
    expect(status(s, gfd)).toBe(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
  });

  it('viability (vfio_dev_viable): unbound, pci-stub and VFIO-registered devices are fine; another driver is not', () => {
    const s = setup();
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    const sib = addSibling(s);
    expect(status(s, gfd)).toBe(0);
    sib.driver = undefined;
    expect(status(s, gfd)).toBe(VFIO_GROUP_FLAGS_VIABLE);
    sib.driver = { ...e1000, name: 'pci-stub' };
    expect(status(s, gfd)).toBe(VFIO_GROUP_FLAGS_VIABLE);
    sib.driver = vfioPci;
    // Bound to vfio-pci but not (yet) registered with VFIO: not viable.
    expect(status(s, gfd)).toBe(0);
    s.core.registerGroupDev(sib, {});
    expect(status(s, gfd)).toBe(VFIO_GROUP_FLAGS_VIABLE);
  });
});

describe('VFIO_GROUP_SET_CONTAINER', () => {
  it('a negative fd is EINVAL, a closed one EBADF, a non-container EINVAL, a non-int EFAULT', () => {
    const s = setup();
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    const efd = s.fds.install(new EventFd());
    const expectCode = (arg: unknown, code: string) =>
      expect(() => ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, arg)).toThrow(
        expect.objectContaining({ code }),
      );
    expectCode(-1, 'EINVAL');
    expectCode(42, 'EBADF');
    expectCode(efd, 'EINVAL');
    expectCode(gfd, 'EINVAL');
    expectCode('3', 'EFAULT');
    expect(status(s, gfd) & VFIO_GROUP_FLAGS_CONTAINER_SET).toBe(0);
  });

  it('a group that already has a container is EINVAL (container_users != 0)', () => {
    const s = setup();
    const { gfd } = attach(s, { iommu: false });
    const other = s.core.open(s.fds, '/dev/vfio/vfio');
    expect(() => ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, other)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(s.fds.getAs(other, VfioContainerFile).container.groups).toHaveLength(0);
  });

  it('a non-viable group is EPERM (iommu_group_claim_dma_owner) and stays detached', () => {
    const s = setup();
    addSibling(s);
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    expect(() => ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd)).toThrow(
      expect.objectContaining({ code: 'EPERM' }),
    );
    const c = s.fds.getAs(cfd, VfioContainerFile).container;
    expect(c.groups).toHaveLength(0);
    expect(c.refs).toBe(1);
  });

  it('joining a container with a backend attaches the group to it; a refusal changes nothing', () => {
    const s = setup();
    const ig6 = s.core.iommuGroups.alloc({ id: 6 });
    const d6 = new Device('0000:00:06.0', 'pci');
    s.core.iommuGroups.addDevice(ig6, d6);
    s.core.registerGroupDev(d6, {});
    const { cfd } = attach(s);
    const g6 = s.core.open(s.fds, '/dev/vfio/6');
    s.drv.failAttach.set(6, new KernelError('EPERM', 'fake'));
    expect(() => ioctl(s.fds, g6, VFIO_GROUP_SET_CONTAINER, cfd)).toThrow(
      expect.objectContaining({ code: 'EPERM' }),
    );
    const c = s.fds.getAs(cfd, VfioContainerFile).container;
    expect(c.groups.map((g) => g.id)).toEqual([5]);
    expect(c.refs).toBe(2);
    expect(status(s, g6) & VFIO_GROUP_FLAGS_CONTAINER_SET).toBe(0);
    s.drv.failAttach.clear();
    ioctl(s.fds, g6, VFIO_GROUP_SET_CONTAINER, cfd);
    expect(s.drv.instances[0]!.groups).toEqual([5, 6]);
    expect(c.refs).toBe(3);
  });
});

describe('DMA ownership (iommu_group_claim_dma_owner)', () => {
  it('a kernel driver may not bind to a member device while the group is in a container (EBUSY)', () => {
    const s = setup();
    const sib = new Device('0000:00:05.1', 'pci');
    s.core.iommuGroups.addDevice(s.ig, sib);
    expect(() => s.core.iommuGroups.deviceUseDefaultDomain(sib)).not.toThrow();
    const { gfd } = attach(s);
    expect(() => s.core.iommuGroups.deviceUseDefaultDomain(sib)).toThrow(
      expect.objectContaining({ code: 'EBUSY' }),
    );
    ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER);
    expect(() => s.core.iommuGroups.deviceUseDefaultDomain(sib)).not.toThrow();
  });
});

describe('VFIO_GROUP_UNSET_CONTAINER', () => {
  it('without a container it is EINVAL', () => {
    const s = setup();
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    expect(() => ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });

  it('with a device fd open it is EBUSY and the group stays attached', () => {
    const s = setup();
    const { gfd } = attach(s);
    const dfd = openDevice(s, gfd);
    expect(() => ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER)).toThrow(
      expect.objectContaining({ code: 'EBUSY' }),
    );
    expect(status(s, gfd) & VFIO_GROUP_FLAGS_CONTAINER_SET).toBeTruthy();
    expect(s.drv.instances[0]!.groups).toEqual([5]);
    s.fds.close(dfd);
    expect(ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER)).toBe(0);
  });

  it('the last group leaving releases the backend; the container can pick one again', () => {
    const s = setup();
    const { cfd, gfd } = attach(s);
    const c = s.fds.getAs(cfd, VfioContainerFile).container;
    ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER);
    expect(s.drv.instances[0]!.log).toEqual(['attach 5', 'detach 5', 'release']);
    expect(c.driver).toBeUndefined();
    expect(c.refs).toBe(1);
    expect(status(s, gfd)).toBe(VFIO_GROUP_FLAGS_VIABLE);
    ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
    ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
    expect(s.drv.live).toHaveLength(1);
  });

  it('a group leaving while another stays keeps the backend', () => {
    const s = setup();
    const ig6 = s.core.iommuGroups.alloc({ id: 6 });
    const d6 = new Device('0000:00:06.0', 'pci');
    s.core.iommuGroups.addDevice(ig6, d6);
    s.core.registerGroupDev(d6, {});
    const { cfd, gfd } = attach(s);
    const g6 = s.core.open(s.fds, '/dev/vfio/6');
    ioctl(s.fds, g6, VFIO_GROUP_SET_CONTAINER, cfd);
    ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER);
    expect(s.drv.instances[0]!.released).toBe(false);
    expect(s.drv.instances[0]!.groups).toEqual([6]);
  });

  it('closing the group fd with no device open detaches it (vfio_group_try_dissolve_container)', () => {
    const s = setup();
    const { cfd, gfd } = attach(s);
    s.fds.close(gfd);
    expect(s.drv.instances[0]!.released).toBe(true);
    expect(s.fds.getAs(cfd, VfioContainerFile).container.groups).toHaveLength(0);
  });

  it('closing the group fd while a device is open keeps the container until the device closes', () => {
    const s = setup();
    const { cfd, gfd } = attach(s);
    const dfd = openDevice(s, gfd);
    s.fds.close(gfd);
    expect(s.drv.instances[0]!.released).toBe(false);
    expect(ioctl(s.fds, dfd, 0x1234)).toBe(7);
    s.fds.close(dfd);
    expect(s.drv.instances[0]!.released).toBe(true);
    expect(s.fds.getAs(cfd, VfioContainerFile).container.groups).toHaveLength(0);
    expect(s.log).toEqual(['open 0000:00:05.0', 'ioctl 4660', 'release 0000:00:05.0']);
  });
});

describe('VFIO_GROUP_GET_DEVICE_FD', () => {
  it('without a container, or without an IOMMU set, it is EINVAL', () => {
    const s = setup();
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    expect(() => openDevice(s, gfd)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
    expect(() => openDevice(s, gfd)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(s.log).toEqual([]);
    expect(s.vdev.openCount).toBe(0);
  });

  it('a group that became non-viable after joining is EINVAL', () => {
    const s = setup();
    const { gfd } = attach(s);
    addSibling(s);
    expect(() => openDevice(s, gfd)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(s.vdev.openCount).toBe(0);
  });

  it('an unknown name is ENODEV; a name of a page or more EINVAL; not a string EFAULT', () => {
    const s = setup();
    const { gfd } = attach(s);
    expect(() => openDevice(s, gfd, '0000:00:07.0')).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(() => openDevice(s, gfd, 'x'.repeat(4096))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => ioctl(s.fds, gfd, VFIO_GROUP_GET_DEVICE_FD, 5)).toThrow(
      expect.objectContaining({ code: 'EFAULT' }),
    );
    // None of these took a container user: UNSET still works.
    expect(ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER)).toBe(0);
  });

  it('open runs on the first open only, release on the last close', () => {
    const s = setup();
    const { gfd } = attach(s);
    const a = openDevice(s, gfd);
    const b = openDevice(s, gfd);
    expect(a).not.toBe(b);
    expect(s.fds.getAs(a, VfioDeviceFile).device).toBe(s.vdev);
    expect(s.vdev.openCount).toBe(2);
    s.fds.close(a);
    expect(s.log).toEqual(['open 0000:00:05.0']);
    s.fds.close(b);
    expect(s.log).toEqual(['open 0000:00:05.0', 'release 0000:00:05.0']);
    expect(s.vdev.openCount).toBe(0);
  });

  it('a driver whose open fails: the error comes back, open_count and container users are undone', () => {
    const s = setup({
      ops: {
        open: () => {
          throw new KernelError('EIO', 'fake');
        },
      },
    });
    const { gfd } = attach(s);
    expect(() => openDevice(s, gfd)).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(s.vdev.openCount).toBe(0);
    expect(s.fds.openCount).toBe(2);
    expect(ioctl(s.fds, gfd, VFIO_GROUP_UNSET_CONTAINER)).toBe(0);
  });

  it('ops.match lets a driver accept other names', () => {
    const s = setup({ ops: { match: (_d, n) => n === 'alias' } });
    const { gfd } = attach(s);
    expect(() => openDevice(s, gfd)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    expect(s.fds.getAs(openDevice(s, gfd, 'alias'), VfioDeviceFile).device).toBe(s.vdev);
  });

  it('an unknown group ioctl is ENOTTY', () => {
    const s = setup();
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    expect(() => ioctl(s.fds, gfd, 0x3b00)).toThrow(expect.objectContaining({ code: 'ENOTTY' }));
  });
});
