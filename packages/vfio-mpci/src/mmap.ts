import { fail, KernelError } from '@tsvirt/core-bus';
import type { MdevDevice, MdevMappingTarget } from '@tsvirt/mdev-core';
import { VFIO_REGION_INFO_FLAG_MMAP, type VfioVma } from '@tsvirt/vfio-core';
import type { MpciRegion } from './region-info.ts';
import type { MpciParentOps } from './vendor-ops.ts';

// vm_flags (include/linux/mm.h), as host-mm defines them.
export const VM_SHARED = 0x8;
export const VM_PFNMAP = 0x400;
export const VM_IO = 0x4000;
export const VM_DONTEXPAND = 0x40000;
export const VM_DONTDUMP = 0x04000000;

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Pages per region in the device file: 1 << (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT). */
const REGION_PAGES = 2 ** (40 - PAGE_SHIFT);

/** The vm_operations_struct shape host-mm calls: fault returns the host pfn of page `pgoff`. */
export interface MpciVmOps {
  fault(vma: VfioVma, pgoff: number): number;
  open?(vma: VfioVma): void;
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

export const defaultZapVmaPtes: ZapVmaPtes = (vma, address, size) => {
  const mm = (vma as { mm?: { zapVmaPtes?: ZapVmaPtes } }).mm;
  if (typeof mm?.zapVmaPtes === 'function') mm.zapVmaPtes(vma, address, size);
};

/** What the mmap path needs from the device it maps. */
export interface MpciMmapHost {
  readonly mdev: MdevDevice;
  readonly ops: MpciParentOps;
  /** The cached regions, or undefined while the device is closed or revoked. */
  liveRegions(): readonly (MpciRegion | undefined)[] | undefined;
  readonly zapVmaPtes: ZapVmaPtes;
}

/** A mapping as the mdev core tracks it: zaps translate file offsets to this vma's addresses. */
function trackerFor(host: MpciMmapHost, vma: VfioVma): MdevMappingTarget {
  return {
    window: () => ({ start: BigInt(vma.pgoff) * BigInt(PAGE_SIZE), size: BigInt(vma.end - vma.start) }),
    zap(offset, length) {
      const fileStart = BigInt(vma.pgoff) * BigInt(PAGE_SIZE);
      const fileEnd = fileStart + BigInt(vma.end - vma.start);
      const lo = offset > fileStart ? offset : fileStart;
      const hi = offset + length < fileEnd ? offset + length : fileEnd;
      if (lo >= hi) return;
      host.zapVmaPtes(vma, vma.start + Number(lo - fileStart), Number(hi - lo));
    },
  };
}

/**
 * The fault handler (the seed's mdev_dev_mmio_fault()): ask the vendor's
 * validate_map_request() which host pfn backs the faulting page, and refuse
 * an answer that is empty, not page-sized or runs past the end of the
 * mapping; without the callback, map the parent's resource for the region
 * (pci_resource_start() of the parent, as the seed). Throwing makes the
 * access fail (SIGBUS / EFAULT), never reach the wrong page.
 */
function fault(host: MpciMmapHost, vma: VfioVma, pgoff: number): number {
  if (host.liveRegions() === undefined) throw new KernelError('EFAULT', 'device is closed or gone');
  const index = Math.floor(pgoff / REGION_PAGES);
  const page = pgoff % REGION_PAGES;
  const offset = BigInt(page) * BigInt(PAGE_SIZE);
  const virtaddr = vma.start + (pgoff - vma.pgoff) * PAGE_SIZE;
  const remaining = vma.end - virtaddr;
  const validate = host.ops.validateMapRequest;
  if (validate !== undefined) {
    const ans = validate.call(host.ops, host.mdev, { index, offset, virtaddr, remaining });
    if (
      ans === undefined ||
      !Number.isSafeInteger(ans.pfn) ||
      ans.pfn < 0 ||
      !Number.isSafeInteger(ans.size) ||
      ans.size <= 0 ||
      ans.size % PAGE_SIZE !== 0 ||
      ans.size > remaining
    )
      throw new KernelError(
        'EINVAL',
        `validate_map_request answered outside the mapping: ${JSON.stringify(ans)}`,
      );
    return ans.pfn;
  }
  const res = host.mdev.parent.resource(index);
  if (res === undefined || offset >= res.size)
    throw new KernelError('EFAULT', `parent has no resource ${index} there`);
  return Number(res.start >> BigInt(PAGE_SHIFT)) + page;
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
  const targets = new WeakMap<VfioVma, MdevMappingTarget>();
  const tracked = (v: VfioVma): MdevMappingTarget => {
    let t = targets.get(v);
    if (t === undefined) {
      t = trackerFor(host, v);
      targets.set(v, t);
    }
    return t;
  };
  const ops: MpciVmOps = {
    fault: (v, pgoff) => fault(host, v, pgoff),
    // A split piece (vm_ops->open) is a mapping of its own.
    open: (v) => track(v),
    close: (v) => host.mdev.physMappings.remove(tracked(v)),
  };
  vma.flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
  vma.ops = ops;
  track(vma);
}
