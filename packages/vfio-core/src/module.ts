import { defineModule } from '@tsvirt/core-bus';
import { VfioCore } from './vfio-core.ts';

/** DI token of the host's VfioCore (the vfio module's global state). */
export const VFIO_CORE = Symbol.for('vfio-core.VfioCore');

/**
 * The VFIO core as a host module: one VfioCore per host. IOMMU backends
 * (iommu-type1) and bus drivers (vfio-mpci) resolve VFIO_CORE and register
 * into it.
 */
export const vfioCoreModule = defineModule({
  name: 'vfio-core',
  scope: 'host',
  register(c) {
    c.registerInstance(VFIO_CORE, new VfioCore());
  },
});
