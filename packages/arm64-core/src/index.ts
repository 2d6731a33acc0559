export { Arm64Cpu, type Arm64CpuOptions, PSTATE_EL1H, PSTATE_RESET } from './cpu.ts';
export * from './exit.ts';
export { Mmu, type TlbEntry, type Translation, type TranslationRegs } from './mmu.ts';
export type { PhysMemory } from './phys-memory.ts';
export * from './sysreg.ts';
export type { SysRegAccess } from './sysregs-table.ts';
export type { Arm64Vcpu } from './vcpu.ts';
