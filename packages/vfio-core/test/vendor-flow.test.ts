import { Device, FdTable } from '@tsvirt/core-bus';
import { expect, it } from 'vitest';
import {
  type DmaUnmapEvent,
  IOMMU_READ,
  IOMMU_WRITE,
  ioctl,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_IOMMU_NOTIFY,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioCore,
  type VfioDevice,
  vfio_dma_rw,
  vfio_pin_pages,
  vfio_register_notifier,
  vfio_unpin_pages,
  vfio_unregister_notifier,
} from '../src/index.ts';
import { FakeIommuDriver } from './fake-iommu.ts';

it('a mediated vendor driver: notifier in open, pins and DMA while open, unpins on unmap, cleans up on release', () => {
  const core = new VfioCore();
  const drv = new FakeIommuDriver();
  core.registerIommuDriver(drv);
  const pinned = new Set<number>();
  const onUnmap = (_ev: number, d: DmaUnmapEvent) => {
    const first = Number(d.iova >> 12n);
    const last = Number((d.iova + d.size - 1n) >> 12n);
    const drop = [...pinned].filter((p) => p >= first && p <= last);
    if (drop.length) vfio_unpin_pages(vdev, drop);
    for (const p of drop) pinned.delete(p);
  };
  const mdev = new Device('83b8f4f2-509f-382f-3c1e-e6bfe0fa1001', 'mdev');
  const vdev: VfioDevice = core.registerEmulatedIommuDev(mdev, {
    open: (v) => vfio_register_notifier(v, VFIO_IOMMU_NOTIFY, VFIO_IOMMU_NOTIFY_DMA_UNMAP, onUnmap),
    release: (v) => {
      if (pinned.size) vfio_unpin_pages(v, [...pinned]);
      pinned.clear();
      vfio_unregister_notifier(v, VFIO_IOMMU_NOTIFY, onUnmap);
    },
    ioctl: (v) => {
      // "doorbell": pin two pages and write a fence value by DMA.
      for (const p of vfio_pin_pages(v, [0x1, 0x2], IOMMU_READ | IOMMU_WRITE))
        expect(p).toBeGreaterThan(0x80000);
      pinned.add(0x1).add(0x2);
      vfio_dma_rw(v, 0x1008n, Uint8Array.of(0xfe), true);
      return 0;
    },
  });

  const fds = new FdTable();
  const cfd = core.open(fds, '/dev/vfio/vfio');
  const gfd = core.open(fds, `/dev/vfio/${vdev.group.id}`);
  ioctl(fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
  ioctl(fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const dfd = ioctl(fds, gfd, VFIO_GROUP_GET_DEVICE_FD, mdev.name);
  const iommu = drv.instances[0]!;
  expect(iommu.notifiers.size).toBe(1);

  ioctl(fds, dfd, 0x1234);
  expect(iommu.memory[0x1008]).toBe(0xfe);
  expect([...iommu.pins.keys()]).toEqual([1, 2]);
  // The user unmaps page 2: the driver is told and unpins it.
  iommu.notifyUnmap({ iova: 0x2000n, size: 0x1000n });
  expect([...iommu.pins.keys()]).toEqual([1]);

  // The process dies: the release op unpins the rest and unregisters.
  fds.closeAll();
  expect(iommu.pins.size).toBe(0);
  expect(iommu.notifiers.size).toBe(0);
  expect(iommu.released).toBe(true);
  expect(core.unregisterGroupDev(vdev)).toBe(true);
  expect(core.groupIds()).toEqual([]);
});
