import { PROT_EXEC, PROT_READ, PROT_WRITE } from './constants.ts';

/**
 * The memory type of a page-table entry: 'wb' ordinary cached memory,
 * 'uc' pgprot_noncached() (what vfio-pci gives BAR mmaps), 'wc'
 * pgprot_writecombine() (a frame buffer).
 */
export type PgprotCache = 'wb' | 'uc' | 'wc';

/**
 * pgprot_t, reduced to what the model's page table keeps per entry: the
 * access (PROT_READ | PROT_WRITE | PROT_EXEC bits, equal to VM_READ/WRITE/EXEC)
 * and the memory type. A write-only access is stored readable, as every
 * architecture's protection_map[] does (no MMU here can express W without R).
 */
export interface Pgprot {
  /** PROT_READ | PROT_WRITE | PROT_EXEC bits. */
  readonly access: number;
  /** Memory type of the mapping. */
  readonly cache: PgprotCache;
}

const ACC = PROT_READ | PROT_WRITE | PROT_EXEC;

/** vm_get_page_prot(): the protection of a vma's pages from its VM_READ/WRITE/EXEC flags, cached. */
export function vmGetPageProt(vmFlags: number): Pgprot {
  return { access: vmFlags & ACC, cache: 'wb' };
}

/** pgprot_noncached(): the same access, uncached (device registers). */
export function pgprotNoncached(p: Pgprot): Pgprot {
  return { access: p.access, cache: 'uc' };
}

/** pgprot_writecombine(): the same access, write-combining (frame buffers). */
export function pgprotWritecombine(p: Pgprot): Pgprot {
  return { access: p.access, cache: 'wc' };
}

// The byte a page-table entry keeps beside its pfn: access in bits 0-2 (the
// PROT_ bits), memory type in bits 3-4.
export const PTE_READ = PROT_READ;
export const PTE_WRITE = PROT_WRITE;
export const PTE_ACCESS = ACC;
const CACHE_SHIFT = 3;
const CACHE_CODES: readonly PgprotCache[] = ['wb', 'uc', 'wc'];

/** True for a pgprot this page table can hold: known access bits and memory type. */
export function validPgprot(p: unknown): p is Pgprot {
  if (p === null || typeof p !== 'object') return false;
  const { access, cache } = p as Pgprot;
  return Number.isInteger(access) && (access & ~ACC) === 0 && CACHE_CODES.includes(cache);
}

/** The entry byte of a pgprot (write implies read, as protection_map[]). */
export function encodePgprot(p: Pgprot): number {
  let access = p.access & ACC;
  if ((access & PROT_WRITE) !== 0) access |= PROT_READ;
  return access | ((p.cache === 'wb' ? 0 : p.cache === 'uc' ? 1 : 2) << CACHE_SHIFT);
}

export function decodePgprot(bits: number): Pgprot {
  return { access: bits & ACC, cache: CACHE_CODES[(bits >> CACHE_SHIFT) & 3]! };
}

/** pte_modify(): new access bits, the memory type kept (mprotect's change_pte_range()). */
export function pteModify(bits: number, access: number): number {
  return (bits & ~ACC) | (encodePgprot({ access, cache: 'wb' }) & ACC);
}
