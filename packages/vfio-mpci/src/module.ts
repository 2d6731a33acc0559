import { defineModule } from '@tsvirt/core-bus';
import { MDEV_CORE, type MdevCore } from '@tsvirt/mdev-core';
import { VFIO_CORE, type VfioCore } from '@tsvirt/vfio-core';
import { VfioMpciDriver } from './mpci-driver.ts';

/** DI token of the host's vfio-mpci driver. */
export const VFIO_MPCI_DRIVER = Symbol.for('vfio-mpci.VfioMpciDriver');

/** vfio-mpci as a host module: its driver registered on the mdev bus. */
export const vfioMpciModule = defineModule({
  name: 'vfio-mpci',
  scope: 'host',
  dependsOn: ['mdev-core', 'vfio-core'],
  register(c) {
    const drv = new VfioMpciDriver(c.resolve<VfioCore>(VFIO_CORE));
    c.resolve<MdevCore>(MDEV_CORE).registerDriver(drv);
    c.registerInstance(VFIO_MPCI_DRIVER, drv);
  },
});
