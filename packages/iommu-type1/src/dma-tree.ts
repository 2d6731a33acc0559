import type { VfioDma } from './vfio-dma.ts';

interface Node {
  dma: VfioDma;
  prio: number;
  left: Node | undefined;
  right: Node | undefined;
}

/**
 * The container's mappings sorted by IOVA (the kernel's dma_list rb-tree),
 * here a treap: O(log n) insert, remove and lookup, so that 65,535 MAP/UNMAP
 * calls cost n log n, not n^2. Mappings never overlap, so ordering by start
 * is also ordering by end.
 */
export class DmaTree {
  private root: Node | undefined = undefined;
  private count = 0;
  /** xorshift32 state: deterministic priorities, so runs repeat exactly. */
  private seed = 0x9e3779b9;

  private nextPrio(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  get size(): number {
    return this.count;
  }

  insert(dma: VfioDma): void {
    this.root = this.ins(this.root, { dma, prio: this.nextPrio(), left: undefined, right: undefined });
    this.count++;
  }

  private ins(t: Node | undefined, n: Node): Node {
    if (t === undefined) return n;
    if (n.dma.iova < t.dma.iova) {
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

  remove(dma: VfioDma): void {
    this.root = this.del(this.root, dma);
  }

  private del(t: Node | undefined, dma: VfioDma): Node | undefined {
    if (t === undefined) return undefined;
    if (t.dma === dma) {
      this.count--;
      return this.merge(t.left, t.right);
    }
    if (dma.iova < t.dma.iova) t.left = this.del(t.left, dma);
    else t.right = this.del(t.right, dma);
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

  /** vfio_find_dma(): any mapping overlapping [start, start + size). */
  find(start: bigint, size: bigint): VfioDma | undefined {
    const end = start + size;
    let t = this.root;
    while (t !== undefined) {
      const d = t.dma;
      if (end <= d.iova) t = t.left;
      else if (start >= d.iova + d.size) t = t.right;
      else return d;
    }
    return undefined;
  }

  /** vfio_find_dma_first_node(): the lowest mapping ending after `start` that begins at or before `last`. */
  firstFrom(start: bigint, last: bigint): VfioDma | undefined {
    let t = this.root;
    let res: VfioDma | undefined;
    while (t !== undefined) {
      if (t.dma.iova + t.dma.size > start) {
        res = t.dma;
        t = t.left;
      } else t = t.right;
    }
    return res !== undefined && res.iova <= last ? res : undefined;
  }

  /** rb_next(): the mapping after `dma` in IOVA order. */
  next(dma: VfioDma): VfioDma | undefined {
    let t = this.root;
    let res: VfioDma | undefined;
    while (t !== undefined) {
      if (t.dma.iova > dma.iova) {
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
