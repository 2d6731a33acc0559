export * from './constants.ts';
export { GStage, type GStageLeaf, type GStagePtep, type GStageWpMasked } from './gstage.ts';
export { type GStageFaultResult, KvmRiscvMmu, type KvmRiscvMmuStats } from './mmu.ts';
export { KvmMmuMemoryCache } from './page-cache.ts';
export { VmidAllocator } from './vmid.ts';
