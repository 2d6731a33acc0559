import type { PhysMemory } from '../src/index.ts';
import type { WasmArena } from '../src/wasm-arena.ts';
import { testArena } from './support/tier.ts';

/** Host "physical" RAM for tests: `pages` frames starting at pfn `firstPfn`, one buffer. */
export class FakeMem implements PhysMemory {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** With TSVIRT_HART_TIER=wasm: the arena the frames are in (give it to the hart). */
  readonly arena: WasmArena | undefined;
  constructor(
    readonly firstPfn: number,
    readonly pages: number,
    /** The arena to put the frames in (default: testArena()'s, by TSVIRT_HART_TIER). */
    arena: WasmArena | undefined = testArena(pages * 4096),
  ) {
    this.arena = arena;
    this.u8 = this.arena?.chunk(pages * 4096) ?? new Uint8Array(pages * 4096);
    this.dv = new DataView(this.u8.buffer, this.u8.byteOffset, this.u8.byteLength);
  }
  frame(pfn: number): Uint8Array | undefined {
    const i = pfn - this.firstPfn;
    if (i < 0 || i >= this.pages) return undefined;
    return this.u8.subarray(i * 4096, i * 4096 + 4096);
  }
  private off(pa: bigint | number): number {
    const o = Number(pa) - this.firstPfn * 4096;
    if (o < 0 || o >= this.pages * 4096) throw new Error(`pa ${pa.toString(16)} outside fake memory`);
    return o;
  }
  w32(pa: bigint | number, v: number): void {
    this.dv.setUint32(this.off(pa), v >>> 0, true);
  }
  w16(pa: bigint | number, v: number): void {
    this.dv.setUint16(this.off(pa), v, true);
  }
  w64(pa: bigint | number, v: bigint): void {
    this.dv.setBigUint64(this.off(pa), BigInt.asUintN(64, v), true);
  }
  r64(pa: bigint | number): bigint {
    return this.dv.getBigUint64(this.off(pa), true);
  }
  r32(pa: bigint | number): number {
    return this.dv.getUint32(this.off(pa), true);
  }
  /**
   * Called after code() writes instructions: a loader's FENCE.I (harts
   * running from this memory drop compiled blocks; bareHart wires it).
   */
  onCode: () => void = () => {};

  /** Write 32-bit instructions from `pa`; returns the address after them. */
  code(pa: bigint | number, insns: number[]): number {
    let a = Number(pa);
    for (const w of insns) {
      this.w32(a, w);
      a += 4;
    }
    this.onCode();
    return a;
  }
}
