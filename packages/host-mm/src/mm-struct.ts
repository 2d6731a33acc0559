import { fail } from '@tsvirt/core-bus';
import {
  DEFAULT_MAX_MAP_COUNT,
  DEFAULT_MMAP_MIN_ADDR,
  HPAGE_NR_PAGES,
  HPAGE_SIZE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  MLOCK_LIMIT,
  PAGE_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE_48,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_IO,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from './constants.ts';
import type { MmuNotifier } from './mmu-notifier.ts';
import { PageTable, PTE_NONE } from './page-table.ts';
import {
  decodePgprot,
  encodePgprot,
  type Pgprot,
  PTE_READ,
  PTE_WRITE,
  pteModify,
  validPgprot,
} from './pgprot.ts';
import type { HostPhysMemory } from './phys-memory.ts';
import { type MmapFile, VmArea } from './vma.ts';

/** mmap(2)'s arguments. `offset` is in bytes, as for mmap(2) (not mmap2's pages). */
export interface MmapArgs {
  /** Address hint, or the exact address with MAP_FIXED. */
  addr?: number;
  /** Length in bytes. */
  length: number;
  /** PROT_* bits. */
  prot: number;
  /** MAP_* flags. */
  flags: number;
  /** The file being mapped; absent with MAP_ANONYMOUS. */
  file?: MmapFile;
  /** Offset into the file in bytes, page aligned. */
  offset?: number;
}

/** The limits of a new address space: TASK_SIZE, RLIMIT_MEMLOCK, CAP_IPC_LOCK, max_map_count, mmap_min_addr. */
export interface MmStructOptions {
  /** TASK_SIZE: the top of the user address space. Default 2^47. */
  taskSize?: number;
  /** RLIMIT_MEMLOCK in bytes (Infinity = RLIM_INFINITY). Default 8 MiB. */
  rlimitMemlock?: number;
  /** The task has CAP_IPC_LOCK: locked memory is not limited. */
  capIpcLock?: boolean;
  /** vm.max_map_count: most VMAs the address space may hold. */
  maxMapCount?: number;
  /** vm.mmap_min_addr: lowest address mmap may hand out. */
  mmapMinAddr?: number;
}

const ACC_PROT = PROT_READ | PROT_WRITE | PROT_EXEC;
/** Gap kept between the top of the mmap area and TASK_SIZE (the stack's place). */
const STACK_GAP = 128 * 1024 * 1024;

const roundUp = (x: number, a: number) => Math.ceil(x / a) * a;

/**
 * A process address space (struct mm_struct): VMAs sorted by address, a
 * page table from virtual page number to host pfn, locked-memory accounting
 * and MMU notifiers. Addresses are plain numbers (exact below 2^53).
 */
export class MmStruct {
  /** TASK_SIZE: the top of the user address space. */
  readonly taskSize: number;
  /** vm.max_map_count of this address space. */
  readonly maxMapCount: number;
  /** vm.mmap_min_addr of this address space. */
  readonly mmapMinAddr: number;
  /** RLIMIT_MEMLOCK, bytes. */
  rlimitMemlock: number;
  /** CAP_IPC_LOCK: locked_vm is counted but never limited. */
  capIpcLock: boolean;
  /** mm->locked_vm, in pages. */
  lockedVm = 0;
  private readonly vmas: VmArea[] = [];
  /** The page table: vpn -> pfn, one entry per 4 KiB page (a huge page has 512). */
  private readonly ptes = new PageTable();
  private readonly notifiers = new Set<MmuNotifier>();
  /** 2 MiB blocks (by hva / 2 MiB) currently backed by a transparent huge page. */
  private readonly thpBlocks = new Set<number>();

  constructor(
    /** The host physical memory the pages come from. */
    readonly phys: HostPhysMemory,
    opts: MmStructOptions = {},
  ) {
    this.taskSize = opts.taskSize ?? TASK_SIZE_48;
    this.rlimitMemlock = opts.rlimitMemlock ?? MLOCK_LIMIT;
    this.capIpcLock = opts.capIpcLock ?? false;
    this.maxMapCount = opts.maxMapCount ?? DEFAULT_MAX_MAP_COUNT;
    this.mmapMinAddr = opts.mmapMinAddr ?? DEFAULT_MMAP_MIN_ADDR;
  }

  /** The VMAs, in address order (read-only view). */
  get vmaList(): readonly VmArea[] {
    return this.vmas;
  }

  /** Number of VMAs (map_count). */
  get mapCount(): number {
    return this.vmas.length;
  }

  /** Pages with a present page-table entry. */
  get residentPages(): number {
    return this.ptes.size;
  }

  /** The pfn a page is mapped to now, without faulting (undefined if not present). */
  pteOf(hva: number): number | undefined {
    return this.ptes.get(Math.floor(hva / PAGE_SIZE));
  }

  /**
   * The protection of the entry mapping `hva` now (pte_pgprot() of what
   * follow_pte() finds), without faulting; undefined if not present. KVM
   * reads it to map a VM_PFNMAP page writable only where its entry is
   * (hva_to_pfn_remapped()).
   */
  pteProtOf(hva: number): Pgprot | undefined {
    const bits = this.ptes.protOf(Math.floor(hva / PAGE_SIZE));
    return bits === undefined ? undefined : decodePgprot(bits);
  }

  // --- VMA lookup -----------------------------------------------------------

  /** Index of the first vma whose end is above `addr` (vmas.length if none). */
  private firstEndAbove(addr: number): number {
    let lo = 0;
    let hi = this.vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.vmas[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** find_vma() narrowed to "contains": the vma holding `addr`, if any. */
  findVma(addr: number): VmArea | undefined {
    const v = this.vmas[this.firstEndAbove(addr)];
    return v !== undefined && v.start <= addr ? v : undefined;
  }

  private overlaps(start: number, end: number): boolean {
    const v = this.vmas[this.firstEndAbove(start)];
    return v !== undefined && v.start < end;
  }

  // --- notifiers --------------------------------------------------------------

  /** Register an MMU notifier (mmu_notifier_register). */
  registerMmuNotifier(n: MmuNotifier): void {
    this.notifiers.add(n);
  }

  /** Unregister an MMU notifier (mmu_notifier_unregister). */
  unregisterMmuNotifier(n: MmuNotifier): void {
    this.notifiers.delete(n);
  }

  private invalidate(start: number, end: number): void {
    for (const n of this.notifiers) n.invalidateRange(start, end);
  }

  // --- mmap / munmap / mprotect ----------------------------------------------

  /** mmap(2). Returns the address; errors as do_mmap(): EINVAL, EBADF, ENOMEM, EEXIST, EPERM, EAGAIN. */
  mmap(a: MmapArgs): number {
    const { length, prot, flags } = a;
    const offset = a.offset ?? 0;
    const type = flags & MAP_TYPE;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE)
      fail('EINVAL', 'exactly one of MAP_SHARED and MAP_PRIVATE is needed', 'mmap');
    if ((prot & ~ACC_PROT) !== 0) fail('EINVAL', `unknown prot bits ${prot}`, 'mmap');
    const anon = (flags & MAP_ANONYMOUS) !== 0;
    if (!anon && a.file === undefined) fail('EBADF', 'no file and not MAP_ANONYMOUS', 'mmap');
    if (!Number.isSafeInteger(length) || length <= 0) fail('EINVAL', `bad length ${length}`, 'mmap');
    const huge = (flags & MAP_HUGETLB) !== 0;
    // Only anonymous hugetlb is modelled (there is no hugetlbfs file to map).
    if (huge && !anon) fail('EINVAL', 'MAP_HUGETLB of a file that is not on hugetlbfs', 'mmap');
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % PAGE_SIZE !== 0)
      fail('EINVAL', `offset ${offset} is not page aligned`, 'mmap');
    const pageSize = huge ? HPAGE_SIZE : PAGE_SIZE;
    const len = roundUp(length, pageSize);
    if (len > this.taskSize) fail('ENOMEM', 'length exceeds the address space', 'mmap');
    if (this.vmas.length >= this.maxMapCount) fail('ENOMEM', 'vm.max_map_count reached', 'mmap');
    const shared = type !== MAP_PRIVATE;
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;

    let addr: number;
    if (fixed) {
      addr = a.addr ?? 0;
      if (!Number.isSafeInteger(addr) || addr % pageSize !== 0)
        fail('EINVAL', `MAP_FIXED address ${addr} is not aligned to ${pageSize}`, 'mmap');
      if (addr + len > this.taskSize) fail('ENOMEM', 'fixed range beyond TASK_SIZE', 'mmap');
      if (addr < this.mmapMinAddr) fail('EPERM', 'address below mmap_min_addr', 'mmap');
      if ((flags & MAP_FIXED_NOREPLACE) !== 0 && this.overlaps(addr, addr + len))
        fail('EEXIST', 'MAP_FIXED_NOREPLACE range is already mapped', 'mmap');
      this.checkCut(addr, addr + len, 'mmap');
    } else {
      addr = this.getUnmappedArea(a.addr, len, pageSize);
    }

    let vmFlags = (prot & ACC_PROT) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    if (shared) vmFlags |= VM_SHARED | VM_MAYSHARE;
    if (huge) vmFlags |= VM_HUGETLB;
    const locked = (flags & MAP_LOCKED) !== 0;
    if (locked) {
      vmFlags |= VM_LOCKED;
      // mlock_future_ok(): MAP_LOCKED beyond RLIMIT_MEMLOCK is EAGAIN.
      if (!this.capIpcLock && (this.lockedVm + len / PAGE_SIZE) * PAGE_SIZE > this.rlimitMemlock)
        fail('EAGAIN', 'MAP_LOCKED would exceed RLIMIT_MEMLOCK', 'mmap');
    }
    const pgoff = anon ? (shared ? 0 : addr / PAGE_SIZE) : offset / PAGE_SIZE;
    const vma = new VmArea(addr, addr + len, vmFlags, pgoff, pageSize, undefined, a.file);
    vma.mm = this;
    // The driver's mmap runs before the old mapping goes, so a refusal leaves
    // the address space as it was (as mmap_region() since 6.12).
    a.file?.mmap(vma);
    if (fixed && this.overlaps(addr, addr + len)) this.removeRange(addr, addr + len);
    this.vmas.splice(this.firstEndAbove(addr), 0, vma);
    if (locked) this.lockedVm += len / PAGE_SIZE;
    if ((locked || (flags & MAP_POPULATE) !== 0) && anon) {
      for (let p = addr; p < addr + len; p += pageSize) this.faultIn(vma, p, false);
    }
    return addr;
  }

  /** Top-down search for a free, `align`-aligned range of `len` bytes (get_unmapped_area()). */
  private getUnmappedArea(hint: number | undefined, len: number, align: number): number {
    if (
      hint !== undefined &&
      Number.isSafeInteger(hint) &&
      hint % align === 0 &&
      hint >= this.mmapMinAddr &&
      hint + len <= this.taskSize &&
      !this.overlaps(hint, hint + len)
    )
      return hint;
    const base = this.taskSize - STACK_GAP;
    for (let i = this.vmas.length; i >= 0; i--) {
      const gapEnd = Math.min(i === this.vmas.length ? base : this.vmas[i]!.start, base);
      const gapStart = Math.max(i === 0 ? this.mmapMinAddr : this.vmas[i - 1]!.end, this.mmapMinAddr);
      const cand = Math.floor((gapEnd - len) / align) * align;
      if (cand >= gapStart && gapEnd - gapStart >= len) return cand;
    }
    return fail('ENOMEM', `no free range of ${len} bytes`, 'mmap');
  }

  /**
   * The checks of __split_vma() for cutting [start, end) out of the vmas it
   * touches, done before anything changes: a hugetlb vma splits only on a
   * huge-page boundary (EINVAL), a split beyond max_map_count is ENOMEM.
   */
  private checkCut(start: number, end: number, syscall: string): void {
    const i = this.firstEndAbove(start);
    const first = this.vmas[i];
    if (first === undefined || first.start >= end) return;
    if (first.start < start) {
      if ((first.flags & VM_HUGETLB) !== 0 && start % first.pageSize !== 0)
        fail('EINVAL', 'cutting a hugetlb mapping off a huge-page boundary', syscall);
      if (first.end > end && this.vmas.length >= this.maxMapCount)
        fail('ENOMEM', 'splitting would exceed vm.max_map_count', syscall);
    }
    const lastI = this.firstEndAbove(end - 1);
    const last = this.vmas[lastI];
    if (last !== undefined && last.start < end && last.end > end) {
      if ((last.flags & VM_HUGETLB) !== 0 && end % last.pageSize !== 0)
        fail('EINVAL', 'cutting a hugetlb mapping off a huge-page boundary', syscall);
    }
  }

  private splitVma(i: number, addr: number): void {
    const v = this.vmas[i]!;
    const hi = v.splitAt(addr);
    this.vmas.splice(i + 1, 0, hi);
    hi.ops?.open?.(hi);
  }

  /** Split so that [start, end) is covered by whole vmas; returns their index range. */
  private isolate(start: number, end: number): [number, number] {
    let i = this.firstEndAbove(start);
    if (i < this.vmas.length && this.vmas[i]!.start < start) {
      this.splitVma(i, start);
      i++;
    }
    let j = i;
    while (j < this.vmas.length && this.vmas[j]!.start < end) {
      if (this.vmas[j]!.end > end) this.splitVma(j, end);
      j++;
    }
    return [i, j];
  }

  /** Unmap [start, end) after checkCut(): notify, split, zap, drop the vmas. */
  private removeRange(start: number, end: number): void {
    this.invalidate(start, end);
    const [i, j] = this.isolate(start, end);
    const gone = this.vmas.splice(i, j - i);
    for (const v of gone) {
      this.zap(v);
      if ((v.flags & VM_LOCKED) !== 0) this.lockedVm -= v.length / PAGE_SIZE;
      v.ops?.close?.(v);
    }
  }

  /**
   * zap_vma_ptes(): drop the page-table entries of [address, address + size)
   * of a VM_PFNMAP vma, so the next access faults through the driver again
   * (a device revoking its BAR pages when memory decode goes off). MMU
   * notifiers hear first, so KVM drops its G-stage mappings too. As upstream,
   * a range outside the vma or a vma that is not VM_PFNMAP is left alone.
   */
  zapVmaPtes(vma: VmArea, address: number, size: number): void {
    if ((vma.flags & VM_PFNMAP) === 0 || address < vma.start || address + size > vma.end || size <= 0) return;
    const start = Math.floor(address / PAGE_SIZE) * PAGE_SIZE;
    const end = Math.ceil((address + size) / PAGE_SIZE) * PAGE_SIZE;
    this.invalidate(start, end);
    this.ptes.clearRange(start / PAGE_SIZE, end / PAGE_SIZE, () => {});
  }

  /**
   * remap_pfn_range(): map [addr, addr + size) of a VM_PFNMAP|VM_IO vma to
   * the frames from `pfn` on, every entry with `prot`, in one call and all
   * or nothing. As upstream, `size` is rounded up to whole pages, a
   * misaligned `addr` is EINVAL, and so is a private (COW) mapping unless
   * the range is the whole vma (its vm_pgoff then becomes `pfn`). Where
   * upstream WARNs or BUGs on the caller's mistake the model refuses
   * instead: EINVAL for an empty range, a range outside the vma, a vma that
   * is not VM_PFNMAP|VM_IO or not mapped in this mm, frames past host memory
   * or an unknown pgprot; EBUSY when an entry of the range is present
   * (remap_pte_range()'s BUG_ON(!pte_none()), EBUSY as vm_insert_page()).
   * New entries replace nothing, so MMU notifiers are not called. Not
   * modelled: x86 PAT memtype tracking (track_pfn_remap()) and the L1TF
   * EACCES of pfn_modify_allowed().
   */
  remapPfnRange(vma: VmArea, addr: number, pfn: number, size: number, prot: Pgprot): void {
    const OP = 'remap_pfn_range';
    if (vma.mm !== this || this.findVma(vma.start) !== vma)
      fail('EINVAL', 'vma is not mapped in this mm', OP);
    if ((vma.flags & (VM_PFNMAP | VM_IO)) !== (VM_PFNMAP | VM_IO))
      fail('EINVAL', 'vma is not VM_PFNMAP | VM_IO', OP);
    if (!Number.isSafeInteger(addr) || addr % PAGE_SIZE !== 0)
      fail('EINVAL', `address ${addr} is not page aligned`, OP);
    if (!Number.isSafeInteger(size) || size <= 0) fail('EINVAL', `bad size ${size}`, OP);
    const end = addr + roundUp(size, PAGE_SIZE);
    if (addr < vma.start || end > vma.end) fail('EINVAL', `[${addr}, ${end}) is not inside the vma`, OP);
    const npages = (end - addr) / PAGE_SIZE;
    if (!Number.isSafeInteger(pfn) || pfn < 0 || pfn + npages > this.phys.totalFrames)
      fail('EINVAL', `frames ${pfn}+${npages} are outside host memory`, OP);
    if (!validPgprot(prot)) fail('EINVAL', `unknown pgprot ${JSON.stringify(prot)}`, OP);
    // is_cow_mapping(): a private mapping is remapped whole, its vm_pgoff marking the frames.
    const cow = (vma.flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
    if (cow && (addr !== vma.start || end !== vma.end))
      fail('EINVAL', 'a private mapping is remapped whole or not at all', OP);
    const first = addr / PAGE_SIZE;
    if (this.ptes.anyInRange(first, first + npages)) fail('EBUSY', 'an entry of the range is present', OP);
    if (cow) vma.pgoff = pfn;
    const bits = encodePgprot(prot);
    for (let k = 0; k < npages; k++) this.ptes.set(first + k, pfn + k, bits);
  }

  /** zap_page_range(): drop the page-table entries of `v`, putting anonymous pages. */
  private zap(v: VmArea): void {
    const first = v.start / PAGE_SIZE;
    const last = v.end / PAGE_SIZE;
    const refcounted = (v.flags & VM_PFNMAP) === 0;
    this.ptes.clearRange(first, last, (_vpn, pfn) => {
      if (refcounted) this.phys.putPage(pfn);
    });
    this.splitThp(v.start, v.end);
  }

  /** split_huge_pmd() for every THP block touching [start, end): its pages stay, now as 4 KiB ones. */
  private splitThp(start: number, end: number): void {
    if (this.thpBlocks.size === 0) return;
    const b0 = Math.floor(start / HPAGE_SIZE);
    const b1 = Math.floor((end - 1) / HPAGE_SIZE);
    if (b1 - b0 < this.thpBlocks.size) {
      for (let b = b0; b <= b1; b++) this.thpBlocks.delete(b);
    } else {
      for (const b of [...this.thpBlocks]) if (b >= b0 && b <= b1) this.thpBlocks.delete(b);
    }
  }

  /**
   * munmap(2): EINVAL for a misaligned address, zero length or a range beyond
   * TASK_SIZE, or a cut through a hugetlb page; ENOMEM when a split would pass
   * max_map_count. Unmapping a range with nothing mapped succeeds. Pinned
   * frames survive (their pins hold references) until unpinned.
   */
  munmap(addr: number, length: number): void {
    if (!Number.isSafeInteger(addr) || addr % PAGE_SIZE !== 0)
      fail('EINVAL', `address ${addr} is not page aligned`, 'munmap');
    if (!Number.isSafeInteger(length) || length <= 0) fail('EINVAL', `bad length ${length}`, 'munmap');
    const end = addr + roundUp(length, PAGE_SIZE);
    if (end > this.taskSize) fail('EINVAL', 'range beyond TASK_SIZE', 'munmap');
    if (!this.overlaps(addr, end)) return;
    this.checkCut(addr, end, 'munmap');
    this.removeRange(addr, end);
  }

  /**
   * mprotect(2): EINVAL misaligned or unknown prot bits, ENOMEM if part of the
   * range is unmapped, EACCES if the mapping may not gain the access
   * (VM_MAY* cleared by its driver). Secondary MMUs are told first.
   */
  mprotect(addr: number, length: number, prot: number): void {
    if (!Number.isSafeInteger(addr) || addr % PAGE_SIZE !== 0)
      fail('EINVAL', `address ${addr} is not page aligned`, 'mprotect');
    if ((prot & ~ACC_PROT) !== 0) fail('EINVAL', `unknown prot bits ${prot}`, 'mprotect');
    if (!Number.isSafeInteger(length) || length < 0) fail('EINVAL', `bad length ${length}`, 'mprotect');
    if (length === 0) return;
    const end = addr + roundUp(length, PAGE_SIZE);
    if (end > this.taskSize) fail('ENOMEM', 'range beyond TASK_SIZE', 'mprotect');
    let at = addr;
    for (let i = this.firstEndAbove(addr); at < end; i++) {
      const v = this.vmas[i];
      if (v === undefined || v.start > at) fail('ENOMEM', `no mapping at ${at}`, 'mprotect');
      // VM_MAYREAD/WRITE/EXEC sit 4 bits above VM_READ/WRITE/EXEC.
      if ((prot & ~((v.flags >> 4) & ACC_PROT)) !== 0)
        fail('EACCES', 'mapping may not gain that access', 'mprotect');
      at = v.end;
    }
    this.checkCut(addr, end, 'mprotect');
    this.invalidate(addr, end);
    // A protection change through part of a huge page splits it (the PMD cannot hold two protections).
    if (addr % HPAGE_SIZE !== 0) this.splitThp(addr, addr + 1);
    if (end % HPAGE_SIZE !== 0) this.splitThp(end - 1, end);
    const [i, j] = this.isolate(addr, end);
    for (let k = i; k < j; k++) {
      const v = this.vmas[k]!;
      v.flags = (v.flags & ~ACC_PROT) | prot;
      // vma_set_page_prot() and change_protection(): every present entry
      // takes the new access and keeps its memory type (pte_modify()).
      v.pageProt = { access: prot, cache: v.pageProt.cache };
      this.ptes.changeProtRange(v.start / PAGE_SIZE, v.end / PAGE_SIZE, (b) => pteModify(b, prot));
    }
  }

  /** Tear the whole address space down (exit_mmap()): notifiers are released first. */
  exitMmap(): void {
    for (const n of this.notifiers) n.release?.();
    this.notifiers.clear();
    if (this.vmas.length > 0) this.removeRange(0, this.taskSize);
  }

  // --- faults and translation -------------------------------------------------

  /**
   * handle_mm_fault() for an access the vma allows: returns the pfn once an
   * entry allowing the access is present. A missing entry faults in; a
   * present one that forbids the access takes the protection fault.
   */
  private faultIn(vma: VmArea, hva: number, write: boolean): number {
    const e = this.ptes.lookup(Math.floor(hva / PAGE_SIZE), write ? PTE_WRITE : PTE_READ);
    return e >= 0 ? e : this.faultSlow(vma, hva, write, e);
  }

  /** faultIn() past the present-and-allowed case, kept apart so the hot path stays small. */
  private faultSlow(vma: VmArea, hva: number, write: boolean, e: number): number {
    const vpn = Math.floor(hva / PAGE_SIZE);
    const need = write ? PTE_WRITE : PTE_READ;
    if (e === PTE_NONE) {
      const prot = encodePgprot(vma.pageProt);
      const pfn = this.doFault(vma, hva, vpn, prot);
      if (pfn >= 0 && (prot & need) === need) return pfn;
      const again = this.ptes.lookup(vpn, need);
      if (again >= 0) return again;
    }
    return this.protFault(vma, hva, vpn, write);
  }

  /**
   * A present entry forbids an access its vma allows. A write to a
   * read-only entry of a shared writable VM_PFNMAP vma is do_wp_page() ->
   * wp_pfn_shared(): the driver's pfn_mkwrite may refuse (SIGBUS), else the
   * entry becomes writable (wp_page_reuse()), as it does for any shared
   * writable vma. Anything else (a read of an entry without read access, a
   * write to a private mapping's read-only entry, whose COW copy is not
   * modelled) is SIGBUS/SIGSEGV: EFAULT.
   */
  private protFault(vma: VmArea, hva: number, vpn: number, write: boolean): number {
    const shared = VM_WRITE | VM_SHARED;
    if (!write || (vma.flags & shared) !== shared)
      return fail('EFAULT', `page at ${hva} is mapped without ${write ? 'write' : 'read'} access`);
    const mkwrite = vma.ops?.pfnMkwrite;
    if (mkwrite !== undefined && (vma.flags & VM_PFNMAP) !== 0) {
      try {
        mkwrite.call(vma.ops, vma, vma.pgoffOf(hva));
      } catch {
        return fail('EFAULT', `pfn_mkwrite refused a write at ${hva}`);
      }
    }
    const pfn = this.ptes.get(vpn);
    // finish_mkwrite_fault() on an entry the driver changed meanwhile: no retry loop here.
    if (pfn === undefined) return fail('EFAULT', `entry at ${hva} went away in pfn_mkwrite`);
    this.ptes.setProt(vpn, this.ptes.protOf(vpn)! | PTE_READ | PTE_WRITE);
    return pfn;
  }

  /**
   * do_fault() / do_anonymous_page(): fill the missing entry of `vpn` (or
   * the huge page around it) with protection byte `prot`. Returns the pfn
   * installed, or -1 when the driver's handler filled the entry itself.
   */
  private doFault(vma: VmArea, hva: number, vpn: number, prot: number): number {
    if (vma.ops !== undefined) {
      let pfn: number;
      try {
        pfn = vma.ops.fault(vma, vma.pgoffOf(hva));
      } catch {
        fail('EFAULT', `fault handler refused page at ${hva}`);
      }
      // The handler filled the entry itself (remap_pfn_range(): VM_FAULT_NOPAGE).
      if (this.ptes.get(vpn) !== undefined) return -1;
      if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.phys.totalFrames)
        fail('EFAULT', `fault handler gave no valid pfn for ${hva}`);
      // A VM_PFNMAP pfn is not refcounted (vm_normal_page() is NULL for it);
      // a driver page mapped normally gains the mapping's reference.
      if ((vma.flags & VM_PFNMAP) === 0) this.phys.getPage(pfn);
      this.ptes.set(vpn, pfn, prot);
      return pfn;
    }
    if (vma.file !== undefined) fail('EFAULT', `no fault handler for file mapping at ${hva}`);
    if (vma.pageSize === HPAGE_SIZE) {
      const baseVpn = Math.floor(hva / HPAGE_SIZE) * HPAGE_NR_PAGES;
      const pfn0 = this.phys.allocContiguous(HPAGE_NR_PAGES, HPAGE_NR_PAGES);
      for (let k = 0; k < HPAGE_NR_PAGES; k++) this.ptes.set(baseVpn + k, pfn0 + k, prot);
      return pfn0 + (vpn - baseVpn);
    }
    if ((vma.flags & VM_HUGEPAGE) !== 0 && this.faultThp(vma, hva, prot)) return this.ptes.get(vpn)!;
    const pfn = this.phys.allocFrame();
    this.ptes.set(vpn, pfn, prot);
    return pfn;
  }

  /**
   * do_huge_pmd_anonymous_page(): with MADV_HUGEPAGE, a fault in a 2 MiB
   * block that lies wholly inside the vma and has nothing mapped yet gets
   * one naturally aligned 2 MiB run of frames; if none is free it falls
   * back to a 4 KiB page, as the kernel does. True when it mapped one.
   */
  private faultThp(vma: VmArea, hva: number, prot: number): boolean {
    const block = Math.floor(hva / HPAGE_SIZE);
    const base = block * HPAGE_SIZE;
    if (base < vma.start || base + HPAGE_SIZE > vma.end) return false;
    const baseVpn = base / PAGE_SIZE;
    if (this.ptes.anyInRange(baseVpn, baseVpn + HPAGE_NR_PAGES)) return false;
    let pfn0: number;
    try {
      pfn0 = this.phys.allocContiguous(HPAGE_NR_PAGES, HPAGE_NR_PAGES);
    } catch {
      return false;
    }
    for (let k = 0; k < HPAGE_NR_PAGES; k++) this.ptes.set(baseVpn + k, pfn0 + k, prot);
    this.thpBlocks.add(block);
    return true;
  }

  /**
   * The size of the host page backing `hva`: 2 MiB inside a hugetlb vma or a
   * transparent huge page, else 4 KiB; 0 when nothing is mapped there. KVM
   * uses it to decide whether a G-stage block mapping is possible
   * (transparent_hugepage_adjust()).
   */
  pageSizeAt(hva: number): number {
    const v = this.findVma(hva);
    if (v === undefined || this.ptes.get(Math.floor(hva / PAGE_SIZE)) === undefined) return 0;
    if (v.pageSize === HPAGE_SIZE || this.thpBlocks.has(Math.floor(hva / HPAGE_SIZE))) return HPAGE_SIZE;
    return PAGE_SIZE;
  }

  /**
   * madvise(2) with MADV_HUGEPAGE / MADV_NOHUGEPAGE: set or clear VM_HUGEPAGE
   * (and VM_NOHUGEPAGE) on the range, splitting vmas at its ends. EINVAL for
   * a misaligned address or other advice; ENOMEM if part of the range is
   * unmapped (checked first here, so nothing changes; the kernel applies the
   * advice to the mapped parts before returning ENOMEM).
   */
  madvise(addr: number, length: number, advice: number): void {
    if (!Number.isSafeInteger(addr) || addr % PAGE_SIZE !== 0)
      fail('EINVAL', `address ${addr} is not page aligned`, 'madvise');
    if (advice !== MADV_HUGEPAGE && advice !== MADV_NOHUGEPAGE)
      fail('EINVAL', `unsupported advice ${advice}`, 'madvise');
    if (!Number.isSafeInteger(length) || length < 0) fail('EINVAL', `bad length ${length}`, 'madvise');
    if (length === 0) return;
    const end = addr + roundUp(length, PAGE_SIZE);
    if (end > this.taskSize) fail('ENOMEM', 'range beyond TASK_SIZE', 'madvise');
    let at = addr;
    for (let i = this.firstEndAbove(addr); at < end; i++) {
      const v = this.vmas[i];
      if (v === undefined || v.start > at) fail('ENOMEM', `no mapping at ${at}`, 'madvise');
      at = v.end;
    }
    this.checkCut(addr, end, 'madvise');
    const [i, j] = this.isolate(addr, end);
    for (let k = i; k < j; k++) {
      const v = this.vmas[k]!;
      v.flags =
        advice === MADV_HUGEPAGE
          ? (v.flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE
          : (v.flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
    }
  }

  private accessible(hva: number, write: boolean): VmArea {
    const v = this.findVma(hva);
    if (v === undefined) fail('EFAULT', `no mapping at ${hva}`);
    if ((v.flags & (write ? VM_WRITE : VM_READ)) === 0)
      fail('EFAULT', `mapping at ${hva} is not ${write ? 'writable' : 'readable'}`);
    return v;
  }

  /**
   * Translate a user address to its host pfn, faulting it in (as
   * hva_to_pfn()/get_user_pages() do). EFAULT when nothing is mapped there,
   * the mapping's protection forbids the access, a driver's fault handler
   * refuses, or the page's own entry forbids it (a read-only entry of a
   * VM_PFNMAP range whose driver refuses pfn_mkwrite). VM_PFNMAP mappings
   * go through their fault handler.
   */
  hvaToPfn(hva: number, write: boolean): number {
    return this.faultIn(this.accessible(hva, write), hva, write);
  }

  /**
   * follow_fault_pfn(): the pfn behind a VM_PFNMAP|VM_IO mapping (which
   * pin_user_pages() refuses). EFAULT for other mappings.
   */
  followPfn(hva: number, write: boolean): number {
    const v = this.accessible(hva, write);
    if ((v.flags & (VM_PFNMAP | VM_IO)) === 0) fail('EFAULT', `mapping at ${hva} is not VM_PFNMAP`);
    return this.faultIn(v, hva, write);
  }

  /** Every page of [hva, hva+len) translated first, so a fault copies nothing. */
  private walk(hva: number, len: number, write: boolean): number[] {
    const pfns: number[] = [];
    const first = Math.floor(hva / PAGE_SIZE);
    const last = Math.floor((hva + len - 1) / PAGE_SIZE);
    for (let vpn = first; vpn <= last; vpn++)
      pfns.push(this.hvaToPfn(vpn === first ? hva : vpn * PAGE_SIZE, write));
    return pfns;
  }

  /** copy_from_user(): EFAULT (and nothing copied) if any page is not readable. */
  copyFromUser(hva: number, dst: Uint8Array): void {
    if (dst.length === 0) return;
    const pfns = this.walk(hva, dst.length, false);
    let done = 0;
    for (const pfn of pfns) {
      const off = (hva + done) % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, dst.length - done);
      this.phys.read(pfn * PAGE_SIZE + off, dst.subarray(done, done + n));
      done += n;
    }
  }

  /** copy_to_user(): EFAULT (and nothing written) if any page is not writable. */
  copyToUser(hva: number, src: Uint8Array): void {
    if (src.length === 0) return;
    const pfns = this.walk(hva, src.length, true);
    let done = 0;
    for (const pfn of pfns) {
      const off = (hva + done) % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, src.length - done);
      this.phys.frame(pfn).set(src.subarray(done, done + n), off);
      done += n;
    }
  }

  /**
   * copy_to_user() of one whole page from `src` at `offset` to the page at
   * `hva` (page aligned: EINVAL), as a VMM loads guest RAM it receives. A
   * page not yet present in a private anonymous 4 KiB mapping is faulted in
   * already holding the data (allocFrameFrom()), instead of being cleared by
   * the fault and then overwritten; any other page goes the copyToUser()
   * way. EFAULT as copyToUser(), or when `src` holds no whole page at
   * `offset`; nothing is written then.
   */
  copyPageToUser(hva: number, src: Uint8Array, offset = 0): void {
    if (!Number.isSafeInteger(hva) || hva % PAGE_SIZE !== 0)
      fail('EINVAL', `address ${hva} is not page aligned`, 'copy_page_to_user');
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + PAGE_SIZE > src.length)
      fail('EFAULT', `no whole page at offset ${offset} of a ${src.length}-byte source`, 'copy_page_to_user');
    const vma = this.accessible(hva, true);
    const vpn = hva / PAGE_SIZE;
    const e = this.ptes.lookup(vpn, PTE_WRITE);
    if (e >= 0) {
      this.phys.frame(e).set(src.subarray(offset, offset + PAGE_SIZE));
      return;
    }
    if (
      e === PTE_NONE &&
      vma.ops === undefined &&
      vma.file === undefined &&
      vma.pageSize === PAGE_SIZE &&
      (vma.flags & (VM_HUGEPAGE | VM_SHARED)) === 0
    ) {
      // do_anonymous_page() with the copy folded in.
      const prot = encodePgprot(vma.pageProt);
      if ((prot & PTE_WRITE) !== 0) {
        this.ptes.set(vpn, this.phys.allocFrameFrom(src, offset), prot);
        return;
      }
    }
    this.copyToUser(hva, src.subarray(offset, offset + PAGE_SIZE));
  }

  // --- pinning and locked memory ---------------------------------------------------

  /**
   * pin_user_pages(FOLL_LONGTERM): fault in and pin `npages` pages from the
   * page-aligned `hva`. EFAULT for an unmapped page, a protection that
   * forbids the access, or a VM_IO/VM_PFNMAP mapping (check_vma_flags());
   * all or nothing: on failure no pin is left. Does not charge locked_vm:
   * the caller does, with accountLockedVm().
   */
  pinUserPages(hva: number, npages: number, write: boolean): number[] {
    if (!Number.isSafeInteger(hva) || hva % PAGE_SIZE !== 0)
      fail('EINVAL', `address ${hva} is not page aligned`, 'pin_user_pages');
    if (!Number.isInteger(npages) || npages < 0) fail('EINVAL', `bad page count ${npages}`, 'pin_user_pages');
    const pfns: number[] = [];
    try {
      let vma: VmArea | undefined;
      for (let k = 0; k < npages; k++) {
        const a = hva + k * PAGE_SIZE;
        if (vma === undefined || !vma.contains(a)) {
          vma = this.accessible(a, write);
          if ((vma.flags & (VM_IO | VM_PFNMAP)) !== 0)
            fail('EFAULT', `mapping at ${a} is VM_IO/VM_PFNMAP`, 'pin_user_pages');
        }
        const pfn = this.faultIn(vma, a, write);
        this.phys.pinFrame(pfn);
        pfns.push(pfn);
      }
    } catch (e) {
      for (const p of pfns) this.phys.unpinFrame(p);
      throw e;
    }
    return pfns;
  }

  /** unpin_user_pages(): EINVAL (nothing unpinned) if any pfn holds fewer pins than asked. */
  unpinUserPages(pfns: readonly number[]): void {
    const want = new Map<number, number>();
    for (const p of pfns) want.set(p, (want.get(p) ?? 0) + 1);
    for (const [p, n] of want)
      if (this.phys.pinCount(p) < n)
        fail('EINVAL', `frame ${p} is not pinned ${n} times`, 'unpin_user_pages');
    for (const p of pfns) this.phys.unpinFrame(p);
  }

  /**
   * account_locked_vm()/__account_locked_vm(): charge (or uncharge) `npages`
   * to locked_vm. Charging beyond RLIMIT_MEMLOCK without CAP_IPC_LOCK is
   * ENOMEM and charges nothing. Uncharging more than is charged is EINVAL
   * (the kernel WARNs; here it is a caller's bug made visible). `bypassRlim`
   * is the capability captured by the caller (VFIO records CAP_IPC_LOCK per
   * mapping at MAP_DMA time); it defaults to this mm's `capIpcLock`.
   */
  accountLockedVm(npages: number, inc: boolean, bypassRlim: boolean = this.capIpcLock): void {
    if (!Number.isInteger(npages) || npages < 0) fail('EINVAL', `bad page count ${npages}`);
    if (npages === 0) return;
    if (inc) {
      if (!bypassRlim && (this.lockedVm + npages) * PAGE_SIZE > this.rlimitMemlock)
        fail(
          'ENOMEM',
          `locked_vm ${this.lockedVm}+${npages} pages exceeds RLIMIT_MEMLOCK ${this.rlimitMemlock}`,
        );
      this.lockedVm += npages;
    } else {
      if (npages > this.lockedVm) fail('EINVAL', `uncharging ${npages} pages, only ${this.lockedVm} locked`);
      this.lockedVm -= npages;
    }
  }
}
