// G-stage page-table facts from the RISC-V privileged spec (H extension) and
// arch/riscv/include/asm/kvm_gstage.h / pgtable-bits.h.

/** PTE bits (the same layout as the VS-stage / S-stage PTE). */
export const PTE_V = 1 << 0;
export const PTE_R = 1 << 1;
export const PTE_W = 1 << 2;
export const PTE_X = 1 << 3;
export const PTE_U = 1 << 4;
export const PTE_G = 1 << 5;
export const PTE_A = 1 << 6;
export const PTE_D = 1 << 7;
export const PTE_RWX = PTE_R | PTE_W | PTE_X;
/** The PPN starts at bit 10. */
export const PTE_PPN_SHIFT = 10;

/** hgatp.MODE values. */
export const HGATP_MODE_OFF = 0;
export const HGATP_MODE_SV39X4 = 8;
export const HGATP_MODE_SV48X4 = 9;
export const HGATP_MODE_SHIFT = 60n;
export const HGATP_VMID_SHIFT = 44n;
export const HGATP_VMID_BITS = 14;
export const HGATP_PPN_MASK = (1n << 44n) - 1n;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Bits of index per level below the root (512 entries per 4 KiB table). */
export const GSTAGE_INDEX_BITS = 9;
/** The x4 root is 16 KiB: 2048 entries, two extra index bits (kvm_riscv_gstage_pgd_xbits). */
export const GSTAGE_PGD_XBITS = 2;
export const GSTAGE_PGD_PAGES = 1 << GSTAGE_PGD_XBITS;
export const GSTAGE_PGD_ENTRIES = 512 << GSTAGE_PGD_XBITS;

/** Leaf sizes by level: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
export const GSTAGE_LEVEL_SIZE = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39] as const;
export const PMD_SIZE = GSTAGE_LEVEL_SIZE[1];
export const PUD_SIZE = GSTAGE_LEVEL_SIZE[2];

/** Levels of each mode (kvm_riscv_gstage_pgd_levels). */
export function gstageLevels(mode: number): number {
  return mode === HGATP_MODE_SV48X4 ? 4 : 3;
}

/** Guest physical address bits of each mode (kvm_riscv_gstage_gpa_bits): 41 for Sv39x4, 50 for Sv48x4. */
export function gstageGpaBits(mode: number): number {
  return 12 + GSTAGE_INDEX_BITS * gstageLevels(mode) + GSTAGE_PGD_XBITS;
}
