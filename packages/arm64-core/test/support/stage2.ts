import type { TestPhysMemory } from './phys.ts';

/** VTCR_EL2 for a 40-bit IPA, 4 KiB granule, walk starting at level 1 (two concatenated tables). */
export const VTCR_40BIT = 24n | (1n << 6n) | (2n << 16n);

/**
 * Stage-2 tables as KVM would write them: identity-map [start, start+size)
 * of IPA space with 2 MiB blocks (S2AP RW, AF, Normal memory). Returns
 * VTTBR_EL2. `tables` is host memory for the tables (8 KiB-aligned, 4 pages+).
 */
export class Stage2Builder {
  private next: number;
  readonly root: number;

  constructor(
    private readonly mem: TestPhysMemory,
    tables: number,
  ) {
    this.root = tables;
    this.next = tables + 0x2000;
  }

  private table(addr: number, index: number): number {
    const d = this.mem.read64(addr + index * 8);
    if ((d & 3n) === 3n) return Number(d & 0x0000_ffff_ffff_f000n);
    const t = this.next;
    this.next += 0x1000;
    this.mem.write64(addr + index * 8, BigInt(t) | 3n);
    return t;
  }

  /** Map one 2 MiB block IPA -> host PA. */
  mapBlock(ipa: number, hpa: number, writable = true): void {
    const l1 = Math.floor(ipa / 2 ** 30); // index into the concatenated level-1 tables
    const l2t = this.table(this.root, l1);
    const l2 = Math.floor(ipa / 2 ** 21) % 512;
    const desc = BigInt(hpa) | (1n << 10n) | (writable ? 3n << 6n : 1n << 6n) | (0xfn << 2n) | 1n;
    this.mem.write64(l2t + l2 * 8, desc);
  }

  /** Map one 4 KiB page IPA -> host PA. */
  mapPage(ipa: number, hpa: number, writable = true): void {
    const l1 = Math.floor(ipa / 2 ** 30);
    const l2t = this.table(this.root, l1);
    const l3t = this.table(l2t, Math.floor(ipa / 2 ** 21) % 512);
    const desc = BigInt(hpa) | (1n << 10n) | (writable ? 3n << 6n : 1n << 6n) | (0xfn << 2n) | 3n;
    this.mem.write64(l3t + (Math.floor(ipa / 4096) % 512) * 8, desc);
  }

  identity(start: number, size: number): void {
    for (let a = start; a < start + size; a += 2 ** 21) this.mapBlock(a, a);
  }

  get vttbr(): bigint {
    return BigInt(this.root);
  }
}
