// The RISC-V F and D extensions' computational instructions (OP-FP and the
// fused multiply-add opcodes). Loads and stores live with the rest of the hart.
export * from './consts.ts';
export { executeFp } from './execute.ts';
export { createFpuState, type FpuState } from './state.ts';
