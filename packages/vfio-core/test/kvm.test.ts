import { EventFd } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import {
  ioctl,
  VFIO_DMA_CC_IOMMU,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_SET_IOMMU,
  VFIO_TYPE1_IOMMU,
  vfio_external_check_extension,
  vfio_file_enforced_coherent,
  vfio_file_get,
  vfio_file_iommu_group,
  vfio_file_is_group,
  vfio_file_put,
  vfio_file_set_kvm,
  vfio_group_get_external_user,
  vfio_group_put_external_user,
} from '../src/index.ts';
import { FakeIommuDriver } from './fake-iommu.ts';
import { attach, openDevice, setup } from './helpers.ts';

const code = (c: string) => expect.objectContaining({ code: c });

describe('KVM hooks on VFIO files', () => {
  it('a bad fd is EBADF; only an open group file is a group', () => {
    const s = setup();
    const { cfd, gfd } = attach(s);
    const efd = s.fds.install(new EventFd());
    expect(() => s.fds.get(77)).toThrow(code('EBADF'));
    expect(vfio_file_is_group(s.fds.get(gfd))).toBe(true);
    expect(vfio_file_is_group(s.fds.get(cfd))).toBe(false);
    expect(vfio_file_is_group(s.fds.get(efd))).toBe(false);
    expect(vfio_file_iommu_group(s.fds.get(gfd))).toBe(5);
    expect(() => vfio_file_iommu_group(s.fds.get(efd))).toThrow(code('EINVAL'));
    expect(() => vfio_file_set_kvm(s.fds.get(cfd), {})).toThrow(code('EINVAL'));
    expect(() => vfio_file_get(s.fds.get(efd))).toThrow(code('EINVAL'));
  });

  it('a file reference keeps the group file (and its container) past the fd close', () => {
    const s = setup();
    const { gfd } = attach(s);
    const ref = vfio_file_get(s.fds.get(gfd));
    s.fds.close(gfd);
    expect(vfio_file_is_group(ref)).toBe(true);
    expect(s.drv.instances[0]!.released).toBe(false);
    expect(() => s.core.open(s.fds, '/dev/vfio/5')).toThrow(code('EBUSY'));
    vfio_file_put(ref);
    expect(vfio_file_is_group(ref)).toBe(false);
    expect(s.drv.instances[0]!.released).toBe(true);
    expect(() => vfio_file_get(ref)).toThrow(code('EINVAL'));
  });

  it('set_kvm: a device opened afterwards sees the KVM, and loses it on last close', () => {
    const s = setup();
    const { gfd } = attach(s);
    const kvm = { vm: 1 };
    vfio_file_set_kvm(s.fds.get(gfd), kvm);
    const dfd = openDevice(s, gfd);
    expect(s.vdev.kvm).toBe(kvm);
    s.fds.close(dfd);
    expect(s.vdev.kvm).toBeUndefined();
  });

  it('external user: not a group EINVAL; no container or backend EINVAL; holds the container until put', () => {
    const s = setup();
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    expect(() => vfio_group_get_external_user(s.fds.get(cfd))).toThrow(code('EINVAL'));
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    expect(() => vfio_group_get_external_user(s.fds.get(gfd))).toThrow(code('EINVAL'));
    s.fds.close(gfd);
    s.fds.close(cfd);
    const fds = attach(s);
    const g = vfio_group_get_external_user(s.fds.get(fds.gfd));
    expect(g.externalRefs).toBe(1);
    expect(() => ioctl(s.fds, fds.gfd, VFIO_GROUP_UNSET_CONTAINER)).toThrow(code('EBUSY'));
    s.fds.close(fds.gfd);
    expect(s.drv.instances[0]!.released).toBe(false);
    expect(vfio_external_check_extension(g, VFIO_TYPE1_IOMMU)).toBe(1);
    vfio_group_put_external_user(g);
    expect(s.drv.instances[0]!.released).toBe(true);
    expect(() => vfio_group_put_external_user(g)).toThrow(code('EINVAL'));
    expect(vfio_external_check_extension(g, VFIO_TYPE1_IOMMU)).toBe(0);
  });

  it('enforced coherency: true without a container; else CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) on the container', () => {
    const s = setup();
    const cc = new FakeIommuDriver('cc', [VFIO_TYPE1_IOMMU], [VFIO_DMA_CC_IOMMU]);
    s.core.registerIommuDriver(cc);
    const gfd = s.core.open(s.fds, '/dev/vfio/5');
    expect(vfio_file_enforced_coherent(s.fds.get(gfd))).toBe(true);
    const cfd = s.core.open(s.fds, '/dev/vfio/vfio');
    ioctl(s.fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
    // No backend chosen yet: every registered backend is asked; 'cc' says yes.
    expect(vfio_file_enforced_coherent(s.fds.get(gfd))).toBe(true);
    // The first registered backend (no DMA_CC) is chosen: now it alone answers.
    ioctl(s.fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU);
    expect(vfio_file_enforced_coherent(s.fds.get(gfd))).toBe(false);
  });
});
