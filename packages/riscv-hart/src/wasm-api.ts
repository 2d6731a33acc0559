// The part of the WebAssembly JavaScript API the wasm block tier uses. The
// repository's TypeScript libs are ES-only (WebAssembly is declared in
// lib.dom), so the global is typed here, narrowly, instead of pulling the
// DOM types into every package that imports this one.

/** A linear memory: its current buffer (a new object after each grow of a shared memory) and grow(). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

/** A table of functions, shared by the dispatcher and the block modules. */
export interface WasmTable {
  readonly length: number;
  grow(delta: number): number;
  set(index: number, fn: unknown): void;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Table: new (d: { element: 'anyfunc'; initial: number; maximum?: number }) => WasmTable;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
}

/** globalThis.WebAssembly (Node 20 always has it). */
export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Bytes in a wasm page. */
export const WASM_PAGE = 65536;
