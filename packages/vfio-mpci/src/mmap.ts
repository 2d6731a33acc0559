import { fail, KernelError } from '@tsvirt/core-bus';
import type { MdevDevice, MdevMappingTarget } from '@tsvirt/mdev-core';
import { VFIO_REGION_INFO_FLAG_MMAP, type VfioVma } from '@tsvirt/vfio-core';
import type { MpciRegion } from './region-info.ts';
import type { MpciMapAnswer, MpciParentOps, MpciPgprot } from './vendor-ops.ts';

// vm_flags (include/linux/mm.h), as host-mm defines them. VM_READ/WRITE/EXEC equal the PROT_ bits.
/** The VMA may be read. */
export const VM_READ = 0x1;
/** The VMA may be written. */
export const VM_WRITE = 0x2;
/** The VMA may be executed. */
export const VM_EXEC = 0x4;
/** The VMA is shared, not copy-on-write. */
export const VM_SHARED = 0x8;
/** Raw PFNs with no struct page. */
export const VM_PFNMAP = 0x400;
/** Memory-mapped I/O. */
export const VM_IO = 0x4000;
/** mremap may not grow the VMA. */
export const VM_DONTEXPAND = 0x40000;
/** Left out of core dumps. */
export const VM_DONTDUMP = 0x04000000;

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Pages per region in the device file: 1 << (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT). */
const REGION_PAGES = 2 ** (40 - PAGE_SHIFT);
const VM_ACCESS = VM_READ | VM_WRITE | VM_EXEC;
/** Vendor answers remembered per mapping when the mm cannot remap a range (see `fault`). */
const MAX_REMEMBERED = 64;

/** The vm_operations_struct shape host-mm calls: fault returns the host pfn of page `pgoff`. */
export interface MpciVmOps {
  /** Return the host pfn for page `pgoff` of the mapping (vm_ops->fault). */
  fault(vma: VfioVma, pgoff: number): number;
  /** A write hit a page the vendor mapped read-only: throwing is SIGBUS (vm_ops->pfn_mkwrite). */
  pfnMkwrite?(vma: VfioVma, pgoff: number): void;
  /** A VMA copy was made (vm_ops->open, on split or fork). */
  open?(vma: VfioVma): void;
  /** The VMA is going away (vm_ops->close). */
  close?(vma: VfioVma): void;
}

/**
 * zap_vma_ptes(vma, address, size): drop the page-table entries of part of a
 * mapping so the next access faults again (and MMU notifiers, KVM's among
 * them, hear of it). The address space does it; the default uses
 * `vma.mm.zapVmaPtes` (the vma's vm_mm) when the mm offers it and otherwise
 * does nothing, since revoking runs on guest-facing paths that must not
 * throw. A VMM whose mm has another shape passes its own to the driver.
 */
export type ZapVmaPtes = (vma: VfioVma, address: number, size: number) => void;

/** Zaps through the VMA's mm (host-mm's `zapVmaPtes`) when it has one; otherwise does nothing. */
export const defaultZapVmaPtes: ZapVmaPtes = (vma, address, size) => {
  const mm = (vma as { mm?: { zapVmaPtes?: ZapVmaPtes } }).mm;
  if (typeof mm?.zapVmaPtes === 'function') mm.zapVmaPtes(vma, address, size);
};

/**
 * remap_pfn_range(vma, addr, pfn, size, prot): fill the page-table entries
 * of [addr, addr + size) with frames from `pfn` on, with protection `prot`
 * (the seed's fault handler maps the vendor's whole answer this way). The
 * address space does it; the default uses `vma.mm.remapPfnRange` when the
 * mm offers it. It returns false when it cannot (no such mm): vfio-mpci then
 * keeps the answer and serves the later faults of that range from it, so the
 * vendor is still asked once per range (see `fault`).
 */
export type RemapPfnRange = (
  vma: VfioVma,
  addr: number,
  pfn: number,
  size: number,
  prot: MpciPgprot,
) => boolean;

/**
 * host-mm's MmStruct.remapPfnRange, through the vma's vm_mm. A KernelError
 * it throws (EBUSY for entries still present, see `fault`) reaches the
 * fault handler.
 */
