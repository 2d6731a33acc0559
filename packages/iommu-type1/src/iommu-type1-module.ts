import { defineModule, type VmmModule } from '@tsvirt/core-bus';
import { HOST_MM, type MmStruct } from '@tsvirt/host-mm';
import { VFIO_CORE, type VfioCore } from '@tsvirt/vfio-core';
import type { HwIommuConfig } from './iommu-domain.ts';
import { VfioIommuType1Driver } from './vfio-iommu-type1-driver.ts';

/** DI token of the registered type1 backend (a VfioIommuType1Driver). */
export const VFIO_IOMMU_TYPE1_DRIVER = Symbol.for('iommu-type1.VfioIommuType1Driver');

/**
 * A host-scope module: the type1 backend over the VMM process's mm
 * (HOST_MM), registered into the host's VfioCore as
 * vfio_register_iommu_driver() does at module load.
 */
export function createIommuType1Module(
  opts: { dmaEntryLimit?: number; hwIommu?: HwIommuConfig } = {},
): VmmModule {
  return defineModule({
    name: 'iommu-type1',
    scope: 'host',
    dependsOn: ['host-mm', 'vfio-core'],
    register(c) {
      const mm = c.resolve<MmStruct>(HOST_MM);
      const drv = new VfioIommuType1Driver({ mm, ...opts });
      c.registerInstance(VFIO_IOMMU_TYPE1_DRIVER, drv);
      c.resolve<VfioCore>(VFIO_CORE).registerIommuDriver(drv);
    },
  });
}

/** The VMM module that registers the type1 backend with vfio-core (module_init(vfio_iommu_type1_init)). */
export const iommuType1Module = createIommuType1Module();
