import type { PhysMemory } from '../../src/phys-memory.ts';
import type { WasmArena } from '../../src/wasm-arena.ts';
import { testArena } from './tier.ts';

const PAGE = 4096;

interface Region {
  basePfn: number;
  pages: number;
  bytes: Uint8Array;
  views: (Uint8Array | undefined)[];
}

/**
 * Host "physical" memory for tests: a few regions of 4 KiB frames, each a
 * 4096-byte view at a 4096-aligned offset of its region's buffer (the shape
 * the hart's PhysMemory asks for). Frames outside every region are holes.
 */
export class TestPhysMemory implements PhysMemory {
  private readonly regions: Region[] = [];
  /** With TSVIRT_HART_TIER=wasm: the arena the regions are in (give it to the harts). */
  readonly arena: WasmArena | undefined = testArena(256 << 20);

  /** Adds `pages` frames starting at host physical address `base`. */
  addRegion(base: bigint, pages: number): void {
    if (base % BigInt(PAGE) !== 0n || pages <= 0)
      throw new Error('region must be page aligned and non-empty');
    const basePfn = Number(base >> 12n);
    for (const r of this.regions) {
      if (basePfn < r.basePfn + r.pages && r.basePfn < basePfn + pages) throw new Error('regions overlap');
    }
    const bytes = this.arena?.chunk(pages * PAGE) ?? new Uint8Array(pages * PAGE);
    this.regions.push({ basePfn, pages, bytes, views: [] });
  }

  frame(pfn: number): Uint8Array | undefined {
    for (const r of this.regions) {
      const i = pfn - r.basePfn;
      if (i >= 0 && i < r.pages) {
        let v = r.views[i];
        if (v === undefined) {
          v = r.bytes.subarray(i * PAGE, i * PAGE + PAGE);
          r.views[i] = v;
        }
        return v;
      }
    }
    return undefined;
  }

  /** Copies `bytes` in at host physical `hpa`; throws across a hole. */
  write(hpa: bigint, bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const a = hpa + BigInt(off);
      const f = this.frame(Number(a >> 12n));
      if (!f) throw new Error(`no host memory at 0x${a.toString(16)}`);
      const inPage = Number(a & 0xfffn);
      const n = Math.min(PAGE - inPage, bytes.length - off);
      f.set(bytes.subarray(off, off + n), inPage);
      off += n;
    }
  }

  /** Reads `len` bytes at host physical `hpa`, or undefined across a hole. */
  read(hpa: bigint, len: number): Uint8Array | undefined {
    const out = new Uint8Array(len);
    let off = 0;
    while (off < len) {
      const a = hpa + BigInt(off);
      const f = this.frame(Number(a >> 12n));
      if (!f) return undefined;
      const inPage = Number(a & 0xfffn);
      const n = Math.min(PAGE - inPage, len - off);
      out.set(f.subarray(inPage, inPage + n), off);
      off += n;
    }
    return out;
  }

  readU64(hpa: bigint): bigint {
    const b = this.read(hpa, 8);
    if (!b) throw new Error(`no host memory at 0x${hpa.toString(16)}`);
    return new DataView(b.buffer).getBigUint64(0, true);
  }

  writeU64(hpa: bigint, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.write(hpa, b);
  }
}