export const defaultRemapPfnRange: RemapPfnRange = (vma, addr, pfn, size, prot) => {
  const mm = (vma as { mm?: { remapPfnRange?: (...a: Parameters<RemapPfnRange>) => void } }).mm;
  if (typeof mm?.remapPfnRange !== 'function') return false;
  mm.remapPfnRange(vma, addr, pfn, size, prot);
  return true;
};

/**
 * vm_page_prot of a device mapping: the vma's access bits, non-cached, as
 * vfio_pci_core_mmap() sets it with pgprot_noncached() (the seed left the
 * mmap's own protection; device memory is non-cached upstream).
 */
export function mpciVmPageProt(vma: VfioVma): MpciPgprot {
  return { access: vma.flags & VM_ACCESS, cache: 'uc' };
}

/** What the mmap path needs from the device it maps. */
export interface MpciMmapHost {
  /** The mdev being mapped. */
  readonly mdev: MdevDevice;
  /** The vendor's callbacks. */
  readonly ops: MpciParentOps;
  /** The cached regions, or undefined while the device is closed or revoked. */
  liveRegions(): readonly (MpciRegion | undefined)[] | undefined;
  /** How mappings are zapped (zap_vma_ptes()). */
  readonly zapVmaPtes: ZapVmaPtes;
  /** How a fault maps the vendor's answer (remap_pfn_range()). */
  readonly remapPfnRange: RemapPfnRange;
}

/** A vendor answer kept for a mapping whose mm could not take the whole range at once. */
interface Remembered {
  start: number;
  end: number;
  pfn: number;
  prot: MpciPgprot;
}

/** One mmap of a region: the tracker mdev-core zaps through, and the answers remembered for it. */
interface MappingState extends MdevMappingTarget {
  remembered: Remembered[];
}

/**
 * A mapping as the mdev core tracks it: zaps translate file offsets to this
 * vma's addresses, and forget the remembered answers they touch, so the
 * next fault there asks the vendor again.
 */
function trackerFor(host: MpciMmapHost, vma: VfioVma): MappingState {
  const state: MappingState = {
    remembered: [],
    window: () => ({ start: BigInt(vma.pgoff) * BigInt(PAGE_SIZE), size: BigInt(vma.end - vma.start) }),
    zap(offset, length) {
      const fileStart = BigInt(vma.pgoff) * BigInt(PAGE_SIZE);
      const fileEnd = fileStart + BigInt(vma.end - vma.start);
      const lo = offset > fileStart ? offset : fileStart;
      const hi = offset + length < fileEnd ? offset + length : fileEnd;
      if (lo >= hi) return;
      const a = vma.start + Number(lo - fileStart);
      const b = a + Number(hi - lo);
      state.remembered = state.remembered.filter((r) => r.end <= a || r.start >= b);
      host.zapVmaPtes(vma, a, b - a);
    },
  };
  return state;
}

/** An answer's protection may narrow the mapping's, never widen it. */
function validProt(p: MpciPgprot | undefined, vmaAccess: number): boolean {
  if (p === undefined) return true;
  if (p === null || typeof p !== 'object') return false;
  return (
    Number.isInteger(p.access) &&
    (p.access & ~vmaAccess) === 0 &&
    (p.cache === 'uc' || p.cache === 'wc' || p.cache === 'wb')
  );
}

/**
 * The seed's check of validate_map_request()'s answer, made exact: a range
 * of whole pages inside the vma (the seed's ">= vm_end" also refused a range
 * ending at the vma's end; upstream-style "<=" here) holding the faulting
 * page (else the access would fault forever), frames that exist, and a
 * protection no wider than the mapping's. Returns the range start.
 */
function checkAnswer(ans: MpciMapAnswer | undefined, vma: VfioVma, faultAddr: number): number {
  const bad = (): never => {
    throw new KernelError(
      'EINVAL',
      `validate_map_request answered outside the mapping: ${JSON.stringify(ans)}`,
    );
  };
  if (ans === undefined || ans === null || typeof ans !== 'object') return bad();
  const start = ans.virtaddr ?? faultAddr;
  const { pfn, size } = ans;
  if (
    !Number.isSafeInteger(pfn) ||
    pfn < 0 ||
    !Number.isSafeInteger(size) ||
    size <= 0 ||
    size % PAGE_SIZE !== 0 ||
    !Number.isSafeInteger(start) ||
    start % PAGE_SIZE !== 0 ||
    start < vma.start ||
    start + size > vma.end ||
    faultAddr < start ||
    faultAddr >= start + size ||
    !validProt(ans.prot, vma.flags & VM_ACCESS)
  )
    return bad();
  return start;
}

