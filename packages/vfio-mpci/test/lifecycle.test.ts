import { KernelError } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import { VFIO_DEVICE_GET_INFO } from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import { mpciIrqs, mpciVfioDevice } from '../src/index.ts';
import { BAR0, BAR2, openMdev, PAGE, stack, UUID } from './fake-vendor.ts';

const info = () => ({ argsz: 16, flags: 0, num_regions: 0, num_irqs: 0, cap_offset: 0, pad: 0 });

describe('mdev removal and the VFIO device', () => {
  it('removing an open mdev is EBUSY and the device keeps working', () => {
    const s = stack();
    const { file } = openMdev(s);
    expect(errnoOf(() => s.mdevs.removeDevice(UUID))).toBe('EBUSY');
    expect(file.ioctl(VFIO_DEVICE_GET_INFO, info())).toBe(0);
  });

  it('mpciVfioDevice gives the vendor the VfioDevice for the external DMA API, while bound', () => {
    const s = stack();
    const mdev = s.mdevs.createDevice('fakegpu', 'fakegpu-pci', UUID);
    const vdev = mpciVfioDevice(mdev);
    expect(vdev).toBe(s.driver.vfioDevice(mdev));
    expect(vdev).toBe(s.vfio.deviceOf(mdev));
    s.mdevs.removeDevice(UUID);
    expect(mpciVfioDevice(mdev)).toBeUndefined();
  });

  it('a closed mdev is removed with its VFIO group', () => {
    const s = stack();
    const { dfd, gfd, cfd, mdev } = openMdev(s);
    const id = mdev.iommuGroup!.id;
    for (const fd of [dfd, gfd, cfd]) s.fds.close(fd);
    s.mdevs.removeDevice(UUID);
    expect(s.vfio.groupIds()).toEqual([]);
    expect(s.vfio.iommuGroups.get(id)).toBeUndefined();
    expect(errnoOf(() => s.vfio.open(s.fds, `/dev/vfio/${id}`))).toBe('ENOENT');
    expect(mpciIrqs(mdev)).toBeUndefined();
  });

  it('a forced removal revokes the open device; its instance returns only on the last close', () => {
    const s = stack();
    const { file, dfd, gfd, cfd, mdev } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, PAGE);
    s.mm.load(vma, vma.start);
    const type = mdev.type;
    expect(type.availableInstances).toBe(1);
    s.mdevs.unregisterParent('fakegpu');
    expect(errnoOf(() => file.ioctl(VFIO_DEVICE_GET_INFO, info()))).toBe('ENODEV');
    expect(errnoOf(() => file.read(new Uint8Array(4), BAR0))).toBe('ENODEV');
    expect(s.mm.present(vma.start)).toBe(false);
    expect(() => s.mm.load(vma, vma.start)).toThrow(KernelError);
    expect(mdev.released).toBe(false);
    expect(type.availableInstances).toBe(1);
    s.fds.close(dfd);
    expect(mdev.released).toBe(true);
    expect(type.availableInstances).toBe(2);
    s.fds.close(gfd);
    s.fds.close(cfd);
    expect(s.vfio.groupIds()).toEqual([]);
  });
});
