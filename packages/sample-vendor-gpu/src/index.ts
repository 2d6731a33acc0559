export {
  GpuConfigSpace,
  PCI_BASE_ADDRESS_MEM_PREFETCH,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  PCI_STATUS_INTERRUPT,
} from './config-space.ts';
export {
  DEFAULT_SLICE_BYTES,
  DEFAULT_SLICE_COMMANDS,
  DmaEngine,
  decodeCommand,
  type EngineState,
  engineBudget,
  type GpuCommand,
  type GpuEngineBudget,
} from './dma-engine.ts';
export {
  decodeState,
  encodeState,
  type GpuRegs,
  type GpuState,
  type Scanout,
  SGPU_STATE_MAGIC,
  SGPU_STATE_MAJOR,
  SGPU_STATE_MINOR,
} from './gpu-state.ts';
export { createSampleGpuModule, default, SAMPLE_GPU_DRIVER, sampleGpuModule } from './module.ts';
export { SAMPLE_GPU_DEFAULT_POOL, SampleGpuDriver, type SampleGpuOptions, sampleGpuOf } from './parent.ts';
export { type DisplaySnapshot, SampleGpu, validateMode } from './sample-gpu.ts';
export * from './spec.ts';
export { Vram } from './vram.ts';
