import { coreBusModule, DRIVER_CORE, type DriverCore, ModuleLoader } from '@tsvirt/core-bus';
import { expect, it } from 'vitest';
import { MDEV_CORE, type MdevCore, mdevCoreModule } from '../src/index.ts';

it('the module registers one MdevCore on the host driver core, with the mdev bus', () => {
  const loader = new ModuleLoader();
  loader.loadHost([coreBusModule, mdevCoreModule]);
  const core = loader.host.resolve<MdevCore>(MDEV_CORE);
  expect(core.driverCore).toBe(loader.host.resolve<DriverCore>(DRIVER_CORE));
  expect(core.driverCore.hasBus('mdev')).toBe(true);
});
