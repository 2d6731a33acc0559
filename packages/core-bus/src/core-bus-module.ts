import { DriverCore } from './driver-model.ts';
import { defineModule } from './module.ts';
import { DRIVER_CORE } from './tokens.ts';
import { WORK_QUEUE, WorkQueue } from './work-queue.ts';

/** The host's driver core and its workqueue (system_wq), one each per host container. */
export const coreBusModule = defineModule({
  name: 'core-bus',
  scope: 'host',
  register(c) {
    c.registerInstance(DRIVER_CORE, new DriverCore());
    c.registerInstance(WORK_QUEUE, new WorkQueue());
  },
});
