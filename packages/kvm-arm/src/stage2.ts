import type { HostPhysMemory } from '@tsvirt/host-mm';

/** The 4 KiB translation granule. */
export const PAGE_SIZE = 4096;

/**
 * VTCR_EL2 for a 40-bit IPA with a 4 KiB granule (kvm_get_vtcr()): T0SZ 24,
 * the walk starting at level 1 (SL0 = 1) over two concatenated level-1
 * tables, inner-shareable write-back walks, PS = 40 bits, RES1 bit 31.
 */
export const VTCR_EL2_T0SZ_40 = 24n;
/** VTCR_EL2.SL0 = 1: start at level 1 (4 KiB granule). */
export const VTCR_EL2_SL0_L1 = 1n << 6n;
/** VTCR_EL2.IRGN0 = write-back write-allocate. */
export const VTCR_EL2_IRGN0_WBWA = 1n << 8n;
/** VTCR_EL2.ORGN0 = write-back write-allocate. */
export const VTCR_EL2_ORGN0_WBWA = 1n << 10n;
/** VTCR_EL2.SH0 = inner shareable. */
export const VTCR_EL2_SH0_INNER = 3n << 12n;
/** VTCR_EL2.PS = 40 bits. */
export const VTCR_EL2_PS_40 = 2n << 16n;
/** VTCR_EL2 RES1. */
export const VTCR_EL2_RES1 = 1n << 31n;
/** The VTCR_EL2 of every VM here. */
export const KVM_VTCR_40BIT =
  VTCR_EL2_RES1 |
  VTCR_EL2_PS_40 |
  VTCR_EL2_SH0_INNER |
  VTCR_EL2_ORGN0_WBWA |
  VTCR_EL2_IRGN0_WBWA |
  VTCR_EL2_SL0_L1 |
  VTCR_EL2_T0SZ_40;

/** Stage-2 descriptor bits (VMSAv8-64, Arm ARM D8.3). */
export const KVM_PTE_VALID = 1;
/** Bit 1: a table (levels 1-2) or page (level 3) descriptor. */
export const KVM_PTE_TYPE_PAGE_OR_TABLE = 2;
/** MemAttr[3:0] = 0b1111: Normal, inner and outer write-back (MT_S2_NORMAL). */
export const KVM_PTE_LEAF_ATTR_MEMATTR_NORMAL = 0xf << 2;
/** S2AP[0]: readable. */
export const KVM_PTE_LEAF_ATTR_S2AP_R = 1 << 6;
/** S2AP[1]: writable. */
export const KVM_PTE_LEAF_ATTR_S2AP_W = 1 << 7;
/** SH = inner shareable. */
export const KVM_PTE_LEAF_ATTR_SH_IS = 3 << 8;
/** AF: the access flag (KVM maps pages with it set). */
export const KVM_PTE_LEAF_ATTR_AF = 1 << 10;

/** Where a leaf sits: the table frame, its index, and the host pfn it maps. */
export interface Stage2Leaf {
  /** Frame of the level-3 table. */
  tablePfn: number;
  /** Index of the entry. */
  idx: number;
  /** The host pfn mapped. */
  hpfn: number;
  /** S2AP[1] is set. */
  writable: boolean;
}

/**
 * One VM's stage-2 page table (kvm_pgtable for the VM's kvm_s2_mmu) in host
 * frames, in the real descriptor format so the CPU walks it from
 * VTTBR_EL2/VTCR_EL2: 40-bit IPA, 4 KiB pages only (levels 1 to 3, the root
 * two concatenated, 8 KiB-aligned level-1 tables).
 */
export class Stage2PageTable {
  /** First of the two root frames. */
  readonly pgdPfn: number;
  /** Guest physical address bits (the IPA size). */
  readonly ipaBits = 40;
  /** Table frames below the root. */
  readonly tables = new Set<number>();
  private freed = false;

  constructor(
    private readonly phys: HostPhysMemory,
    /** The VMID in VTTBR_EL2. */
    readonly vmid = 1,
  ) {
    this.pgdPfn = phys.allocContiguous(2, 2);
    for (let i = 0; i < 2; i++) phys.frame(this.pgdPfn + i).fill(0);
  }

  /** VTTBR_EL2: VMID in bits 55:48, the root's address in BADDR. */
  get vttbr(): bigint {
    return (BigInt(this.vmid) << 48n) | (BigInt(this.pgdPfn) << 12n);
  }

  /** The IPA space in bytes. */
  get ipaSize(): number {
    return 2 ** this.ipaBits;
  }

  private words(pfn: number): Uint32Array {
    const f = this.phys.frame(pfn);
    return new Uint32Array(f.buffer, f.byteOffset, 1024);
  }

  /** The (frame, index) of the level-1 entry for `ipa`. */
  private rootSlot(ipa: number): [number, number] {
    const i = Math.floor(ipa / 2 ** 30) % 1024;
    return [this.pgdPfn + (i >>> 9), i & 511];
  }

  /** The next-level table under an entry, or undefined when it is invalid. */
  private next(pfn: number, idx: number): number | undefined {
    const w = this.words(pfn);
    const lo = w[idx * 2]!;
    if ((lo & 3) !== 3) return undefined;
    return (lo >>> 12) + (w[idx * 2 + 1]! & 0xffff) * 2 ** 20;
  }