/** The faulting page's place: region index, offset in it, user address. */
function faultPlace(vma: VfioVma, pgoff: number) {
  const index = Math.floor(pgoff / REGION_PAGES);
  const page = pgoff % REGION_PAGES;
  return {
    index,
    page,
    offset: BigInt(page) * BigInt(PAGE_SIZE),
    virtaddr: vma.start + (pgoff - vma.pgoff) * PAGE_SIZE,
  };
}

/**
 * validate_map_request() for the page at `virtaddr`, its answer checked:
 * the range start and the protection to map with. A vendor's exception
 * that is not a KernelError is EFAULT.
 */
function askVendor(
  host: MpciMmapHost,
  validate: NonNullable<MpciParentOps['validateMapRequest']>,
  vma: VfioVma,
  where: ReturnType<typeof faultPlace>,
): { ans: MpciMapAnswer; start: number; prot: MpciPgprot } {
  const { index, offset, virtaddr } = where;
  const prot = mpciVmPageProt(vma);
  let ans: MpciMapAnswer;
  try {
    ans = validate.call(host.ops, host.mdev, {
      index,
      offset,
      virtaddr,
      remaining: vma.end - virtaddr,
      prot,
    });
  } catch (e) {
    if (e instanceof KernelError) throw e;
    throw new KernelError('EFAULT', `validate_map_request failed: ${String(e)}`);
  }
  const start = checkAnswer(ans, vma, virtaddr);
  return {
    ans,
    start,
    prot: ans.prot === undefined ? prot : { access: ans.prot.access, cache: ans.prot.cache },
  };
}

/**
 * The fault handler (the seed's mdev_dev_mmio_fault()): ask the vendor's
 * validate_map_request() what backs the faulting page, and map its whole
 * answer: `size` bytes from `pfn` at its `virtaddr` with its protection
 * (remap_pfn_range()). Without the callback, the parent's resource for the
 * region is mapped (pci_resource_start() of the parent, as the seed), page
 * by page. Returns the faulting page's pfn for the mm to install. Any
 * failure, a vendor's exception included, is a KernelError (SIGBUS /
 * EFAULT), never the wrong page and never a host exception.
 *
 * remap_pfn_range() wants every entry of the range empty (upstream BUGs,
 * host-mm says EBUSY): when part of an earlier answer is still mapped (a
 * zap that covered only part of it), the rest of the answered range is
 * zapped and the range mapped again, as vfio-pci's fault handler zapped
 * the vma when its remap failed.
 *
 * When the mm cannot take a range (no `remapPfnRange`), the answer is kept
 * for this mapping and the later faults inside it are answered from it,
 * until a zap of that range: the vendor is asked once per range, as with
 * remap_pfn_range(), though the mm then only knows the faulting page's
 * frame and not the answer's protection.
 */
function fault(host: MpciMmapHost, state: MappingState, vma: VfioVma, pgoff: number): number {
  if (host.liveRegions() === undefined) throw new KernelError('EFAULT', 'device is closed or gone');
  const where = faultPlace(vma, pgoff);
  const { index, page, offset, virtaddr } = where;
  const validate = host.ops.validateMapRequest;
  if (validate === undefined) {
    const res = host.mdev.parent.resource(index);
    if (res === undefined || offset >= res.size)
      throw new KernelError('EFAULT', `parent has no resource ${index} there`);
    return Number(res.start >> BigInt(PAGE_SHIFT)) + page;
  }
  for (const r of state.remembered)
    if (virtaddr >= r.start && virtaddr < r.end) return r.pfn + (virtaddr - r.start) / PAGE_SIZE;
  const { ans, start, prot } = askVendor(host, validate, vma, where);
  let mapped: boolean;
  try {
    mapped = host.remapPfnRange(vma, start, ans.pfn, ans.size, prot);
  } catch (e) {
    if (!(e instanceof KernelError) || e.code !== 'EBUSY') throw e;
    host.zapVmaPtes(vma, start, ans.size);
    mapped = host.remapPfnRange(vma, start, ans.pfn, ans.size, prot);
  }
  if (!mapped && ans.size > PAGE_SIZE) {
    state.remembered.push({ start, end: start + ans.size, pfn: ans.pfn, prot });
    if (state.remembered.length > MAX_REMEMBERED) state.remembered.shift();
  }
  return ans.pfn + (virtaddr - start) / PAGE_SIZE;
}

