import type { MemViews } from './phys-memory.ts';
import type { WasmArena } from './wasm-arena.ts';

export const TLB_BITS = 10;
/** Entries per TLB way. */
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;
/** Bytes of one per-entry array of a way (tagLo, tagHi, wasmBase). */
export const TLB_WAY_STRIDE = TLB_SIZE * 4;
/** Never a page-aligned low word: marks an empty entry. */
export const TLB_INVALID = 1;

/** Access kinds, each with its own array of entries. */
export const ACC_READ = 0;
/** Access kind: store. */
export const ACC_WRITE = 1;
/** Access kind: instruction fetch. */
export const ACC_EXEC = 2;

/**
 * One direct-mapped TLB for one access kind. An entry maps a 4 KiB virtual
 * page (tag = its address as two int32 words) to the host memory holding it:
 * the shared views over the backing buffer, the byte offset of the frame in
 * that buffer, and its host physical address (for reservations). A hit is
 * `mem[i].i32[(base[i] + off) >>> 2]`.
 */
export class TlbWay {
  /** Low word of each entry's virtual page address; TLB_INVALID when empty. */
  readonly tagLo: Int32Array;
  /** High word of each entry's virtual page address. */
  readonly tagHi: Int32Array;
  /**
   * Each entry's frame as a wasm address (its byte offset in the arena's
   * memory), or -1 when the frame is not in the hart's arena: what a wasm
   * block reads beside the tags (jit-wasm.ts).
   */
  readonly wasmBase: Int32Array;
  /**
   * Where tagLo lies in the arena (tagHi and wasmBase follow, TLB_WAY_STRIDE
   * bytes apart), or 0 when the way is not in an arena.
   */
  readonly addr: number;
  /** Byte offset of each entry's frame in its backing buffer. */
  readonly base = new Float64Array(TLB_SIZE);
  /** Host physical address of each entry's frame. */
  readonly hpa = new Float64Array(TLB_SIZE);
  /**
   * Views over each entry's backing buffer. Built element by element so the
   * array is packed: a holey one (`new Array(n)`) costs the interpreter a
   * hole check on every load and store that hits.
   */
  readonly mem: (MemViews | undefined)[] = Array.from({ length: TLB_SIZE }, () => undefined);

  /** In `arena` when given (its wasm blocks read the tags), else in ordinary typed arrays. */
  constructor(private readonly arena?: WasmArena) {
    const at = arena?.alloc(3 * TLB_WAY_STRIDE, 4096);
    if (arena !== undefined && at !== undefined) {
      const buf = arena.buffer();
      this.tagLo = new Int32Array(buf, at, TLB_SIZE);
      this.tagHi = new Int32Array(buf, at + TLB_WAY_STRIDE, TLB_SIZE);
      this.wasmBase = new Int32Array(buf, at + 2 * TLB_WAY_STRIDE, TLB_SIZE);
      this.addr = at;
    } else {
      this.tagLo = new Int32Array(TLB_SIZE);
      this.tagHi = new Int32Array(TLB_SIZE);
      this.wasmBase = new Int32Array(TLB_SIZE);
      this.addr = 0;
    }
    this.tagLo.fill(TLB_INVALID);
  }

  /** Install a translation; returns the entry index. */
  fill(lo: number, hi: number, mem: MemViews, base: number, hpa: number): number {
    const i = (lo >>> 12) & TLB_MASK;
    this.tagLo[i] = lo & -4096;
    this.tagHi[i] = hi;
    this.wasmBase[i] = this.addr !== 0 && mem.arena === this.arena && base < 2 ** 31 ? base : -1;
    this.mem[i] = mem;
    this.base[i] = base;
    this.hpa[i] = hpa;
    return i;
  }

  /** Invalidate every entry. */
  flushAll(): void {
    this.tagLo.fill(TLB_INVALID);
  }

  /** Invalidate the entry of one virtual page. */
  flushPage(lo: number, hi: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    if (this.tagLo[i] === (lo & -4096) && this.tagHi[i] === hi) this.tagLo[i] = TLB_INVALID;
  }
}

/**
 * The TLB of one translation context: (V, privilege, VMID, ASID, the
 * translation modes and the SUM/MXR bits that change permission outcomes).
 * Keeping one set per context makes a trap or sret between VS and VU free,
 * and lets fences pick the contexts they name.
 */
export class TlbSet {
  /** One TLB way per access kind (read, write, exec). */
  readonly ways: readonly [TlbWay, TlbWay, TlbWay];
  constructor(
    /** The context's V bit. */
    readonly v: number,
    /** The context's VMID. */
    readonly vmid: number,
    /** The context's ASID. */
    readonly asid: number,
    /** Ways to use (emptied), e.g. a dropped set's, or new ones in `arena`. */
    ways?: readonly [TlbWay, TlbWay, TlbWay],
    arena?: WasmArena,
  ) {
    this.ways = ways ?? [new TlbWay(arena), new TlbWay(arena), new TlbWay(arena)];
  }

  /** Invalidate every entry of the context. */
  flushAll(): void {
    for (const w of this.ways) w.flushAll();
  }

  /** Invalidate one virtual page in every way. */
  flushPage(lo: number, hi: number): void {
    for (const w of this.ways) w.flushPage(lo, hi);
  }
}

const MAX_SETS = 64;

/** All TLB sets of one hart, by context key. */
export class Tlb {
  private readonly sets = new Map<number, TlbSet>();
  /** Ways of dropped sets, reused: arena memory is never freed. */
  private readonly spare: (readonly [TlbWay, TlbWay, TlbWay])[] = [];

  /** The hart's sets in `arena` (so its wasm blocks can read them) when given. */
  constructor(private readonly arena?: WasmArena) {}

  /** The set of a context key, created (and the sets bounded) on first use. */
  get(key: number, v: number, vmid: number, asid: number): TlbSet {
    let s = this.sets.get(key);
    if (s === undefined) {
      if (this.sets.size >= MAX_SETS) {
        for (const old of this.sets.values()) {
          old.flushAll();
          this.spare.push(old.ways);
        }
        this.sets.clear();
      }
      s = new TlbSet(v, vmid, asid, this.spare.pop(), this.arena);
      this.sets.set(key, s);
    }
    return s;
  }

  /**
   * Flush the sets matching (v, vmid, asid); `asid` undefined = every ASID,
   * `vmid` undefined = every VMID; page (lo, hi) undefined = the whole set.
   */
  flush(v: number, vmid: number | undefined, asid: number | undefined, lo?: number, hi?: number): void {
    for (const s of this.sets.values()) {
      if (s.v !== v) continue;
      if (vmid !== undefined && s.vmid !== vmid) continue;
      if (asid !== undefined && s.asid !== asid) continue;
      if (lo === undefined || hi === undefined) s.flushAll();
      else s.flushPage(lo, hi);
    }
  }

  /** Invalidate every set. */
  flushEverything(): void {
    for (const s of this.sets.values()) s.flushAll();
  }
}
