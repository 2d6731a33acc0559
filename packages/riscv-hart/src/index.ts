export * from './csr.ts';
export type { ExitKind, HartExit } from './exit.ts';
export { Hart, type HartOptions, htinstLoad, htinstStore, SAVED_CSRS } from './hart.ts';
export { HTINST_PTE_READ, HTINST_PTE_WRITE, type MmuContext } from './mmu.ts';
export { div32, div64, mul64, mulh64, mulhsu64, mulhu32, mulhu64 } from './muldiv.ts';
export { type MemViews, memViews, type PhysMemory } from './phys-memory.ts';
export { ReservationSet } from './reservation.ts';
export { expandCompressed, RVC_TABLE } from './rvc.ts';
export { ACC_EXEC, ACC_READ, ACC_WRITE, TLB_SIZE, Tlb, TlbSet, TlbWay } from './tlb.ts';
