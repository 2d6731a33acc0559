/** Base page: 4 KiB, as PAGE_SHIFT on RISC-V, arm64 and x86. */
export const PAGE_SHIFT = 12;
/** Base page size in bytes. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** A PMD-level huge page: 2 MiB (HPAGE_PMD_SHIFT with 4 KiB base pages). */
export const HPAGE_SHIFT = 21;
/** PMD huge page size in bytes. */
export const HPAGE_SIZE = 1 << HPAGE_SHIFT;
/** Base pages per PMD huge page. */
export const HPAGE_NR_PAGES = HPAGE_SIZE / PAGE_SIZE;

// mmap(2) prot bits (include/uapi/asm-generic/mman-common.h).
/** Pages may not be accessed. */
export const PROT_NONE = 0x0;
/** Pages may be read. */
export const PROT_READ = 0x1;
/** Pages may be written. */
export const PROT_WRITE = 0x2;
/** Pages may be executed. */
export const PROT_EXEC = 0x4;

// mmap(2) flags (asm-generic/mman-common.h, linux/mman.h).
/** Share the mapping; writes reach the file and other mappers. */
export const MAP_SHARED = 0x01;
/** Private copy-on-write mapping. */
export const MAP_PRIVATE = 0x02;
/** MAP_SHARED, but unknown flags fail instead of being ignored. */
export const MAP_SHARED_VALIDATE = 0x03;
/** Mask of the mapping type (SHARED, PRIVATE, SHARED_VALIDATE). */
export const MAP_TYPE = 0x0f;
/** Map at exactly this address, replacing what is there. */
export const MAP_FIXED = 0x10;
/** Not backed by a file; zero-filled. */
export const MAP_ANONYMOUS = 0x20;
/** Lock the pages in memory (like mlock). */
export const MAP_LOCKED = 0x2000;
/** Do not reserve swap space. */
export const MAP_NORESERVE = 0x4000;
/** Prefault the pages at mmap time. */
export const MAP_POPULATE = 0x8000;
/** Back the mapping with huge pages. */
export const MAP_HUGETLB = 0x40000;
/** MAP_FIXED, but fail with EEXIST instead of replacing a mapping. */
export const MAP_FIXED_NOREPLACE = 0x100000;

// vm_flags (include/linux/mm.h). VM_READ/WRITE/EXEC equal the PROT_ bits.
/** No access. */
export const VM_NONE = 0x0;
/** The VMA may be read. */
export const VM_READ = 0x1;
/** The VMA may be written. */
export const VM_WRITE = 0x2;
/** The VMA may be executed. */
export const VM_EXEC = 0x4;
/** The VMA is shared, not copy-on-write. */
export const VM_SHARED = 0x8;
/** mprotect may add read access. */
export const VM_MAYREAD = 0x10;
/** mprotect may add write access. */
export const VM_MAYWRITE = 0x20;
/** mprotect may add exec access. */
export const VM_MAYEXEC = 0x40;
/** The VMA may be shared. */
export const VM_MAYSHARE = 0x80;
/** Raw PFNs with no struct page (remap_pfn_range). */
export const VM_PFNMAP = 0x400;
/** The pages are mlocked. */
export const VM_LOCKED = 0x2000;
/** Memory-mapped I/O; never dumped or copied. */
export const VM_IO = 0x4000;
/** mremap may not grow the VMA. */
export const VM_DONTEXPAND = 0x40000;
/** A hugetlbfs mapping. */
export const VM_HUGETLB = 0x400000;
/** Left out of core dumps. */
export const VM_DONTDUMP = 0x04000000;
/** madvise(MADV_HUGEPAGE) was applied. */
export const VM_HUGEPAGE = 0x20000000;
/** madvise(MADV_NOHUGEPAGE) was applied. */
export const VM_NOHUGEPAGE = 0x40000000;

// madvise(2) advice values used here (asm-generic/mman-common.h).
/** Back the range with transparent huge pages. */
export const MADV_HUGEPAGE = 14;
/** Do not use transparent huge pages for the range. */
export const MADV_NOHUGEPAGE = 15;

/** gup flags (include/linux/mm_types.h): FOLL_WRITE asks for a writable page. */
export const FOLL_WRITE = 0x01;
/** The pin is long-term (e.g. for device DMA). */
export const FOLL_LONGTERM = 0x100;

/** Default RLIMIT_MEMLOCK since Linux 5.16 (MLOCK_LIMIT = 8 MiB). */
export const MLOCK_LIMIT = 8 * 1024 * 1024;
/** Default vm.max_map_count (DEFAULT_MAX_MAP_COUNT). */
export const DEFAULT_MAX_MAP_COUNT = 65530;
/** Default vm.mmap_min_addr on most distributions. */
export const DEFAULT_MMAP_MIN_ADDR = 0x10000;
/** TASK_SIZE of a 48-bit user address space (x86-64 4-level, RISC-V Sv48). */
export const TASK_SIZE_48 = 2 ** 47;
