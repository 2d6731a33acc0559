export * from './exit.ts';
export type { PhysMemory } from './phys-memory.ts';
export type { Arm64Vcpu } from './vcpu.ts';
