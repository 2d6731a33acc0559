import type { FakeMem } from './fake-mem.ts';

export const PTE_V = 1;
export const PTE_R = 2;
export const PTE_W = 4;
export const PTE_X = 8;
export const PTE_U = 16;
export const PTE_G = 32;
export const PTE_A = 64;
export const PTE_D = 128;
export const RWX = PTE_R | PTE_W | PTE_X;

/**
 * Builds Sv39/Sv48 (and x4 G-stage) page tables in a FakeMem for tests: the
 * tables are written where `toHost` says the table address lives (identity
 * for host tables; the G-stage map for VS-stage tables placed in guest RAM).
 */
export class PageTableBuilder {
  constructor(
    private readonly mem: FakeMem,
    private next: number,
    private readonly toHost: (a: number) => number = (a) => a,
  ) {}

  alloc(pages = 1): number {
    const align = pages * 4096;
    this.next = Math.ceil(this.next / align) * align;
    const a = this.next;
    this.next += pages * 4096;
    for (let i = 0; i < pages * 4096; i += 8) this.mem.w64(this.toHost(a + i), 0n);
    return a;
  }

  /** Map one page (or a superpage at `leafLevel`) of `va` to `pa` with `flags` (V added). */
  map(root: number, va: number, pa: number, flags: number, levels: 3 | 4, x4 = false, leafLevel = 0): void {
    let table = root;
    for (let level = levels - 1; level > leafLevel; level--) {
      let idx = Math.floor(va / 2 ** (12 + 9 * level));
      idx = x4 && level === levels - 1 ? idx & 2047 : idx & 511;
      const slot = this.toHost(table + idx * 8);
      let pte = this.mem.r64(slot);
      if ((pte & 1n) === 0n) {
        const t = this.alloc();
        pte = (BigInt(t / 4096) << 10n) | 1n;
        this.mem.w64(slot, pte);
      }
      table = Number(pte >> 10n) * 4096;
    }
    let idx = Math.floor(va / 2 ** (12 + 9 * leafLevel));
    idx = x4 && leafLevel === levels - 1 ? idx & 2047 : idx & 511;
    this.mem.w64(
      this.toHost(table + idx * 8),
      (BigInt(Math.floor(pa / 4096)) << 10n) | BigInt(flags | PTE_V),
    );
  }

  /** The PTE slot address (host) of the leaf for `va`, for tests that inspect A/D bits. */
  leafSlot(root: number, va: number, levels: 3 | 4, x4 = false, leafLevel = 0): number {
    let table = root;
    for (let level = levels - 1; level > leafLevel; level--) {
      let idx = Math.floor(va / 2 ** (12 + 9 * level));
      idx = x4 && level === levels - 1 ? idx & 2047 : idx & 511;
      table = Number(this.mem.r64(this.toHost(table + idx * 8)) >> 10n) * 4096;
    }
    let idx = Math.floor(va / 2 ** (12 + 9 * leafLevel));
    idx = x4 && leafLevel === levels - 1 ? idx & 2047 : idx & 511;
    return this.toHost(table + idx * 8);
  }
}
