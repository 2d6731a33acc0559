/** lookup(): no entry for the page. */
export const PTE_NONE = -1;
/** lookup(): an entry is present but its protection forbids the access asked. */
export const PTE_DENIED = -2;

const LEAF = 512;

/**
 * A process page table: virtual page number -> host pfn and protection. Two
 * levels, like a hardware table: a directory (Map keyed by vpn / 512, which
 * stays a small integer for any 47-bit address) of leaves. A leaf is one
 * Uint32Array of 512 pairs: [2i] holds pfn + 1 (0 = not present), [2i + 1]
 * the entry's protection byte (see pgprot.ts), side by side so a lookup
 * touches one cache line: one small-integer Map probe and two adjacent
 * typed-array reads.
 */
export class PageTable {
  private readonly dir = new Map<number, Uint32Array>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(vpn: number): number | undefined {
    const leaf = this.dir.get(Math.floor(vpn / LEAF));
    if (leaf === undefined) return undefined;
    const v = leaf[2 * (vpn % LEAF)]!;
    return v === 0 ? undefined : v - 1;
  }

  /** The protection byte of a present entry, or undefined. */
  protOf(vpn: number): number | undefined {
    const leaf = this.dir.get(Math.floor(vpn / LEAF));
    if (leaf === undefined) return undefined;
    const i = 2 * (vpn % LEAF);
    return leaf[i] === 0 ? undefined : leaf[i + 1];
  }

  /**
   * The pfn of `vpn` if present and its protection has every bit of `need`;
   * PTE_NONE when absent, PTE_DENIED when present but forbidding the access.
   */
  lookup(vpn: number, need: number): number {
    const leaf = this.dir.get(Math.floor(vpn / LEAF));
    if (leaf === undefined) return PTE_NONE;
    const i = 2 * (vpn % LEAF);
    const v = leaf[i]!;
    if (v === 0) return PTE_NONE;
    if ((leaf[i + 1]! & need) !== need) return PTE_DENIED;
    return v - 1;
  }

  set(vpn: number, pfn: number, prot: number): void {
    const key = Math.floor(vpn / LEAF);
    let leaf = this.dir.get(key);
    if (leaf === undefined) {
      leaf = new Uint32Array(2 * LEAF);
      this.dir.set(key, leaf);
    }
    const i = 2 * (vpn % LEAF);
    if (leaf[i] === 0) this.count++;
    leaf[i] = pfn + 1;
    leaf[i + 1] = prot;
  }

  /** Change the protection byte of a present entry (no-op if absent). */
  setProt(vpn: number, prot: number): void {
    const leaf = this.dir.get(Math.floor(vpn / LEAF));
    const i = 2 * (vpn % LEAF);
    if (leaf !== undefined && leaf[i] !== 0) leaf[i + 1] = prot;
  }

  delete(vpn: number): void {
    const key = Math.floor(vpn / LEAF);
    const leaf = this.dir.get(key);
    const i = 2 * (vpn % LEAF);
    if (leaf === undefined || leaf[i] === 0) return;
    leaf[i] = 0;
    leaf[i + 1] = 0;
    this.count--;
  }

  /** True if any entry exists with first <= vpn < end (one probe per page: for short ranges). */
  anyInRange(first: number, end: number): boolean {
    for (let vpn = first; vpn < end; vpn++) if (this.get(vpn) !== undefined) return true;
    return false;
  }

  /** Calls `fn(key, leaf, lo, hi)` for every leaf holding part of [first, end), slots lo..hi-1. */
  private eachLeaf(
    first: number,
    end: number,
    fn: (key: number, leaf: Uint32Array, lo: number, hi: number) => void,
  ) {
    const k0 = Math.floor(first / LEAF);
    const k1 = Math.floor((end - 1) / LEAF);
    const visit = (key: number, leaf: Uint32Array) =>
      fn(key, leaf, key === k0 ? first % LEAF : 0, key === k1 ? ((end - 1) % LEAF) + 1 : LEAF);
    if (k1 - k0 + 1 <= this.dir.size) {
      for (let key = k0; key <= k1; key++) {
        const leaf = this.dir.get(key);
        if (leaf !== undefined) visit(key, leaf);
      }
    } else {
      for (const [key, leaf] of [...this.dir]) if (key >= k0 && key <= k1) visit(key, leaf);
    }
  }

  /** Remove every entry with first <= vpn < end, calling `drop(vpn, pfn)` for each. */
  clearRange(first: number, end: number, drop: (vpn: number, pfn: number) => void): void {
    if (end <= first || this.count === 0) return;
    this.eachLeaf(first, end, (key, leaf, lo, hi) => {
      let live = 0;
      for (let i = 0; i < LEAF; i++) {
        const v = leaf[2 * i]!;
        if (v === 0) continue;
        if (i >= lo && i < hi) {
          leaf[2 * i] = 0;
          leaf[2 * i + 1] = 0;
          this.count--;
          drop(key * LEAF + i, v - 1);
        } else live++;
      }
      if (live === 0) this.dir.delete(key);
    });
  }

  /** Rewrite the protection byte of every present entry with first <= vpn < end (change_protection()). */
  changeProtRange(first: number, end: number, change: (prot: number) => number): void {
    if (end <= first || this.count === 0) return;
    this.eachLeaf(first, end, (_key, leaf, lo, hi) => {
      for (let i = 2 * lo; i < 2 * hi; i += 2) if (leaf[i] !== 0) leaf[i + 1] = change(leaf[i + 1]!);
    });
  }
}
