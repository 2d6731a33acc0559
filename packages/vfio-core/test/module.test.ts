import { coreBusModule, ModuleLoader } from '@tsvirt/core-bus';
import { expect, it } from 'vitest';
import { VFIO_CORE, VfioCore, vfioCoreModule } from '../src/index.ts';

it('vfioCoreModule registers one VfioCore per host under VFIO_CORE', () => {
  const loader = new ModuleLoader();
  loader.loadHost([coreBusModule, vfioCoreModule]);
  const core = loader.host.resolve<VfioCore>(VFIO_CORE);
  expect(core).toBeInstanceOf(VfioCore);
  expect(loader.host.resolve(VFIO_CORE)).toBe(core);
  const other = new ModuleLoader();
  other.loadHost([vfioCoreModule]);
  expect(other.host.resolve(VFIO_CORE)).not.toBe(core);
});
