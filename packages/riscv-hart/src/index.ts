export * from './aia.ts';
export * from './csr.ts';
export type { ExitKind, HartExit } from './exit.ts';
export type { FpuState } from './fpu/state.ts';
export {
  Hart,
  type HartOptions,
  JIT_COMPILE_CHARGE,
  JIT_HOT,
  WASM_EARLY_BLOCKS,
  WASM_HOT,
  WASM_WARM_HOT,
} from './hart.ts';
export { clearBlockFunctionCache } from './jit.ts';
export { WasmTier } from './jit-wasm.ts';
export { htinstLoad, htinstStore } from './memory-access.ts';
export { HTINST_PTE_READ, HTINST_PTE_WRITE, type MmuContext } from './mmu.ts';
export { div32, div64, mul64, mulh64, mulhsu64, mulhu32, mulhu64 } from './muldiv.ts';
export { frameOf, type MemViews, memViews, type PhysMemory } from './phys-memory.ts';
export { ReservationSet } from './reservation.ts';
export { expandCompressed, RVC_TABLE, rvcExpand } from './rvc.ts';
export { HART_SNAPSHOT_MAGIC, HART_SNAPSHOT_VERSION, restoreHart, SAVED_CSRS, saveHart } from './snapshot.ts';
export { ACC_EXEC, ACC_READ, ACC_WRITE, TLB_SIZE, Tlb, TlbSet, TlbWay } from './tlb.ts';
export { PendingTrap, TRAP_CHARGE } from './trap.ts';
export { arenaOf, WasmArena } from './wasm-arena.ts';
