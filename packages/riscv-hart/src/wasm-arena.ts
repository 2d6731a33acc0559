import { WASM_PAGE, Wasm, type WasmMemory } from './wasm-api.ts';

/** Each arena's buffer objects (a shared memory gives a new one after each grow). */
const arenaOfBuffer = new WeakMap<ArrayBufferLike, WasmArena>();

/** The arena whose memory `buf` is (its byte offsets are then wasm addresses), if any. */
export function arenaOf(buf: ArrayBufferLike): WasmArena | undefined {
  return arenaOfBuffer.get(buf);
}

/**
 * One shared WebAssembly.Memory holding what compiled wasm blocks touch:
 * guest RAM (host-mm's frame chunks, through `chunk()`), each hart's x
 * registers and its TLB tags. A bump allocator that never frees: an arena
 * lives as long as its machine. Shared, so growing it never detaches the
 * views handed out earlier (a plain memory's buffer is detached by grow).
 * Memory past `maxBytes` is refused (undefined): the caller backs it with an
 * ordinary ArrayBuffer, which compiled blocks reach through the interpreter.
 */
export class WasmArena {
  readonly memory: WasmMemory;
  private top: number;
  private readonly limit: number;

  private constructor(memory: WasmMemory, limit: number) {
    this.memory = memory;
    this.limit = limit;
    // Address 0 stays unused, so no allocation is ever at 0.
    this.top = 64;
  }

  /**
   * An arena of up to `maxBytes` (rounded up to wasm pages, at most 4 GiB less
   * a page), or undefined when the engine cannot reserve it.
   */
  static create(maxBytes: number): WasmArena | undefined {
    const pages = Math.min(65535, Math.max(1, Math.ceil(maxBytes / WASM_PAGE)));
    try {
      return new WasmArena(new Wasm.Memory({ initial: 1, maximum: pages, shared: true }), pages * WASM_PAGE);
    } catch {
      return undefined;
    }
  }

  /** Bytes handed out so far. */
  get used(): number {
    return this.top;
  }

  /** The memory's current buffer, registered for arenaOf(). */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    arenaOfBuffer.set(b, this);
    return b;
  }

  /** `bytes` of zeroed memory aligned to `align` (a power of two): its address, or undefined when full. */
  alloc(bytes: number, align = 8): number | undefined {
    const at = Math.ceil(this.top / align) * align;
    const end = at + bytes;
    if (end > this.limit) return undefined;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / WASM_PAGE));
      } catch {
        return undefined;
      }
    }
    this.top = end;
    return at;
  }

  /** A zeroed, page-aligned backing chunk for host memory, or undefined when the arena is full. */
  chunk(bytes: number): Uint8Array | undefined {
    const at = this.alloc(bytes, 4096);
    return at === undefined ? undefined : new Uint8Array(this.buffer(), at, bytes);
  }
}
