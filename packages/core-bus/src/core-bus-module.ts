import { DriverCore } from './driver-model.ts';
import { defineModule } from './module.ts';
import { DRIVER_CORE } from './tokens.ts';

/** The host's driver core, one per host container. */
export const coreBusModule = defineModule({
  name: 'core-bus',
  scope: 'host',
  register(c) {
    c.registerInstance(DRIVER_CORE, new DriverCore());
  },
});
