export * from './constants.ts';
export { createHostMmModule, hostMmModule } from './host-mm-module.ts';
export { type MmapArgs, MmStruct, type MmStructOptions } from './mm-struct.ts';
export type { MmuNotifier } from './mmu-notifier.ts';
export {
  type Pgprot,
  type PgprotCache,
  pgprotNoncached,
  pgprotWritecombine,
  vmGetPageProt,
} from './pgprot.ts';
export { HostPhysMemory, type HostPhysMemoryOptions } from './phys-memory.ts';
export { HOST_MM, HOST_PHYS_MEMORY } from './tokens.ts';
export { type MmapFile, VmArea, type VmAreaMm, type VmOperations } from './vma.ts';
