import { coreBusModule, DRIVER_CORE, type DriverCore, ModuleLoader } from '@tsvirt/core-bus';
import { VFIO_CORE, type VfioCore, vfioCoreModule } from '@tsvirt/vfio-core';
import { expect, it } from 'vitest';
import { MDEV_CORE, type MdevCore, mdevCoreModule } from '../src/index.ts';
import { U1, vendor } from './helpers.ts';

it('the module registers one MdevCore on the host driver core, with groups from vfio-core', () => {
  const loader = new ModuleLoader();
  loader.loadHost([mdevCoreModule, vfioCoreModule, coreBusModule]);
  const core = loader.host.resolve<MdevCore>(MDEV_CORE);
  const vfio = loader.host.resolve<VfioCore>(VFIO_CORE);
  expect(core.driverCore).toBe(loader.host.resolve<DriverCore>(DRIVER_CORE));
  expect(core.driverCore.hasBus('mdev')).toBe(true);
  core.registerParent({ name: 'p', ops: vendor().ops, types: [{ id: 't', deviceApi: 'vfio-pci' }] });
  const m = core.createDevice('p', 'p-t', U1);
  const ig = vfio.iommuGroups.ofDevice(m);
  expect(ig).toBe(m.iommuGroup);
  expect(ig?.mdev).toBe(true);
  core.removeDevice(U1);
  expect(vfio.iommuGroups.ofDevice(m)).toBeUndefined();
  expect(vfio.iommuGroups.get(ig!.id)).toBeUndefined();
});
