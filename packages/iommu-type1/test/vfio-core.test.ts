import { Device, FdTable, ModuleLoader } from '@tsvirt/core-bus';
import {
  HOST_MM,
  hostMmModule,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  type MmStruct,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import {
  ioctl,
  VFIO_CHECK_EXTENSION,
  VFIO_CORE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_GROUP_UNSET_CONTAINER,
  VFIO_IOMMU_NOTIFY,
  VFIO_SET_IOMMU,
  VfioContainerFile,
  type VfioCore,
  vfio_dma_rw,
  vfio_pin_pages,
  vfio_register_notifier,
  vfio_unpin_pages,
  vfioCoreModule,
} from '@tsvirt/vfio-core';
import { expect, it } from 'vitest';
import {
  IOMMU_READ,
  iommuType1Module,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_IOMMU_TYPE1_DRIVER,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_TYPE1v2_IOMMU,
  type VfioIommuType1,
  VfioIommuType1Driver,
} from '../src/index.ts';

it('loads as a module into vfio-core and serves a container end to end', () => {
  const loader = new ModuleLoader();
  loader.loadHost([iommuType1Module, vfioCoreModule, hostMmModule]);
  const vfio = loader.host.resolve<VfioCore>(VFIO_CORE);
  const mm = loader.host.resolve<MmStruct>(HOST_MM);
  expect(loader.host.resolve(VFIO_IOMMU_TYPE1_DRIVER)).toBeInstanceOf(VfioIommuType1Driver);
  expect(vfio.iommuDrivers().map((d) => d.name)).toEqual(['vfio-iommu-type1']);

  // A mediated device in its own emulated group.
  const vdev = vfio.registerEmulatedIommuDev(new Device('mdev0', 'mdev'), {});
  const fds = new FdTable();
  const container = vfio.open(fds, '/dev/vfio/vfio');
  const group = vfio.open(fds, `/dev/vfio/${vdev.group.id}`);
  expect(ioctl(fds, container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)).toBe(1);
  ioctl(fds, group, VFIO_GROUP_SET_CONTAINER, container);
  ioctl(fds, container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const device = ioctl(fds, group, VFIO_GROUP_GET_DEVICE_FD, 'mdev0');

  const ram = mm.mmap({ length: 1 << 20, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  ioctl(fds, container, VFIO_IOMMU_MAP_DMA, {
    argsz: 32,
    flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
    vaddr: BigInt(ram),
    iova: 0x100000n,
    size: 1n << 20n,
  });

  // The vendor driver's side, through vfio-core's external API.
  const events: bigint[] = [];
  vfio_register_notifier(vdev, VFIO_IOMMU_NOTIFY, VFIO_IOMMU_NOTIFY_DMA_UNMAP, (_e, d) => {
    events.push(d.iova);
    vfio_unpin_pages(vdev, [0x101]);
  });
  const [pfn] = vfio_pin_pages(vdev, [0x101], IOMMU_READ);
  vfio_dma_rw(vdev, 0x101000n, Uint8Array.of(0x5a), true);
  expect(mm.phys.frame(pfn!)[0]).toBe(0x5a);
  expect(mm.lockedVm).toBe(1);

  const unmap = { argsz: 24, flags: 0, iova: 0x100000n, size: 1n << 20n };
  ioctl(fds, container, VFIO_IOMMU_UNMAP_DMA, unmap);
  expect(unmap.size).toBe(1n << 20n);
  expect(events).toEqual([0x100000n]);
  expect(mm.lockedVm).toBe(0);
  expect(mm.phys.pinnedFrames).toBe(0);
  // A mapping left behind goes with the last group (the backend is released).
  ioctl(fds, container, VFIO_IOMMU_MAP_DMA, {
    argsz: 32,
    flags: VFIO_DMA_MAP_FLAG_READ,
    vaddr: BigInt(ram),
    iova: 0n,
    size: 4096n,
  });
  const backend = fds.getAs(container, VfioContainerFile).container.iommu as VfioIommuType1;
  expect(backend.dmaList.size).toBe(1);
  fds.close(device);
  ioctl(fds, group, VFIO_GROUP_UNSET_CONTAINER);
  expect(backend.dmaList.size).toBe(0);
});
