/** Base page: 4 KiB, as PAGE_SHIFT on RISC-V, arm64 and x86. */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** A PMD-level huge page: 2 MiB (HPAGE_PMD_SHIFT with 4 KiB base pages). */
export const HPAGE_SHIFT = 21;
export const HPAGE_SIZE = 1 << HPAGE_SHIFT;
export const HPAGE_NR_PAGES = HPAGE_SIZE / PAGE_SIZE;

// mmap(2) prot bits (include/uapi/asm-generic/mman-common.h).
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;

// mmap(2) flags (asm-generic/mman-common.h, linux/mman.h).
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_LOCKED = 0x2000;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_HUGETLB = 0x40000;
export const MAP_FIXED_NOREPLACE = 0x100000;

// vm_flags (include/linux/mm.h). VM_READ/WRITE/EXEC equal the PROT_ bits.
export const VM_NONE = 0x0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
export const VM_IO = 0x4000;
export const VM_DONTEXPAND = 0x40000;
export const VM_HUGETLB = 0x400000;
export const VM_DONTDUMP = 0x04000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;

// madvise(2) advice values used here (asm-generic/mman-common.h).
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;

/** gup flags (include/linux/mm_types.h): FOLL_WRITE asks for a writable page. */
export const FOLL_WRITE = 0x01;
export const FOLL_LONGTERM = 0x100;

/** Default RLIMIT_MEMLOCK since Linux 5.16 (MLOCK_LIMIT = 8 MiB). */
export const MLOCK_LIMIT = 8 * 1024 * 1024;
/** Default vm.max_map_count (DEFAULT_MAX_MAP_COUNT). */
export const DEFAULT_MAX_MAP_COUNT = 65530;
/** Default vm.mmap_min_addr on most distributions. */
export const DEFAULT_MMAP_MIN_ADDR = 0x10000;
/** TASK_SIZE of a 48-bit user address space (x86-64 4-level, RISC-V Sv48). */
export const TASK_SIZE_48 = 2 ** 47;
