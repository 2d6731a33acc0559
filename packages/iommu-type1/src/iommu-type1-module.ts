import { defineModule, type VmmModule } from '@tsvirt/core-bus';
import { HOST_MM, type MmStruct } from '@tsvirt/host-mm';
import type { HwIommuConfig } from './iommu-domain.ts';
import { VfioIommuType1Driver } from './vfio-iommu-type1-driver.ts';

/** DI token of the type1 backend (a VfioIommuDriver) for vfio-core to register. */
export const VFIO_IOMMU_TYPE1_DRIVER = Symbol.for('iommu-type1.VfioIommuType1Driver');

/** A host-scope module providing the type1 backend over the VMM process's mm (HOST_MM). */
export function createIommuType1Module(
  opts: { dmaEntryLimit?: number; hwIommu?: HwIommuConfig } = {},
): VmmModule {
  return defineModule({
    name: 'iommu-type1',
    scope: 'host',
    dependsOn: ['host-mm'],
    register(c) {
      const mm = c.resolve<MmStruct>(HOST_MM);
      c.registerInstance(VFIO_IOMMU_TYPE1_DRIVER, new VfioIommuType1Driver({ mm, ...opts }));
    },
  });
}

export const iommuType1Module = createIommuType1Module();
