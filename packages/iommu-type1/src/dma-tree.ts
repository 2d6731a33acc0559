import type { VfioDma } from './vfio-dma.ts';

interface Node {
  dma: VfioDma;
  /** The mapping's start and (exclusive) end split in 32-bit halves, kept in the node so a walk compares plain numbers. */
  sHi: number;
  sLo: number;
  eHi: number;
  eLo: number;
  prio: number;
  left: Node | undefined;
  right: Node | undefined;
}

const M32 = 0xffffffffn;
const hi = (x: bigint) => Number(x >> 32n);
const lo = (x: bigint) => Number(x & M32);
/** (aHi, aLo) < (bHi, bLo) as unsigned 64-bit (65-bit for an end of 2^64). */
const lt = (aHi: number, aLo: number, bHi: number, bLo: number) => aHi < bHi || (aHi === bHi && aLo < bLo);

/**
 * The container's mappings sorted by IOVA (the kernel's dma_list rb-tree),
 * here a treap: O(log n) insert, remove and lookup, so that 65,535 MAP/UNMAP
 * calls cost n log n, not n^2. Mappings never overlap, so ordering by start
 * is also ordering by end. Priorities come from a fixed xorshift sequence,
 * so runs repeat exactly.
 */
export class DmaTree {
  private root: Node | undefined = undefined;
  private count = 0;
  private seed = 0x9e3779b9;

  /** Number of mappings in the tree. */
  get size(): number {
    return this.count;
  }

  private nextPrio(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  /** Insert a mapping; the caller has checked it overlaps none. */
  insert(dma: VfioDma): void {
    const end = dma.iova + dma.size;
    const n: Node = {
      dma,
      sHi: hi(dma.iova),
      sLo: lo(dma.iova),
      eHi: hi(end),
      eLo: lo(end),
      prio: this.nextPrio(),
      left: undefined,
      right: undefined,
    };
    this.root = this.ins(this.root, n);
    this.count++;
  }

  private ins(t: Node | undefined, n: Node): Node {
    if (t === undefined) return n;
    if (lt(n.sHi, n.sLo, t.sHi, t.sLo)) {
      t.left = this.ins(t.left, n);
      if (t.left.prio > t.prio) return this.rotRight(t);
    } else {
      t.right = this.ins(t.right, n);
      if (t.right.prio > t.prio) return this.rotLeft(t);
    }
    return t;
  }

  private rotRight(t: Node): Node {
    const l = t.left!;
    t.left = l.right;
    l.right = t;
    return l;
  }

  private rotLeft(t: Node): Node {
    const r = t.right!;
    t.right = r.left;
    r.left = t;
    return r;
  }

  /** Remove a mapping. */
  remove(dma: VfioDma): void {
    this.root = this.del(this.root, dma, hi(dma.iova), lo(dma.iova));
  }

  private del(t: Node | undefined, dma: VfioDma, kHi: number, kLo: number): Node | undefined {
    if (t === undefined) return undefined;
    if (t.dma === dma) {
      this.count--;
      return this.merge(t.left, t.right);
    }
    if (lt(kHi, kLo, t.sHi, t.sLo)) t.left = this.del(t.left, dma, kHi, kLo);
    else t.right = this.del(t.right, dma, kHi, kLo);
    return t;
  }

  private merge(a: Node | undefined, b: Node | undefined): Node | undefined {
    if (a === undefined) return b;
    if (b === undefined) return a;
    if (a.prio > b.prio) {
      a.right = this.merge(a.right, b);
      return a;
    }
    b.left = this.merge(a, b.left);
    return b;
  }

  /** vfio_find_dma(): a mapping overlapping [start, start + size) (any one, if several do). */
  find(start: bigint, size: bigint): VfioDma | undefined {
    const end = start + size;
    const sHi = hi(start);
    const sLo = lo(start);
    const eHi = hi(end);
    const eLo = lo(end);
    let t = this.root;
    while (t !== undefined) {
      if (!lt(t.sHi, t.sLo, eHi, eLo))
        t = t.left; // end <= t.start
      else if (!lt(sHi, sLo, t.eHi, t.eLo))
        t = t.right; // start >= t.end
      else return t.dma;
    }
    return undefined;
  }

  /** vfio_find_dma_first_node(): the lowest mapping ending after `start` that begins at or before `last`. */
  firstFrom(start: bigint, last: bigint): VfioDma | undefined {
    const sHi = hi(start);
    const sLo = lo(start);
    let t = this.root;
    let res: VfioDma | undefined;
    while (t !== undefined) {
      if (lt(sHi, sLo, t.eHi, t.eLo)) {
        res = t.dma;
        t = t.left;
      } else t = t.right;
    }
    return res !== undefined && res.iova <= last ? res : undefined;
  }

  /** rb_next(): the mapping after `dma` in IOVA order. */
  next(dma: VfioDma): VfioDma | undefined {
    const kHi = hi(dma.iova);
    const kLo = lo(dma.iova);
    let t = this.root;
    let res: VfioDma | undefined;
    while (t !== undefined) {
      if (lt(kHi, kLo, t.sHi, t.sLo)) {
        res = t.dma;
        t = t.left;
      } else t = t.right;
    }
    return res;
  }

  /** The mappings in [start, last] (by start address), in order. */
  *range(start: bigint, last: bigint): Generator<VfioDma> {
    for (let d = this.firstFrom(start, last); d !== undefined && d.iova <= last; d = this.next(d)) yield d;
  }

  /** Every mapping in IOVA order. */
  *[Symbol.iterator](): Generator<VfioDma> {
    const stack: Node[] = [];
    let t = this.root;
    while (t !== undefined || stack.length > 0) {
      while (t !== undefined) {
        stack.push(t);
        t = t.left;
      }
      const n = stack.pop()!;
      yield n.dma;
      t = n.right;
    }
  }
}
