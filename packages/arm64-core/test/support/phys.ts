import type { PhysMemory } from '../../src/index.ts';

/** Host memory for tests: frames allocated on first use inside the listed ranges. */
export class TestPhysMemory implements PhysMemory {
  private readonly frames = new Map<number, Uint8Array>();

  constructor(private readonly ranges: [start: number, size: number][]) {}

  frame(pfn: number): Uint8Array | undefined {
    let f = this.frames.get(pfn);
    if (f) return f;
    const pa = pfn * 4096;
    if (!this.ranges.some(([s, n]) => pa >= s && pa < s + n)) return undefined;
    f = new Uint8Array(4096);
    this.frames.set(pfn, f);
    return f;
  }

  write(pa: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const f = this.frame(Math.floor((pa + i) / 4096));
      if (!f) throw new Error(`no memory at ${(pa + i).toString(16)}`);
      f[(pa + i) % 4096] = bytes[i];
    }
  }

  read(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) out[i] = this.frame(Math.floor((pa + i) / 4096))?.[(pa + i) % 4096] ?? 0;
    return out;
  }

  write64(pa: number, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, true);
    this.write(pa, b);
  }

  read64(pa: number): bigint {
    return new DataView(this.read(pa, 8).buffer).getBigUint64(0, true);
  }
}
