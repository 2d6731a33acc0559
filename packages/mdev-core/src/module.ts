import { DRIVER_CORE, type DriverCore, defineModule } from '@tsvirt/core-bus';
import { MdevCore } from './mdev-core.ts';
import { MDEV_CORE } from './tokens.ts';

/** The mdev core as a host module: one MdevCore on the host's driver core. */
export const mdevCoreModule = defineModule({
  name: 'mdev-core',
  scope: 'host',
  dependsOn: ['core-bus'],
  register(c) {
    c.registerInstance(MDEV_CORE, new MdevCore(c.resolve<DriverCore>(DRIVER_CORE)));
  },
});
