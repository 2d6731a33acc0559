import { DRIVER_CORE, type DriverCore, defineModule } from '@tsvirt/core-bus';
import { VFIO_CORE, type VfioCore } from '@tsvirt/vfio-core';
import { MdevCore } from './mdev-core.ts';
import { MDEV_CORE } from './tokens.ts';

/**
 * The mdev core as a host module: one MdevCore on the host's driver core,
 * taking each mdev's IOMMU group from vfio-core's registry so that
 * /dev/vfio/<id> and the mdev's `iommu_group` agree.
 */
export const mdevCoreModule = defineModule({
  name: 'mdev-core',
  scope: 'host',
  dependsOn: ['core-bus', 'vfio-core'],
  register(c) {
    const vfio = c.resolve<VfioCore>(VFIO_CORE);
    c.registerInstance(
      MDEV_CORE,
      new MdevCore(c.resolve<DriverCore>(DRIVER_CORE), { groups: vfio.mdevIommuGroups }),
    );
  },
});
