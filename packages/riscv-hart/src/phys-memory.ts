import { arenaOf, type WasmArena } from './wasm-arena.ts';

/**
 * Host physical memory as the hart sees it: one 4 KiB frame per pfn. The
 * view must be exactly 4096 bytes with a 4096-aligned byteOffset in its
 * buffer (host-mm's `frame(pfn)` satisfies this structurally). `undefined`
 * means no memory there: the access takes an access fault.
 */
export interface PhysMemory {
  /** The 4 KiB frame of `pfn`, or undefined for no memory there. */
  frame(pfn: number): Uint8Array | undefined;
}

/** Typed views over one backing buffer, shared by every frame in it. */
export interface MemViews {
  /** The wasm arena the buffer belongs to (byte offsets in it are wasm addresses), if any. */
  arena: WasmArena | undefined;
  /** Unsigned bytes. */
  u8: Uint8Array;
  /** Signed bytes. */
  i8: Int8Array;
  /** Unsigned 16-bit words. */
  u16: Uint16Array;
  /** Signed 16-bit words. */
  i16: Int16Array;
  /** Signed 32-bit words. */
  i32: Int32Array;
}

const viewCache = new WeakMap<ArrayBufferLike, MemViews>();

/** The views over `buf`, made once per buffer so TLB entries can share them. */
export function memViews(buf: ArrayBufferLike): MemViews {
  let v = viewCache.get(buf);
  if (v === undefined) {
    const n = buf.byteLength;
    v = {
      arena: arenaOf(buf),
      u8: new Uint8Array(buf),
      i8: new Int8Array(buf),
      u16: new Uint16Array(buf, 0, n >>> 1),
      i16: new Int16Array(buf, 0, n >>> 1),
      i32: new Int32Array(buf, 0, n >>> 2),
    };
    viewCache.set(buf, v);
  }
  return v;
}

/**
 * `mem.frame(pfn)`, with a throwing provider (host-mm answers a pfn outside
 * host memory with EFAULT) mapped to "no memory": the guest then takes an
 * access fault instead of a host exception escaping from run().
 */
export function frameOf(mem: PhysMemory, pfn: number): Uint8Array | undefined {
  try {
    return mem.frame(pfn);
  } catch {
    return undefined;
  }
}
