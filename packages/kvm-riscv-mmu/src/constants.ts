// G-stage page-table facts from the RISC-V privileged spec (H extension) and
// arch/riscv/include/asm/kvm_gstage.h / pgtable-bits.h.

/** PTE bits (the same layout as the VS-stage / S-stage PTE). */
export const PTE_V = 1 << 0;
/** PTE bit: readable. */
export const PTE_R = 1 << 1;
/** PTE bit: writable. */
export const PTE_W = 1 << 2;
/** PTE bit: executable. */
export const PTE_X = 1 << 3;
/** PTE bit: user (must be set in G-stage leaves). */
export const PTE_U = 1 << 4;
/** PTE bit: global. */
export const PTE_G = 1 << 5;
/** PTE bit: accessed. */
export const PTE_A = 1 << 6;
/** PTE bit: dirty. */
export const PTE_D = 1 << 7;
/** All permission bits; none set marks a non-leaf PTE. */
export const PTE_RWX = PTE_R | PTE_W | PTE_X;
/** The PPN starts at bit 10. */
export const PTE_PPN_SHIFT = 10;

/** hgatp.MODE values. */
export const HGATP_MODE_OFF = 0;
/** hgatp.MODE: Sv39x4. */
export const HGATP_MODE_SV39X4 = 8;
/** hgatp.MODE: Sv48x4. */
export const HGATP_MODE_SV48X4 = 9;
/** Shift of hgatp.MODE. */
export const HGATP_MODE_SHIFT = 60n;
/** Shift of hgatp.VMID. */
export const HGATP_VMID_SHIFT = 44n;
/** Width of hgatp.VMID on RV64. */
export const HGATP_VMID_BITS = 14;
/** Mask of hgatp.PPN. */
export const HGATP_PPN_MASK = (1n << 44n) - 1n;

/** log2 of the page size. */
export const PAGE_SHIFT = 12;
/** Page size in bytes. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Bits of index per level below the root (512 entries per 4 KiB table). */
export const GSTAGE_INDEX_BITS = 9;
/** The x4 root is 16 KiB: 2048 entries, two extra index bits (kvm_riscv_gstage_pgd_xbits). */
export const GSTAGE_PGD_XBITS = 2;
/** Pages of the x4 root table. */
export const GSTAGE_PGD_PAGES = 1 << GSTAGE_PGD_XBITS;
/** Entries of the x4 root table. */
export const GSTAGE_PGD_ENTRIES = 512 << GSTAGE_PGD_XBITS;

/** Leaf sizes by level: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
export const GSTAGE_LEVEL_SIZE = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39] as const;
/** Leaf size of a level-1 (2 MiB) mapping. */
export const PMD_SIZE = GSTAGE_LEVEL_SIZE[1];
/** Leaf size of a level-2 (1 GiB) mapping. */
export const PUD_SIZE = GSTAGE_LEVEL_SIZE[2];

/** Levels of each mode (kvm_riscv_gstage_pgd_levels). */
export function gstageLevels(mode: number): number {
  return mode === HGATP_MODE_SV48X4 ? 4 : 3;
}

/** Guest physical address bits of each mode (kvm_riscv_gstage_gpa_bits): 41 for Sv39x4, 50 for Sv48x4. */
export function gstageGpaBits(mode: number): number {
  return 12 + GSTAGE_INDEX_BITS * gstageLevels(mode) + GSTAGE_PGD_XBITS;
}
