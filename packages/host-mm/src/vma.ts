import { PAGE_SIZE } from './constants.ts';
import { type Pgprot, vmGetPageProt } from './pgprot.ts';

/**
 * vm_operations_struct: the hooks of a mapping backed by a driver. `fault`
 * answers which host pfn backs page `pgoff` of the mapping (the vma's own
 * vm_pgoff plus the page index within it), as a VM_PFNMAP driver does with
 * vmf_insert_pfn(). Throwing (or returning a negative number) is SIGBUS:
 * the access fails with EFAULT.
 */
export interface VmOperations {
  /**
   * A fault on a page with no entry. The handler may fill the entries
   * itself (remap_pfn_range() of a whole range, with its own protection)
   * and return the faulting page's pfn: an entry present after the call
   * wins (VM_FAULT_NOPAGE). Otherwise the returned pfn is installed with
   * the vma's vm_page_prot (vmf_insert_pfn()).
   */
  fault(vma: VmArea, pgoff: number): number;
  /**
   * vm_ops->pfn_mkwrite: a write hit a read-only entry of a VM_PFNMAP page
   * in a shared writable vma. Returning lets the write proceed (the entry
   * becomes writable, finish_mkwrite_fault()); throwing is SIGBUS (EFAULT).
   * Without it the entry is made writable (wp_pfn_shared()).
   */
  pfnMkwrite?(vma: VmArea, pgoff: number): void;
  /** A vma was split or duplicated from this one (vm_ops->open). */
  open?(vma: VmArea): void;
  /** A vma goes away (vm_ops->close), once per vma piece. */
  close?(vma: VmArea): void;
}

/**
 * What mmap(2) of a file descriptor calls (file_operations->mmap): the driver
 * checks the request, then sets vm_flags (VM_PFNMAP|VM_IO ...) and vm_ops.
 * Throwing a KernelError fails the mmap with that errno.
 */
export interface MmapFile {
  /** file_operations.mmap: set up the VMA (vm_ops, flags, maybe remap the pages). */
  mmap(vma: VmArea): void;
}

/** What a vma knows of its address space (vm_mm): enough for a driver to map and zap its pages. */
export interface VmAreaMm {
  /** Unmap the PTEs of [address, address + size) in the VMA (zap_vma_ptes). */
  zapVmaPtes(vma: VmArea, address: number, size: number): void;
  /** Map `size` bytes of PFNs from `pfn` at `addr` (remap_pfn_range). */
  remapPfnRange(vma: VmArea, addr: number, pfn: number, size: number, prot: Pgprot): void;
}

/** struct vm_area_struct: [start, end) of one mapping with its protection and backing. */
export class VmArea {
  /** vm_mm: the address space holding this vma (set by mmap()). */
  mm: VmAreaMm | undefined = undefined;
  /**
   * vm_page_prot: what a page faulted in without a protection of its own
   * gets. From the access flags at mmap (vm_get_page_prot()); a driver's
   * mmap may change the memory type (pgprot_noncached()); mprotect(2)
   * changes the access and keeps the memory type (vma_set_page_prot()).
   */
  pageProt: Pgprot;

  constructor(
    /** First address of the mapping (vm_start). */
    public start: number,
    /** One past the last address (vm_end). */
    public end: number,
    /** VM_* flags, including VM_READ/VM_WRITE/VM_EXEC. */
    public flags: number,
    /** vm_pgoff: the offset in the backing object, in pages, of `start`. */
    public pgoff: number,
    /** Page size of the mapping: 4 KiB, or 2 MiB for hugetlb. */
    public readonly pageSize: number,
    /** vm_operations_struct: fault and close handlers, if any. */
    public ops: VmOperations | undefined = undefined,
    /** The mapped file (vm_file), or undefined for anonymous memory. */
    public readonly file: MmapFile | undefined = undefined,
  ) {
    this.pageProt = vmGetPageProt(flags);
  }

  /** Length of the mapping in bytes. */
  get length(): number {
    return this.end - this.start;
  }

  /** Whether `addr` is inside [start, end). */
  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }

  /** The backing-object page offset of `addr` (linear_page_index()). */
  pgoffOf(addr: number): number {
    return this.pgoff + Math.floor((addr - this.start) / PAGE_SIZE);
  }

  /** A copy for the upper half when __split_vma() cuts this vma at `addr`. */
  splitAt(addr: number): VmArea {
    const hi = new VmArea(addr, this.end, this.flags, this.pgoffOf(addr), this.pageSize, this.ops, this.file);
    hi.mm = this.mm;
    hi.pageProt = this.pageProt;
    this.end = addr;
    return hi;
  }
}
