import { coreBusModule, ModuleLoader } from '@tsvirt/core-bus';
import { MDEV_CORE, type MdevCore, mdevCoreModule } from '@tsvirt/mdev-core';
import { VFIO_CORE, type VfioCore, vfioCoreModule } from '@tsvirt/vfio-core';
import { expect, it } from 'vitest';
import { VFIO_MPCI_DRIVER, type VfioMpciDriver, vfioMpciModule } from '../src/index.ts';
import { FakeHostMemory, fakeVendor, UUID } from './fake-vendor.ts';

it('the module registers the driver on the mdev bus; created mdevs become VFIO devices', () => {
  const loader = new ModuleLoader();
  loader.loadHost([vfioMpciModule, mdevCoreModule, vfioCoreModule, coreBusModule]);
  const drv = loader.host.resolve<VfioMpciDriver>(VFIO_MPCI_DRIVER);
  const mdevs = loader.host.resolve<MdevCore>(MDEV_CORE);
  expect(mdevs.driverCore.drivers('mdev')).toEqual([drv]);
  mdevs.registerParent({
    name: 'g',
    ops: fakeVendor(new FakeHostMemory()).ops,
    types: [{ id: 'pci', deviceApi: 'vfio-pci' }],
  });
  const mdev = mdevs.createDevice('g', 'g-pci', UUID);
  expect(mdev.driver).toBe(drv);
  expect(loader.host.resolve<VfioCore>(VFIO_CORE).groupIds()).toEqual([mdev.iommuGroup!.id]);
});