  /** The level-3 table of `ipa`, created from `alloc` when missing (undefined when alloc is absent). */
  private leafTable(ipa: number, alloc?: () => number): number | undefined {
    let [pfn, idx] = this.rootSlot(ipa);
    for (const shift of [21, 12]) {
      let t = this.next(pfn, idx);
      if (t === undefined) {
        if (alloc === undefined) return undefined;
        t = alloc();
        this.phys.frame(t).fill(0);
        this.tables.add(t);
        this.writeDesc(pfn, idx, t, KVM_PTE_VALID | KVM_PTE_TYPE_PAGE_OR_TABLE, 0);
      }
      pfn = t;
      idx = Math.floor(ipa / 2 ** shift) % 512;
      if (shift === 12) return pfn;
    }
    return undefined;
  }

  private writeDesc(pfn: number, idx: number, outPfn: number, loAttrs: number, hiAttrs: number): void {
    const w = this.words(pfn);
    // Output address bits 47:12: bits 31:12 in the low word, 47:32 in the high one.
    w[idx * 2] = (((outPfn % 2 ** 20) << 12) | loAttrs) >>> 0;
    w[idx * 2 + 1] = (Math.floor(outPfn / 2 ** 20) & 0xffff) | hiAttrs;
  }

  /**
   * kvm_pgtable_stage2_map() of one 4 KiB page: `ipa` to host `hpfn`,
   * Normal memory, read-only unless `writable`. Returns true when a valid
   * mapping was replaced (the caller flushes the TLBs).
   */
  map(ipa: number, hpfn: number, writable: boolean, alloc: () => number): boolean {
    const t = this.leafTable(ipa, alloc)!;
    const idx = Math.floor(ipa / PAGE_SIZE) % 512;
    const replaced = (this.words(t)[idx * 2]! & KVM_PTE_VALID) !== 0;
    const attrs =
      KVM_PTE_VALID |
      KVM_PTE_TYPE_PAGE_OR_TABLE |
      KVM_PTE_LEAF_ATTR_MEMATTR_NORMAL |
      KVM_PTE_LEAF_ATTR_S2AP_R |
      (writable ? KVM_PTE_LEAF_ATTR_S2AP_W : 0) |
      KVM_PTE_LEAF_ATTR_SH_IS |
      KVM_PTE_LEAF_ATTR_AF;
    this.writeDesc(t, idx, hpfn, attrs, 0);
    return replaced;
  }

  /** The leaf mapping `ipa`, if any. */
  getLeaf(ipa: number): Stage2Leaf | undefined {
    if (ipa < 0 || ipa >= this.ipaSize) return undefined;
    const t = this.leafTable(ipa);
    if (t === undefined) return undefined;
    const idx = Math.floor(ipa / PAGE_SIZE) % 512;
    const w = this.words(t);
    const lo = w[idx * 2]!;
    if ((lo & 3) !== 3) return undefined;
    return {
      tablePfn: t,
      idx,
      hpfn: (lo >>> 12) + (w[idx * 2 + 1]! & 0xffff) * 2 ** 20,
      writable: (lo & KVM_PTE_LEAF_ATTR_S2AP_W) !== 0,
    };
  }

  /** kvm_pgtable_stage2_unmap() over [ipa, ipa + size): true when anything was mapped. */
  unmapRange(ipa: number, size: number): boolean {
    return this.walkLeaves(ipa, size, (w, i) => {
      w[i * 2] = 0;
      w[i * 2 + 1] = 0;
    });
  }

  /** kvm_pgtable_stage2_wrprotect() over [ipa, ipa + size): true when a writable leaf lost S2AP[1]. */
  wrprotectRange(ipa: number, size: number): boolean {
    let changed = false;
    this.walkLeaves(ipa, size, (w, i) => {
      const lo = w[i * 2]!;
      if ((lo & KVM_PTE_LEAF_ATTR_S2AP_W) !== 0) {
        w[i * 2] = (lo & ~KVM_PTE_LEAF_ATTR_S2AP_W) >>> 0;
        changed = true;
      }
    });
    return changed;
  }

  /** Visit each valid leaf in the range; true when there was one. Skips absent tables a whole table at a time. */
  private walkLeaves(ipa: number, size: number, fn: (w: Uint32Array, idx: number) => void): boolean {
    let any = false;
    const end = Math.min(ipa + size, this.ipaSize);
    let a = Math.floor(ipa / PAGE_SIZE) * PAGE_SIZE;
    while (a < end) {
      const t = this.leafTable(a);
      if (t === undefined) {
        a = (Math.floor(a / 2 ** 21) + 1) * 2 ** 21;
        continue;
      }
      const w = this.words(t);
      const stop = Math.min(end, (Math.floor(a / 2 ** 21) + 1) * 2 ** 21);
      for (; a < stop; a += PAGE_SIZE) {
        const i = Math.floor(a / PAGE_SIZE) % 512;
        if ((w[i * 2]! & 3) === 3) {
          fn(w, i);
          any = true;
        }
      }
    }
    return any;
  }

  /** Free the root and every table (kvm_free_stage2_pgd()). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const t of this.tables) this.phys.putPage(t);
    this.tables.clear();
    this.phys.freeFrames(this.pgdPfn, 2);
  }
}

/** An IPA's value split as HPFAR_EL2 holds it (FIPA = IPA[51:12] in bits 43:4) back to the page address. */
export function hpfarToIpa(hpfar: bigint): bigint {
  return ((hpfar >> 4n) & ((1n << 40n) - 1n)) << 12n;
}
