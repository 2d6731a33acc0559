/**
 * A process page table: virtual page number -> host pfn. Two levels, like a
 * hardware table: a directory (Map keyed by vpn / 512, which stays a small
 * integer for any 47-bit address) of 512-entry Uint32Array leaves holding
 * pfn + 1 (0 = not present). A lookup is one small-integer Map probe and one
 * typed-array read.
 */
export class PageTable {
  private readonly dir = new Map<number, Uint32Array>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(vpn: number): number | undefined {
    const leaf = this.dir.get(Math.floor(vpn / 512));
    if (leaf === undefined) return undefined;
    const v = leaf[vpn % 512]!;
    return v === 0 ? undefined : v - 1;
  }

  set(vpn: number, pfn: number): void {
    const key = Math.floor(vpn / 512);
    let leaf = this.dir.get(key);
    if (leaf === undefined) {
      leaf = new Uint32Array(512);
      this.dir.set(key, leaf);
    }
    const i = vpn % 512;
    if (leaf[i] === 0) this.count++;
    leaf[i] = pfn + 1;
  }

  delete(vpn: number): void {
    const key = Math.floor(vpn / 512);
    const leaf = this.dir.get(key);
    if (leaf === undefined || leaf[vpn % 512] === 0) return;
    leaf[vpn % 512] = 0;
    this.count--;
  }

  /** True if any entry exists with first <= vpn < end (end - first <= 512, inside one leaf or two). */
  anyInRange(first: number, end: number): boolean {
    for (let vpn = first; vpn < end; vpn++) if (this.get(vpn) !== undefined) return true;
    return false;
  }

  /** Remove every entry with first <= vpn < end, calling `drop(vpn, pfn)` for each. */
  clearRange(first: number, end: number, drop: (vpn: number, pfn: number) => void): void {
    if (end <= first || this.count === 0) return;
    const k0 = Math.floor(first / 512);
    const k1 = Math.floor((end - 1) / 512);
    const visit = (key: number, leaf: Uint32Array) => {
      const lo = key === k0 ? first % 512 : 0;
      const hi = key === k1 ? ((end - 1) % 512) + 1 : 512;
      let live = 0;
      for (let i = 0; i < 512; i++) {
        const v = leaf[i]!;
        if (v === 0) continue;
        if (i >= lo && i < hi) {
          leaf[i] = 0;
          this.count--;
          drop(key * 512 + i, v - 1);
        } else live++;
      }
      if (live === 0) this.dir.delete(key);
    };
    if (k1 - k0 + 1 <= this.dir.size) {
      for (let key = k0; key <= k1; key++) {
        const leaf = this.dir.get(key);
        if (leaf !== undefined) visit(key, leaf);
      }
    } else {
      for (const [key, leaf] of [...this.dir]) if (key >= k0 && key <= k1) visit(key, leaf);
    }
  }
}