/**
 * pfn_mkwrite: a write reached a page whose entry is read-only in this
 * writable mapping, which only a vendor's narrowed answer makes. The seed
 * has no pfn_mkwrite, and Linux then simply makes the entry writable
 * (wp_pfn_shared()), so a narrowed protection would not hold; here the
 * vendor is asked again and the write goes on only if its answer for the
 * page now grants write (else SIGBUS: EFAULT). Without validate_map_request
 * nothing was narrowed and the write goes on.
 */
function pfnMkwrite(host: MpciMmapHost, vma: VfioVma, pgoff: number): void {
  if (host.liveRegions() === undefined) throw new KernelError('EFAULT', 'device is closed or gone');
  const validate = host.ops.validateMapRequest;
  if (validate === undefined) return;
  const { prot } = askVendor(host, validate, vma, faultPlace(vma, pgoff));
  if ((prot.access & VM_WRITE) === 0) throw new KernelError('EFAULT', 'the vendor maps this page read-only');
}

/**
 * vfio_mpci_mmap(): the region is pgoff >> 28; the mapping must be shared,
 * of a region with FLAG_MMAP, and inside the region (page-rounded). The vma
 * becomes VM_IO | VM_PFNMAP with the fault handler above, and is tracked in
 * the mdev's physical mappings so the vendor can revoke it.
 */
export function mpciMmap(host: MpciMmapHost, vma: VfioVma): void {
  const OP = 'mmap';
  const regions = host.liveRegions();
  if (regions === undefined) fail('ENODEV', 'device is gone', OP);
  if (vma.end < vma.start) fail('EINVAL', 'vma ends before it starts', OP);
  if ((vma.flags & VM_SHARED) === 0) fail('EINVAL', 'a device region mapping must be MAP_SHARED', OP);
  const index = Math.floor(vma.pgoff / REGION_PAGES);
  const r = regions[index];
  if (r === undefined || (r.flags & VFIO_REGION_INFO_FLAG_MMAP) === 0)
    fail('EINVAL', `region ${index} cannot be mmapped`, OP);
  const reqStart = BigInt(vma.pgoff % REGION_PAGES) * BigInt(PAGE_SIZE);
  const reqLen = BigInt(vma.end - vma.start);
  const physLen = (r.size + BigInt(PAGE_SIZE - 1)) & ~BigInt(PAGE_SIZE - 1);
  if (reqStart + reqLen > physLen) fail('EINVAL', `mapping passes the end of region ${index}`, OP);

  const track = (v: VfioVma): void => {
    const start = BigInt(v.pgoff) * BigInt(PAGE_SIZE);
    host.mdev.physMappings.add(tracked(v), start, BigInt(v.end - v.start));
  };
  const targets = new WeakMap<VfioVma, MappingState>();
  const tracked = (v: VfioVma): MappingState => {
    let t = targets.get(v);
    if (t === undefined) {
      t = trackerFor(host, v);
      targets.set(v, t);
    }
    return t;
  };
  const ops: MpciVmOps = {
    fault: (v, pgoff) => fault(host, tracked(v), v, pgoff),
    pfnMkwrite: (v, pgoff) => pfnMkwrite(host, v, pgoff),
    // A split piece (vm_ops->open) is a mapping of its own.
    open: (v) => track(v),
    close: (v) => host.mdev.physMappings.remove(tracked(v)),
  };
  vma.flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
  // vfio_pci_core_mmap(): vm_page_prot = pgprot_noncached(vm_page_prot), for an mm that has one.
  const withProt = vma as VfioVma & { pageProt?: MpciPgprot };
  if (withProt.pageProt !== undefined) withProt.pageProt = { access: withProt.pageProt.access, cache: 'uc' };
  vma.ops = ops;
  track(vma);
}
