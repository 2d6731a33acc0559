import { Device, EventFd, KernelError } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import {
  ioctl,
  VFIO_API_VERSION,
  VFIO_CHECK_EXTENSION,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_GET_STATUS,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_MAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_SPAPR_TCE_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioContainerFile,
} from '../src/index.ts';
import { FakeIommuDriver } from './fake-iommu.ts';
import { attach, setup } from './helpers.ts';

const containerOf = (s: ReturnType<typeof setup>, cfd: number) =>
  s.fds.getAs(cfd, VfioContainerFile).container;

describe('container ioctls (vfio_fops_unl_ioctl)', () => {
  it('GET_API_VERSION is VFIO_API_VERSION', () => {
    const s = setup();
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    expect(ioctl(s.fds, cfd, VFIO_GET_API_VERSION)).toBe(VFIO_API_VERSION);
  });

  it('each open of /dev/vfio/vfio is a new container', () => {
    const s = setup();
    const a = s.core.open(s.fds, '/dev/vfio/vfio');
    const b = s.core.open(s.fds, '/dev/vfio/vfio');
    expect(containerOf(s, a)).not.toBe(containerOf(s, b));
  });

  it('CHECK_EXTENSION asks every backend when none is set; first positive answer wins', () => {
    const s = setup();
    s.core.registerIommuDriver(new FakeIommuDriver('spapr', [VFIO_SPAPR_TCE_IOMMU]));
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    expect(ioctl(s.fds, cfd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)).toBe(1);
    expect(ioctl(s.fds, cfd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU)).toBe(1);
    expect(ioctl(s.fds, cfd, VFIO_CHECK_EXTENSION, 99)).toBe(0);
  });

  it('CHECK_EXTENSION with a backend set asks only that backend', () => {
    const s = setup();
    s.core.registerIommuDriver(new FakeIommuDriver('spapr', [VFIO_SPAPR_TCE_IOMMU]));
    const { cfd } = attach(s);
    expect(ioctl(s.fds, cfd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU)).toBe(0);
    expect(ioctl(s.fds, cfd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU)).toBe(1);
  });

  it('CHECK_EXTENSION with no backend registered answers 0', () => {
    const s = setup();
    s.core.unregisterIommuDriver(s.drv);
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    expect(ioctl(s.fds, cfd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU)).toBe(0);
  });

  it('a non-integer argument is EFAULT', () => {
    const s = setup();
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    expect(() => ioctl(s.fds, cfd, VFIO_CHECK_EXTENSION, 'x')).toThrow(
      expect.objectContaining({ code: 'EFAULT' }),
    );
  });

  it('SET_IOMMU on an empty container is EINVAL', () => {
    const s = setup();
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    expect(() => ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'VFIO_SET_IOMMU' }),
    );
    expect(s.drv.instances).toHaveLength(0);
    expect(containerOf(s, cfd).driver).toBeUndefined();
  });

  it('SET_IOMMU with a type no backend serves is ENODEV and changes nothing', () => {
    const s = setup();
    const { cfd } = attach(s, { iommu: false });
    expect(() => ioctl(s.fds, cfd, VFIO_SET_IOMMU, 42)).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    const c = containerOf(s, cfd);
    expect(c.driver).toBeUndefined();
    expect(c.groups.map((g) => g.id)).toEqual([5]);
    expect(s.drv.instances).toHaveLength(0);
    // ...and the container still works afterwards.
    expect(ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)).toBe(0);
    expect(s.drv.instances[0]!.type).toBe(VFIO_TYPE1_IOMMU);
  });

  it('SET_IOMMU opens the backend and attaches every group', () => {
    const s = setup();
    const { cfd } = attach(s);
    const c = containerOf(s, cfd);
    expect(c.driver).toBe(s.drv);
    expect(s.drv.instances).toHaveLength(1);
    expect(s.drv.instances[0]!.groups).toEqual([5]);
  });

  it('SET_IOMMU a second time is EINVAL (the backend stays)', () => {
    const s = setup();
    const { cfd } = attach(s);
    expect(() => ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(s.drv.instances).toHaveLength(1);
    expect(s.drv.instances[0]!.released).toBe(false);
  });

  it('a backend that refuses a group is unwound: earlier groups detached, instance released, error returned', () => {
    const s = setup();
    const ig6 = s.core.iommuGroups.alloc({ id: 6 });
    const pdev6 = new Device('0000:00:06.0', 'pci');
    s.core.iommuGroups.addDevice(ig6, pdev6);
    s.core.registerGroupDev(pdev6, {});
    const { cfd } = attach(s, { iommu: false });
    const g6 = s.core.open(s.fds, '/dev/vfio/6');
    ioctl(s.fds, g6, VFIO_GROUP_SET_CONTAINER, cfd);
    s.drv.failAttach.set(6, new KernelError('ENOSPC', 'fake'));
    expect(() => ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)).toThrow(
      expect.objectContaining({ code: 'ENOSPC' }),
    );
    const inst = s.drv.instances[0]!;
    expect(inst.log).toEqual(['attach 5', 'detach 5', 'release']);
    expect(containerOf(s, cfd).driver).toBeUndefined();
    expect(containerOf(s, cfd).groups).toHaveLength(2);
  });

  it('a later backend gets its chance when the first claiming one fails to open', () => {
    const s = setup();
    const second = new FakeIommuDriver('second');
    s.core.registerIommuDriver(second);
    s.drv.failOpen = new KernelError('ENOMEM', 'fake');
    const { cfd } = attach(s);
    expect(containerOf(s, cfd).driver).toBe(second);
  });

  it('a backend that fails to open makes SET_IOMMU fail with its error', () => {
    const s = setup();
    s.drv.failOpen = new KernelError('ENOMEM', 'fake');
    const { cfd } = attach(s, { iommu: false });
    expect(() => ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)).toThrow(
      expect.objectContaining({ code: 'ENOMEM' }),
    );
    expect(containerOf(s, cfd).driver).toBeUndefined();
  });

  it('other ioctls are EINVAL before SET_IOMMU and pass through to the backend after', () => {
    const s = setup();
    const { cfd } = attach(s, { iommu: false });
    const info = { argsz: 24, flags: 0 };
    expect(() => ioctl(s.fds, cfd, VFIO_IOMMU_GET_INFO, info)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
    expect(ioctl(s.fds, cfd, VFIO_IOMMU_GET_INFO, info)).toBe(0);
    expect(info.flags).toBe(1);
    // The backend's own answer to an unknown ioctl comes back unchanged.
    expect(() => ioctl(s.fds, cfd, VFIO_IOMMU_MAP_DMA + 100, {})).toThrow(
      expect.objectContaining({ code: 'ENOTTY' }),
    );
  });

  it('ioctl on a descriptor that is not a VFIO file is ENOTTY; on a closed one EBADF', () => {
    const s = setup();
    const efd = s.fds.install(new EventFd());
    expect(() => ioctl(s.fds, efd, VFIO_GET_API_VERSION)).toThrow(
      expect.objectContaining({ code: 'ENOTTY' }),
    );
    expect(() => ioctl(s.fds, 99, VFIO_GET_API_VERSION)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('closing the container fd while a group holds it keeps container and backend alive until the group leaves', () => {
    const s = setup();
    const { cfd, gfd } = attach(s);
    const c = containerOf(s, cfd);
    s.fds.close(cfd);
    expect(c.released).toBe(false);
    expect(c.refs).toBe(1);
    const st = { argsz: 8, flags: 0 };
    ioctl(s.fds, gfd, VFIO_GROUP_GET_STATUS, st);
    expect(st.flags & 2).toBe(2);
    expect(s.drv.instances[0]!.released).toBe(false);
    s.fds.close(gfd);
    expect(s.drv.instances[0]!.released).toBe(true);
    expect(c.released).toBe(true);
  });
});

describe('IOMMU backend registration', () => {
  it('registering the same backend twice is EINVAL', () => {
    const s = setup();
    expect(() => s.core.registerIommuDriver(s.drv)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(s.core.iommuDrivers()).toHaveLength(1);
  });

  it('unregistering an unknown backend is ENOENT; one in use is EBUSY until its container lets go', () => {
    const s = setup();
    expect(() => s.core.unregisterIommuDriver(new FakeIommuDriver('other'))).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    const { gfd } = attach(s);
    expect(() => s.core.unregisterIommuDriver(s.drv)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(s.core.iommuDrivers()).toEqual([s.drv]);
    s.fds.close(gfd);
    s.core.unregisterIommuDriver(s.drv);
    expect(s.core.iommuDrivers()).toEqual([]);
  });
});
