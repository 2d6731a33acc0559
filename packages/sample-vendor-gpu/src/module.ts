import { defineModule, type VmmModule, WORK_QUEUE, type WorkQueue } from '@tsvirt/core-bus';
import { HOST_PHYS_MEMORY, type HostPhysMemory } from '@tsvirt/host-mm';
import { MDEV_CORE, type MdevCore } from '@tsvirt/mdev-core';
import { SampleGpuDriver, type SampleGpuOptions } from './parent.ts';

/** DI token of the registered SampleGpuDriver. */
export const SAMPLE_GPU_DRIVER = Symbol.for('sample-vendor-gpu.SampleGpuDriver');

/**
 * The sample GPU as a plugin: a host module that registers the mdev parent
 * (its types from the VRAM pool) with the host's mdev core, where
 * vfio-mpci binds each instance. Its DMA engines run on core-bus's host
 * workqueue (WORK_QUEUE).
 */
export function createSampleGpuModule(opts: SampleGpuOptions = {}): VmmModule {
  return defineModule({
    name: 'sample-vendor-gpu',
    scope: 'host',
    dependsOn: ['core-bus', 'host-mm', 'mdev-core', 'vfio-mpci'],
    register(c) {
      const drv = new SampleGpuDriver(
        c.resolve<HostPhysMemory>(HOST_PHYS_MEMORY),
        c.resolve<WorkQueue>(WORK_QUEUE),
        opts,
      );
      drv.register(c.resolve<MdevCore>(MDEV_CORE));
      c.registerInstance(SAMPLE_GPU_DRIVER, drv);
    },
  });
}

/** The plugin with the defaults (128 MiB pool, parent `sample-gpu`). */
const sampleGpuModule = createSampleGpuModule();
export default sampleGpuModule;
export { sampleGpuModule };
