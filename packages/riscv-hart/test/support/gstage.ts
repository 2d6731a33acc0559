import type { TestPhysMemory } from './test-phys-memory.ts';

// G-stage PTE bits (the same layout as the first stage). Leaf PTEs must have
// U set: the G-stage checks every access as a U-mode access.
export const GPTE_V = 1n;
export const GPTE_R = 2n;
export const GPTE_W = 4n;
export const GPTE_X = 8n;
export const GPTE_U = 16n;
export const GPTE_A = 64n;
export const GPTE_D = 128n;

/** hgatp.MODE values. */
export const HGATP_MODE_SV39X4 = 8n;
export const HGATP_MODE_SV48X4 = 9n;
const PAGE = 4096n;

export type GStageMode = 'sv39x4' | 'sv48x4';

/**
 * A test-only G-stage table builder, the structure kvm-riscv-mmu keeps for a
 * VM: Sv39x4 (41-bit GPA) or Sv48x4 (50-bit GPA), whose root is 16 KiB (2048
 * entries: the top level takes 2 extra GPA bits, 16 KiB aligned) over
 * ordinary 4 KiB tables, with 4 KiB leaves. Table frames come from a host
 * region reserved for them.
 */
export class GStage {
  readonly root: bigint;
  readonly levels: number;
  private readonly gpaLimit: bigint;
  private next: bigint;

  constructor(
    private readonly mem: TestPhysMemory,
    poolBase: bigint,
    private readonly poolEnd: bigint,
    readonly mode: GStageMode = 'sv39x4',
  ) {
    this.levels = mode === 'sv39x4' ? 3 : 4;
    this.gpaLimit = 1n << BigInt(12 + 9 * this.levels + 2);
    if (poolBase % (4n * PAGE) !== 0n) throw new Error('table pool must be 16 KiB aligned for the root');
    this.root = poolBase;
    this.next = poolBase + 4n * PAGE;
    if (this.next > poolEnd) throw new Error('table pool too small');
  }

  /** hgatp for this table: MODE, VMID, PPN of the root. */
  hgatp(vmid = 1): bigint {
    const mode = this.mode === 'sv39x4' ? HGATP_MODE_SV39X4 : HGATP_MODE_SV48X4;
    return (mode << 60n) | (BigInt(vmid) << 44n) | (this.root >> 12n);
  }

  /** Maps [gpa, gpa + bytes) to [hpa, ...) with 4 KiB leaves, RWX by default. */
  map(gpa: bigint, hpa: bigint, bytes: number, perms = GPTE_R | GPTE_W | GPTE_X): void {
    if (gpa % PAGE !== 0n || hpa % PAGE !== 0n || bytes % 4096 !== 0)
      throw new Error('unaligned G-stage map');
    if (gpa + BigInt(bytes) > this.gpaLimit) throw new Error(`GPA beyond ${this.mode}`);
    for (let off = 0n; off < BigInt(bytes); off += PAGE) {
      const pte = this.leafSlot(gpa + off);
      this.mem.writeU64(pte, (((hpa + off) >> 12n) << 10n) | perms | GPTE_U | GPTE_A | GPTE_D | GPTE_V);
    }
  }

  /** Removes the leaf for one page (a later access takes a guest-page fault). */
  unmap(gpa: bigint): void {
    const pte = this.walk(gpa);
    if (pte !== undefined) this.mem.writeU64(pte, 0n);
  }

  /** Software walk: the host physical address behind `gpa`, or undefined. */
  translate(gpa: bigint): bigint | undefined {
    const slot = this.walk(gpa);
    if (slot === undefined) return undefined;
    const pte = this.mem.readU64(slot);
    if (!(pte & GPTE_V)) return undefined;
    return ((pte >> 10n) << 12n) | (gpa & (PAGE - 1n));
  }

  private index(gpa: bigint, level: number): bigint {
    const shift = 12n + 9n * BigInt(level);
    const bits = level === this.levels - 1 ? 0x7ffn : 0x1ffn;
    return (gpa >> shift) & bits;
  }

  /** Address of the level-0 PTE for `gpa`, or undefined if a table is missing. */
  private walk(gpa: bigint): bigint | undefined {
    if (gpa < 0n || gpa >= this.gpaLimit) return undefined;
    let table = this.root;
    for (let level = this.levels - 1; level > 0; level--) {
      const pte = this.mem.readU64(table + this.index(gpa, level) * 8n);
      if (!(pte & GPTE_V)) return undefined;
      table = (pte >> 10n) << 12n;
    }
    return table + this.index(gpa, 0) * 8n;
  }

  private leafSlot(gpa: bigint): bigint {
    let table = this.root;
    for (let level = this.levels - 1; level > 0; level--) {
      const slot = table + this.index(gpa, level) * 8n;
      let pte = this.mem.readU64(slot);
      if (!(pte & GPTE_V)) {
        const t = this.allocTable();
        pte = ((t >> 12n) << 10n) | GPTE_V;
        this.mem.writeU64(slot, pte);
      }
      table = (pte >> 10n) << 12n;
    }
    return table + this.index(gpa, 0) * 8n;
  }

  private allocTable(): bigint {
    if (this.next + PAGE > this.poolEnd) throw new Error('G-stage table pool exhausted');
    const t = this.next;
    this.next += PAGE;
    this.mem.write(t, new Uint8Array(4096));
    return t;
  }
}
