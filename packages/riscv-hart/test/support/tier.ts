import { WasmArena } from '../../src/wasm-arena.ts';

/**
 * The block tier the hart tests run with: TSVIRT_HART_TIER=wasm (the
 * riscv-hart-wasm vitest project) puts test memory in a wasm arena and gives
 * it to the harts, so the same tests check the WebAssembly tier; otherwise
 * JavaScript blocks.
 */
export const WASM_TIER = process.env.TSVIRT_HART_TIER === 'wasm';

/** An arena of `bytes` plus room for harts, with the wasm tier; else undefined. */
export function testArena(bytes: number): WasmArena | undefined {
  if (!WASM_TIER) return undefined;
  const a = WasmArena.create(bytes + (16 << 20));
  if (a === undefined) throw new Error('cannot reserve a wasm arena');
  return a;
}
