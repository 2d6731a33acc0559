import { fail } from '@tsvirt/core-bus';
import { type MmStruct, PAGE_SIZE, VM_IO, VM_PFNMAP } from '@tsvirt/host-mm';
import type { DmaUnmapEvent, IommuGroupRef, IommuNotifier, VfioIommu } from '@tsvirt/vfio-core';
import { bitmapSet, bitmapTest, copyBitsToUser } from './dirty-bitmap.ts';
import { DmaTree } from './dma-tree.ts';
import { type HwIommuConfig, IommuDomain } from './iommu-domain.ts';
import { decodeType1State, encodeType1State } from './save-restore.ts';
import {
  DEFAULT_DMA_ENTRY_LIMIT,
  DIRTY_BITMAP_BYTES,
  DIRTY_BITMAP_PAGES_MAX,
  DIRTY_BITMAP_SIZE_MAX,
  IOMMU_READ,
  IOMMU_WRITE,
  VFIO_BITMAP_SIZE,
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_CC_IOMMU,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_VADDR,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_DMA_UNMAP_FLAG_VADDR,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_INFO_CAPS,
  VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZE,
  VFIO_IOMMU_TYPE1_DIRTY_BITMAP_SIZE,
  VFIO_IOMMU_TYPE1_DMA_MAP_SIZE,
  VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZE,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_SIZE,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION_SIZE,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL_SIZE,
  VFIO_IOMMU_TYPE1_INFO_MINSZ,
  VFIO_IOMMU_TYPE1_INFO_SIZE,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_PIN_PAGES_MAX_ENTRIES,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_UNMAP_ALL,
  VFIO_UPDATE_VADDR,
  type VfioBitmap,
  type VfioIommuType1DirtyBitmap,
  type VfioIommuType1DmaMap,
  type VfioIommuType1DmaUnmap,
  type VfioIommuType1InfoArg,
  type VfioIommuType1InfoCap,
  type VfioIovaRange,
} from './uapi.ts';
import { VfioDma } from './vfio-dma.ts';

const U64_MAX = (1n << 64n) - 1n;
/** PAGE_MASK as a u64: every page-size bit from 4 KiB up. */
const PAGE_MASK_U64 = U64_MAX ^ BigInt(PAGE_SIZE - 1);
const PAGE_SHIFT_N = 12n;
const PAGE = BigInt(PAGE_SIZE);
/** vfio_dma_do_unmap(): BUG_ON(++retries > 10) for a mapping whose pins outlive the notifier. */
const UNMAP_NOTIFY_RETRIES = 10;

/** How a type1 backend is built: the caller's mm, the dma_entry_limit parameter, an optional hardware IOMMU domain. */
export interface VfioIommuType1Options {
  /** The calling process's address space (`current->mm`), or a getter for it. */
  mm: MmStruct | (() => MmStruct);
  /** The dma_entry_limit module parameter (default 65535). */
  dmaEntryLimit?: number;
  /** The hardware IOMMU that backs non-mdev groups. */
  hwIommu?: HwIommuConfig;
  /** Allocates a dirty bitmap (kvzalloc); tests inject failure here. Default `new Uint8Array`. */
  allocBitmap?: (bytes: number) => Uint8Array;
}

/** __ffs() of a non-zero u64. */
function ffs(x: bigint): bigint {
  let n = 0n;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

function u64(v: unknown, field: string, ioctl: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) fail('EINVAL', `${field} is not a u64 bigint`, ioctl);
  return v;
}

function argObject<T>(arg: unknown, ioctl: string): T {
  if (typeof arg !== 'object' || arg === null) fail('EFAULT', 'argument is not a struct', ioctl);
  return arg as T;
}

interface GroupState {
  /** vfio_iommu_group->pinned_page_dirty_scope. */
  pinnedScope: boolean;
}

/**
 * One type1 container backend (struct vfio_iommu), after upstream
 * drivers/vfio/vfio_iommu_type1.c: DMA mappings in an IOVA-sorted tree, pins
 * for mediated-device vendor drivers, hardware-domain pinning and locked
 * memory accounting, and dirty page tracking. Every failing call throws a
 * KernelError and leaves mappings, pins, accounting and dirty bits as they
 * were.
 */
export class VfioIommuType1 implements VfioIommu {
  /** iommu->dma_list: the mappings, by IOVA. */
  readonly dmaList = new DmaTree();
  /** iommu->dma_avail: mappings still allowed. */
  dmaAvail: number;
  /** iommu->dirty_page_tracking: dirty page tracking is on. */
  dirtyPageTracking = false;
  /** iommu->vaddr_invalid_count: mappings whose vaddr is invalidated. */
  vaddrInvalidCount = 0;
  /** Groups attached that have not declared pinned-page dirty scope. */
  numNonPinnedGroups = 0;
  /** The hardware domain, present while a non-mdev group is attached. */
  domain: IommuDomain | undefined = undefined;
  private readonly hwGroups = new Map<IommuGroupRef, GroupState>();
  private readonly emulatedGroups = new Map<IommuGroupRef, GroupState>();
  private readonly notifiers: IommuNotifier[] = [];
  private readonly currentMm: () => MmStruct;
  private readonly allocBitmap: (bytes: number) => Uint8Array;
  private released = false;

  constructor(
    /** Type1 v2 semantics (VFIO_TYPE1v2_IOMMU). */
    readonly v2: boolean,
    private readonly opts: VfioIommuType1Options,
  ) {
    const mm = opts.mm;
    this.currentMm = typeof mm === 'function' ? mm : () => mm;
    this.dmaAvail = opts.dmaEntryLimit ?? DEFAULT_DMA_ENTRY_LIMIT;
    this.allocBitmap = opts.allocBitmap ?? ((n) => new Uint8Array(n));
  }

  /** iommu->pgsize_bitmap: PAGE_MASK with no hardware domain, else the domain's sizes (sub-page ones hidden). */
  get pgsizeBitmap(): bigint {
    if (this.domain === undefined) return PAGE_MASK_U64;
    let b = this.domain.pgsizeBitmap & U64_MAX;
    if ((b & ~PAGE_MASK_U64) !== 0n) b = (b & PAGE_MASK_U64) | BigInt(PAGE_SIZE);
    return b;
  }

  private shiftCache: [IommuDomain | undefined, bigint] = [undefined, 12n];

  /** __ffs(pgsize_bitmap): the smallest page size's shift, recomputed only when the domain changes. */
  private get pgshift(): bigint {
    if (this.shiftCache[0] !== this.domain) this.shiftCache = [this.domain, ffs(this.pgsizeBitmap)];
    return this.shiftCache[1];
  }

  /** The usable IOVA ranges (iova_list); empty, meaning unrestricted, with only mdev groups. */
  get iovaList(): VfioIovaRange[] {
    return this.domain?.iovaRanges() ?? [];
  }

  /** The attached IOMMU groups. */
  get groups(): IommuGroupRef[] {
    return [...this.hwGroups.keys(), ...this.emulatedGroups.keys()];
  }

  // --- extension and ioctl dispatch ----------------------------------------------

  /** vfio_iommu_type1_check_extension() with this container. */
  checkExtension(ext: number): number {
    return checkExtension(this, ext);
  }

  /** vfio_iommu_type1_ioctl(); an unknown command is ENOTTY. */
  ioctl(cmd: number, arg: unknown): number {
    switch (cmd) {
      case VFIO_CHECK_EXTENSION:
        return this.checkExtension(Number(arg));
      case VFIO_IOMMU_GET_INFO:
        return this.getInfo(argObject(arg, 'VFIO_IOMMU_GET_INFO'));
      case VFIO_IOMMU_MAP_DMA:
        return this.mapDma(argObject(arg, 'VFIO_IOMMU_MAP_DMA'));
      case VFIO_IOMMU_UNMAP_DMA:
        return this.unmapDma(argObject(arg, 'VFIO_IOMMU_UNMAP_DMA'));
      case VFIO_IOMMU_DIRTY_PAGES:
        return this.dirtyPages(argObject(arg, 'VFIO_IOMMU_DIRTY_PAGES'));
      default:
        return fail('ENOTTY', `unknown type1 ioctl 0x${cmd.toString(16)}`);
    }
  }

  // --- VFIO_IOMMU_GET_INFO ------------------------------------------------------------

  /**
   * vfio_iommu_type1_get_info(): iova_pgsizes and the capability chain
   * (MIGRATION, DMA_AVAIL, then IOVA_RANGE when a hardware domain limits
   * IOVA). Each capability is padded to 8 bytes as vfio_info_cap_add()
   * does. A too-small argsz gets the needed size back, without the chain.
   */
  getInfo(info: VfioIommuType1InfoArg): number {
    const IOCTL = 'VFIO_IOMMU_GET_INFO';
    if (!Number.isInteger(info.argsz) || info.argsz < VFIO_IOMMU_TYPE1_INFO_MINSZ)
      fail('EINVAL', `argsz ${info.argsz} < ${VFIO_IOMMU_TYPE1_INFO_MINSZ}`, IOCTL);
    const caps: VfioIommuType1InfoCap[] = [];
    const sizes: number[] = [];
    const pgshift = this.pgshift;
    caps.push({
      header: { id: VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version: 1, next: 0 },
      flags: 0,
      pgsize_bitmap: 1n << pgshift,
      max_dirty_bitmap_size: BigInt(DIRTY_BITMAP_SIZE_MAX),
    });
    sizes.push(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION_SIZE);
    caps.push({ header: { id: VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, next: 0 }, avail: this.dmaAvail });
    sizes.push(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL_SIZE);
    const ranges = this.iovaList;
    if (ranges.length > 0) {
      caps.push({
        header: { id: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1, next: 0 },
        nr_iovas: ranges.length,
        reserved: 0,
        iova_ranges: ranges.map((r) => ({ start: r.start, end: r.end })),
      });
      sizes.push(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE_SIZE + 16 * ranges.length);
    }
    let at = VFIO_IOMMU_TYPE1_INFO_SIZE;
    for (const [i, c] of caps.entries()) {
      at += Math.ceil(sizes[i]! / 8) * 8;
      c.header.next = i + 1 < caps.length ? at : 0;
    }
    const need = at;
    info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
    info.iova_pgsizes = this.pgsizeBitmap;
    const full = info.argsz >= VFIO_IOMMU_TYPE1_INFO_SIZE;
    if (info.argsz < need) {
      info.argsz = need;
      if (full) {
        info.cap_offset = 0;
        info.pad = 0;
      }
    } else {
      info.cap_offset = VFIO_IOMMU_TYPE1_INFO_SIZE;
      info.pad = 0;
      info.caps = caps;
    }
    return 0;
  }

  // --- VFIO_IOMMU_MAP_DMA -------------------------------------------------------------

  /** vfio_iommu_type1_map_dma() + vfio_dma_do_map(). */
  mapDma(map: VfioIommuType1DmaMap): number {
    const IOCTL = 'VFIO_IOMMU_MAP_DMA';
    const mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR;
    if (!Number.isInteger(map.argsz) || map.argsz < VFIO_IOMMU_TYPE1_DMA_MAP_SIZE)
      fail('EINVAL', `argsz ${map.argsz} < ${VFIO_IOMMU_TYPE1_DMA_MAP_SIZE}`, IOCTL);
    if (!Number.isInteger(map.flags) || (map.flags & ~mask) !== 0)
      fail('EINVAL', `unknown flags 0x${map.flags.toString(16)}`, IOCTL);
    const iova = u64(map.iova, 'iova', IOCTL);
    const vaddr = u64(map.vaddr, 'vaddr', IOCTL);
    const size = u64(map.size, 'size', IOCTL);
    const setVaddr = (map.flags & VFIO_DMA_MAP_FLAG_VADDR) !== 0;
    if (size === 0n) fail('EINVAL', 'zero size', IOCTL);
    if (iova + size - 1n > U64_MAX || vaddr + size - 1n > U64_MAX)
      fail('EOVERFLOW', 'iova or vaddr range wraps around', IOCTL);
    // READ/WRITE from the device's point of view.
    let prot = 0;
    if ((map.flags & VFIO_DMA_MAP_FLAG_WRITE) !== 0) prot |= IOMMU_WRITE;
    if ((map.flags & VFIO_DMA_MAP_FLAG_READ) !== 0) prot |= IOMMU_READ;
    if ((prot !== 0 && setVaddr) || (prot === 0 && !setVaddr))
      fail('EINVAL', setVaddr ? 'FLAG_VADDR with READ/WRITE' : 'no READ or WRITE', IOCTL);
    const pgsize = 1n << this.pgshift;
    if (((size | iova | vaddr) & (pgsize - 1n)) !== 0n)
      fail('EINVAL', `size, iova or vaddr not aligned to ${pgsize}`, IOCTL);

    const hit = this.dmaList.find(iova, size);
    if (setVaddr) {
      if (hit === undefined) fail('ENOENT', 'no mapping to update the vaddr of', IOCTL);
      if (!hit.vaddrInvalid || hit.iova !== iova || hit.size !== size)
        fail('EINVAL', 'VADDR update must name one whole invalidated mapping', IOCTL);
      this.changeDmaOwner(hit);
      hit.vaddr = vaddr;
      hit.vaddrInvalid = false;
      this.vaddrInvalidCount--;
      return 0;
    }
    if (hit !== undefined) fail('EEXIST', `overlaps the mapping at 0x${hit.iova.toString(16)}`, IOCTL);
    if (this.dmaAvail === 0) fail('ENOSPC', 'dma_entry_limit reached', IOCTL);
    if (!this.iovaDmaValid(iova, iova + size - 1n)) fail('EINVAL', 'outside the valid IOVA ranges', IOCTL);

    const mm = this.currentMm();
    const dma = new VfioDma(iova, size, vaddr, prot, mm, mm.capIpcLock);
    if (this.domain !== undefined) this.pinMapDma(dma);
    if (this.dirtyPageTracking) {
      try {
        dma.bitmap = this.newBitmap(dma);
      } catch (e) {
        if (dma.iommuMapped) this.unmapUnpin(dma);
        throw e;
      }
    }
    this.dmaList.insert(dma);
    this.dmaAvail--;
    return 0;
  }

  /** vfio_iommu_iova_dma_valid(): inside one usable range, or anything when there is no range list. */
  private iovaDmaValid(start: bigint, end: bigint): boolean {
    const list = this.iovaList;
    if (list.length === 0) return true;
    return list.some((r) => start >= r.start && end <= r.end);
  }

  /**
   * vfio_change_dma_owner(): a VADDR update from another process moves the
   * mapping's locked-memory charge to the new mm (ENOMEM there changes nothing).
   */
  private changeDmaOwner(dma: VfioDma): void {
    const mm = this.currentMm();
    if (mm === dma.mm) return;
    const pages = dma.iommuMapped ? dma.lockedPages : dma.pfnList.size;
    mm.accountLockedVm(pages, true, mm.capIpcLock);
    dma.mm.accountLockedVm(pages, false, true);
    dma.mm = mm;
    dma.lockCap = mm.capIpcLock;
  }

  /**
   * vfio_dma_bitmap_alloc(): EINVAL for a mapping of more than
   * DIRTY_BITMAP_PAGES_MAX (INT_MAX) smallest pages, as the kernel's bitmap
   * helpers count bits in an int; ENOMEM if the allocation fails.
   */
  private newBitmap(dma: VfioDma): Uint8Array {
    const npages = dma.size >> this.pgshift;
    if (npages > BigInt(DIRTY_BITMAP_PAGES_MAX))
      fail('EINVAL', `${npages} pages at 0x${dma.iova.toString(16)} exceed DIRTY_BITMAP_PAGES_MAX`);
    const nbits = Number(npages);
    try {
      // One spare u64, as vfio_dma_bitmap_alloc(), for shifting into the user's bitmap.
      return this.allocBitmap(DIRTY_BITMAP_BYTES(nbits) + 8);
    } catch {
      return fail('ENOMEM', `cannot allocate a dirty bitmap of ${nbits} bits`);
    }
  }

  /**
   * The user address of `iova` inside `dma`, as a number for host-mm. An
   * address at or above TASK_SIZE has no vma: gup fails it with EFAULT (a
   * vaddr near 2^64 is accepted by MAP_DMA and only fails when pinned).
   */
  private hvaOf(dma: VfioDma, iova: bigint): number {
    const hva = dma.vaddr + (iova - dma.iova);
    if (hva >= BigInt(dma.mm.taskSize))
      fail('EFAULT', `user address 0x${hva.toString(16)} is beyond TASK_SIZE`);
    return Number(hva);
  }

  /**
   * vfio_pin_map_dma(): pin every page in order (pin_user_pages, or
   * follow_fault_pfn for a VM_PFNMAP mapping, whose pfns are neither pinned
   * nor charged) and map it in the hardware domain. As
   * vfio_pin_pages_remote(), each page is checked against RLIMIT_MEMLOCK
   * as it is pinned, so the first page that cannot be pinned (EFAULT) or
   * charged (ENOMEM) ends the call: a huge mapping fails there, not after
   * pinning all of it. Pages a vendor driver already pinned (and charged)
   * are not charged again. All or nothing.
   */
  private pinMapDma(dma: VfioDma): void {
    const n = dma.npages;
    const write = (dma.prot & IOMMU_WRITE) !== 0;
    const mm = dma.mm;
    const firstPfn = Number(dma.iova >> PAGE_SHIFT_N);
    // Pages below TASK_SIZE; the rest fail in gup with EFAULT.
    const top = BigInt(mm.taskSize);
    const userPages = dma.vaddr >= top ? 0 : Number((top - dma.vaddr) >> PAGE_SHIFT_N);
    // Grown as pages are pinned: sized by what was pinned, not by what was asked.
    let pfns = new Float64Array(Math.min(n, 1024));
    let done = 0;
    let pinned = 0;
    let lockAcct = 0;
    try {
      while (done < n) {
        if (done >= userPages)
          fail(
            'EFAULT',
            `user address 0x${(dma.vaddr + BigInt(done) * PAGE).toString(16)} is beyond TASK_SIZE`,
          );
        const hva = Number(dma.vaddr) + done * PAGE_SIZE;
        if (done === pfns.length) {
          const grown = new Float64Array(Math.min(n, pfns.length * 2));
          grown.set(pfns);
          pfns = grown;
        }
        const v = mm.findVma(hva);
        if (v !== undefined && (v.flags & (VM_IO | VM_PFNMAP)) !== 0) {
          // VM_IO|VM_PFNMAP: translate without a pin (a "reserved" pfn to type1).
          const pfn = mm.followPfn(hva, write);
          pfns[done++] = -1 - pfn;
          continue;
        }
        const [pfn] = mm.pinUserPages(hva, 1, write);
        pfns[done++] = pfn!;
        pinned++;
        if (dma.pfnList.has(firstPfn + done - 1)) continue;
        if (!dma.lockCap && (mm.lockedVm + lockAcct + 1) * PAGE_SIZE > mm.rlimitMemlock)
          fail('ENOMEM', `RLIMIT_MEMLOCK (${mm.rlimitMemlock}) exceeded`, 'vfio_pin_pages_remote');
        lockAcct++;
      }
      mm.accountLockedVm(lockAcct, true, dma.lockCap);
    } catch (e) {
      for (let k = 0; k < done; k++) if (pfns[k]! >= 0) mm.phys.unpinFrame(pfns[k]!);
      throw e;
    }
    for (let k = 0; k < n; k++) {
      const p = pfns[k]!;
      this.domain!.map(firstPfn + k, p >= 0 ? p : -1 - p);
    }
    dma.hostPfns = pfns;
    dma.lockedPages = pinned;
    dma.iommuMapped = true;
  }

  /**
   * vfio_unmap_unpin(): unmap from the domain and unpin; the charge of pages
   * a vendor driver still pins stays (vpfn_pages() in the kernel).
   */
  private unmapUnpin(dma: VfioDma): void {
    const pfns = dma.hostPfns;
    if (pfns === undefined) return;
    const base = Number(dma.iova >> PAGE_SHIFT_N);
    for (let k = 0; k < pfns.length; k++) {
      this.domain?.unmap(base + k);
      if (pfns[k]! >= 0) dma.mm.phys.unpinFrame(pfns[k]!);
    }
    dma.mm.accountLockedVm(dma.lockedPages - dma.pfnList.size, false, true);
    dma.hostPfns = undefined;
    dma.lockedPages = 0;
    dma.iommuMapped = false;
  }

  /**
   * vfio_remove_dma(). Pins a vendor driver still holds are dropped (the
   * kernel WARNs; only release and last-group detach get here with pins).
   */
  private removeDma(dma: VfioDma): void {
    if (dma.pfnList.size > 0) {
      const acct = this.domain === undefined;
      for (const [iovaPfn] of dma.pfnList) {
        const v = dma.pfnList.get(iovaPfn)!;
        v.refCount = 1;
        this.unpinExternal(dma, iovaPfn, acct);
      }
    }
    if (dma.iommuMapped) this.unmapUnpin(dma);
    this.dmaList.remove(dma);
    dma.bitmap = undefined;
    if (dma.vaddrInvalid) this.vaddrInvalidCount--;
    this.dmaAvail++;
  }

  // --- VFIO_IOMMU_UNMAP_DMA -------------------------------------------------------------

  /** vfio_iommu_type1_unmap_dma(): checks the struct, then vfio_dma_do_unmap(); `size` is written back. */
  unmapDma(unmap: VfioIommuType1DmaUnmap): number {
    const IOCTL = 'VFIO_IOMMU_UNMAP_DMA';
    const mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL;
    if (!Number.isInteger(unmap.argsz) || unmap.argsz < VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZE)
      fail('EINVAL', `argsz ${unmap.argsz} < ${VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZE}`, IOCTL);
    if (!Number.isInteger(unmap.flags) || (unmap.flags & ~mask) !== 0)
      fail('EINVAL', `unknown flags 0x${unmap.flags.toString(16)}`, IOCTL);
    const getBitmap = (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) !== 0;
    if (getBitmap && (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)) !== 0)
      fail('EINVAL', 'GET_DIRTY_BITMAP cannot be combined with ALL or VADDR', IOCTL);
    const iova = u64(unmap.iova, 'iova', IOCTL);
    const size = u64(unmap.size, 'size', IOCTL);
    let bitmap: VfioBitmap | undefined;
    if (getBitmap) {
      if (unmap.argsz < VFIO_IOMMU_TYPE1_DMA_UNMAP_SIZE + VFIO_BITMAP_SIZE)
        fail('EINVAL', 'argsz leaves no room for the vfio_bitmap', IOCTL);
      bitmap = this.checkUserBitmap(unmap.bitmap, size, IOCTL);
    }
    unmap.size = this.doUnmap(unmap.flags, iova, size, bitmap, IOCTL);
    return 0;
  }

  /** Copy-in of a struct vfio_bitmap and verify_bitmap_size() for a range of `size` bytes. */
  private checkUserBitmap(bm: VfioBitmap | undefined, size: bigint, ioctl: string): VfioBitmap {
    if (typeof bm !== 'object' || bm === null) return fail('EFAULT', 'no vfio_bitmap', ioctl);
    const pgsize = u64(bm.pgsize, 'bitmap.pgsize', ioctl);
    const bsize = u64(bm.size, 'bitmap.size', ioctl);
    if (!(bm.data instanceof Uint8Array)) fail('EINVAL', 'bitmap.data is not a buffer', ioctl);
    if (pgsize === 0n) fail('EINVAL', 'bitmap.pgsize is zero', ioctl);
    const npages = size >> ffs(pgsize);
    if (
      npages === 0n ||
      bsize === 0n ||
      bsize > BigInt(DIRTY_BITMAP_SIZE_MAX) ||
      bsize < BigInt(DIRTY_BITMAP_BYTES(Number(npages)))
    )
      fail('EINVAL', `bitmap of ${bsize} bytes is wrong for ${npages} pages (verify_bitmap_size)`, ioctl);
    return bm;
  }

  /** vfio_dma_do_unmap(). Returns the bytes unmapped (or invalidated, for VADDR). */
  private doUnmap(
    flags: number,
    iova: bigint,
    size: bigint,
    bitmap: VfioBitmap | undefined,
    IOCTL: string,
  ): bigint {
    const unmapAll = (flags & VFIO_DMA_UNMAP_FLAG_ALL) !== 0;
    const invalidateVaddr = (flags & VFIO_DMA_UNMAP_FLAG_VADDR) !== 0;
    if (invalidateVaddr && this.emulatedGroups.size > 0)
      fail('EBUSY', 'cannot invalidate vaddr while mdev groups are attached', IOCTL);
    const pgshift = this.pgshift;
    const pgsize = 1n << pgshift;
    if ((iova & (pgsize - 1n)) !== 0n) fail('EINVAL', `iova not aligned to ${pgsize}`, IOCTL);
    let last: bigint;
    if (unmapAll) {
      if (iova !== 0n || size !== 0n) fail('EINVAL', 'FLAG_ALL needs iova = size = 0', IOCTL);
      last = U64_MAX;
    } else {
      if (size === 0n || (size & (pgsize - 1n)) !== 0n)
        fail('EINVAL', `size zero or not aligned to ${pgsize}`, IOCTL);
      last = iova + size - 1n;
      if (last > U64_MAX) fail('EOVERFLOW', 'iova + size wraps around', IOCTL);
    }
    if (bitmap !== undefined && (!this.dirtyPageTracking || bitmap.pgsize !== pgsize))
      fail('EINVAL', 'dirty tracking is off or bitmap.pgsize is not the smallest page size', IOCTL);
    // The mappings in range, found with one tree walk plus one per extra
    // mapping (the last one reaching `last` ends the search).
    const collect = (): VfioDma[] => {
      const out: VfioDma[] = [];
      let d = this.dmaList.firstFrom(iova, last);
      while (d !== undefined && d.iova <= last) {
        if (!this.v2 && iova > d.iova) break;
        out.push(d);
        if (d.iova + d.size - 1n >= last) break;
        d = this.dmaList.next(d);
      }
      return out;
    };
    // type1v2 refuses to bisect a mapping; v1 unmaps whatever starts in the range.
    const checkBisect = (list: VfioDma[]) => {
      if (!this.v2 || unmapAll || list.length === 0) return;
      if (list[0]!.iova < iova) fail('EINVAL', 'range starts inside a mapping', IOCTL);
      const b = list[list.length - 1]!;
      if (b.iova + b.size - 1n > last) fail('EINVAL', 'range ends inside a mapping', IOCTL);
    };
    let dmas = collect();
    checkBisect(dmas);

    if (invalidateVaddr) {
      // Refused as a whole if any is already invalid (upstream reverts the ones it marked).
      if (dmas.some((d) => d.vaddrInvalid))
        fail('EINVAL', 'a mapping in range already has an invalid vaddr', IOCTL);
      let n = 0n;
      for (const d of dmas) {
        d.vaddrInvalid = true;
        this.vaddrInvalidCount++;
        n += d.size;
      }
      return n;
    }

    if (bitmap !== undefined && bitmap.data.length < Number(bitmap.size))
      fail('EFAULT', 'bitmap.data is shorter than bitmap.size', IOCTL);

    // Vendor drivers holding pins in range are told to drop them, one
    // mapping at a time in IOVA order, and the range is looked up again
    // after each notification, as vfio_dma_do_unmap() does. The kernel
    // allows ten retries on the same mapping and then BUG()s; here the
    // eleventh notification left unanswered fails the call with EBUSY
    // instead. Notifying comes before any mapping goes, so on EBUSY nothing
    // is unmapped (upstream would already have removed the mappings below
    // the stuck one when it oopses).
    let dmaLast: VfioDma | undefined;
    let retries = 0;
    for (let held = dmas.find((d) => d.pfnList.size > 0); held !== undefined; ) {
      if (held !== dmaLast) {
        dmaLast = held;
        retries = 0;
      } else if (++retries > UNMAP_NOTIFY_RETRIES)
        fail(
          'EBUSY',
          `vendor driver kept ${held.pfnList.size} pages pinned at 0x${held.iova.toString(16)}`,
          IOCTL,
        );
      this.notifyDmaUnmap(held);
      dmas = collect();
      checkBisect(dmas);
      held = dmas.find((d) => d.pfnList.size > 0);
    }

    let unmapped = 0n;
    for (const d of dmas) {
      if (bitmap !== undefined) this.updateUserBitmap(bitmap.data, d, iova, pgshift);
      unmapped += d.size;
      this.removeDma(d);
    }
    return unmapped;
  }

  private notifyDmaUnmap(dma: VfioDma): void {
    const ev: DmaUnmapEvent = { iova: dma.iova, size: dma.size };
    for (const nb of [...this.notifiers]) nb(VFIO_IOMMU_NOTIFY_DMA_UNMAP, { ...ev });
  }

  /**
   * update_user_bitmap(): report `dma`'s bits at their place relative to
   * `base`. With a group that cannot report dirty pages and the mapping
   * live in the hardware IOMMU, every page is reported dirty.
   */
  private updateUserBitmap(dst: Uint8Array, dma: VfioDma, base: bigint, pgshift: bigint): void {
    const bm = dma.bitmap!;
    const nbits = Number(dma.size >> pgshift);
    if (this.numNonPinnedGroups > 0 && dma.iommuMapped) bitmapSet(bm, 0, nbits);
    copyBitsToUser(dst, bm, nbits, Number((dma.iova - base) >> pgshift));
  }

  /** vfio_dma_populate_bitmap(): a bit for every page still pinned for a vendor driver. */
  private populateBitmap(dma: VfioDma, pgshift: bigint): void {
    const bm = dma.bitmap!;
    const first = dma.iova >> PAGE_SHIFT_N;
    const sh = Number(pgshift - PAGE_SHIFT_N);
    for (const iovaPfn of dma.pfnList.keys()) {
      const bit = Math.floor((iovaPfn - Number(first)) / 2 ** sh);
      bm[bit >>> 3]! |= 1 << (bit & 7);
    }
  }

  // --- VFIO_IOMMU_DIRTY_PAGES ----------------------------------------------------------

  /** vfio_iommu_type1_dirty_pages(): START, STOP or GET_BITMAP, exactly one. */
  dirtyPages(dirty: VfioIommuType1DirtyBitmap): number {
    const IOCTL = 'VFIO_IOMMU_DIRTY_PAGES';
    const mask =
      VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
      VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
      VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
    if (!this.v2) fail('EACCES', 'dirty page tracking needs a type1v2 container', IOCTL);
    if (!Number.isInteger(dirty.argsz) || dirty.argsz < VFIO_IOMMU_TYPE1_DIRTY_BITMAP_SIZE)
      fail('EINVAL', `argsz ${dirty.argsz} < ${VFIO_IOMMU_TYPE1_DIRTY_BITMAP_SIZE}`, IOCTL);
    if (!Number.isInteger(dirty.flags) || (dirty.flags & ~mask) !== 0)
      fail('EINVAL', `unknown flags 0x${dirty.flags.toString(16)}`, IOCTL);
    const f = dirty.flags;
    if (f === 0 || (f & (f - 1)) !== 0) fail('EINVAL', 'exactly one of START, STOP, GET_BITMAP', IOCTL);
    const pgshift = this.pgshift;

    if (f === VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
      if (!this.dirtyPageTracking) {
        this.bitmapAllocAll(pgshift);
        this.dirtyPageTracking = true;
      }
      return 0;
    }
    if (f === VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
      if (this.dirtyPageTracking) {
        this.dirtyPageTracking = false;
        for (const d of this.dmaList) d.bitmap = undefined;
      }
      return 0;
    }
    // GET_BITMAP
    if (dirty.argsz - VFIO_IOMMU_TYPE1_DIRTY_BITMAP_SIZE < VFIO_IOMMU_TYPE1_DIRTY_BITMAP_GET_SIZE)
      fail('EINVAL', 'argsz leaves no room for vfio_iommu_type1_dirty_bitmap_get', IOCTL);
    const range = dirty.data;
    if (typeof range !== 'object' || range === null) fail('EFAULT', 'no dirty_bitmap_get', IOCTL);
    const iova = u64(range.iova, 'iova', IOCTL);
    const size = u64(range.size, 'size', IOCTL);
    if (size === 0n) fail('EINVAL', 'zero size', IOCTL);
    const last = iova + size - 1n;
    if (last > U64_MAX) fail('EOVERFLOW', 'iova + size wraps around', IOCTL);
    const bm = this.checkUserBitmap(range.bitmap, size, IOCTL);
    const pgsize = 1n << pgshift;
    if (bm.pgsize !== pgsize) fail('EINVAL', `bitmap.pgsize must be the smallest page size ${pgsize}`, IOCTL);
    if ((iova & (pgsize - 1n)) !== 0n) fail('EINVAL', 'iova not aligned', IOCTL);
    if ((size & (pgsize - 1n)) !== 0n) fail('EINVAL', 'size not aligned', IOCTL);
    if (!this.dirtyPageTracking) fail('EINVAL', 'dirty page tracking is not started', IOCTL);
    // vfio_iova_dirty_bitmap(): the range must not bisect a mapping.
    const a = this.dmaList.find(iova, 1n);
    if (a !== undefined && a.iova !== iova) fail('EINVAL', 'range starts inside a mapping', IOCTL);
    const b = this.dmaList.find(last, 1n);
    if (b !== undefined && b.iova + b.size - 1n !== last)
      fail('EINVAL', 'range ends inside a mapping', IOCTL);
    if (bm.data.length < Number(bm.size)) fail('EFAULT', 'bitmap.data is shorter than bitmap.size', IOCTL);
    for (const d of this.dmaList.range(iova, last)) {
      this.updateUserBitmap(bm.data, d, iova, pgshift);
      // Re-arm: only pages still pinned stay dirty; dma_rw writes and unpinned pages were reported.
      d.bitmap!.fill(0);
      this.populateBitmap(d, pgshift);
    }
    return 0;
  }

  /**
   * vfio_dma_bitmap_alloc_all(): a bitmap for every mapping, populated from
   * the pinned pages. If one allocation fails, the bitmaps allocated before
   * it (and only those) are freed, and tracking stays off.
   */
  private bitmapAllocAll(pgshift: bigint): void {
    const done: VfioDma[] = [];
    try {
      for (const d of this.dmaList) {
        d.bitmap = this.newBitmap(d);
        done.push(d);
      }
    } catch (e) {
      for (const d of done) d.bitmap = undefined;
      throw e;
    }
    for (const d of done) this.populateBitmap(d, pgshift);
  }

  /**
   * Test and benchmark hook, not a kernel interface: mark [iova, iova+size)
   * dirty in the tracking bitmaps, as a device write that type1 saw would.
   */
  testOnlyMarkDirty(iova: bigint, size: bigint): void {
    const pgshift = this.pgshift;
    for (const d of this.dmaList.range(iova, iova + size - 1n)) {
      if (d.bitmap === undefined) continue;
      let s = d.iova;
      let e = d.end;
      if (iova > s) s = iova;
      if (iova + size < e) e = iova + size;
      bitmapSet(d.bitmap, Number((s - d.iova) >> pgshift), Number((e - s) >> pgshift));
    }
  }

  // --- the external (vendor driver) API -----------------------------------------------------

  /** Register a notifier for DMA unmap events (vfio_register_notifier). */
  registerNotifier(events: number, nb: IommuNotifier): void {
    if (!Number.isInteger(events) || events === 0) fail('EINVAL', 'no events', 'vfio_register_notifier');
    if ((events & ~VFIO_IOMMU_NOTIFY_DMA_UNMAP) !== 0)
      fail('EINVAL', 'unknown events', 'vfio_register_notifier');
    this.notifiers.push(nb);
  }

  /** Unregister a notifier; ENOENT if it is not registered. */
  unregisterNotifier(nb: IommuNotifier): void {
    const i = this.notifiers.indexOf(nb);
    if (i < 0) fail('ENOENT', 'notifier not registered', 'vfio_unregister_notifier');
    this.notifiers.splice(i, 1);
  }

  private checkPfnList(pfns: readonly number[], op: string): void {
    if (!Array.isArray(pfns) || pfns.length === 0) fail('EINVAL', 'no pages', op);
    if (pfns.length > VFIO_PIN_PAGES_MAX_ENTRIES)
      fail('E2BIG', `more than ${VFIO_PIN_PAGES_MAX_ENTRIES} pages`, op);
    if (!this.v2) fail('EACCES', 'pinning needs a type1v2 container', op);
    for (const p of pfns) {
      if (!Number.isSafeInteger(p) || p < 0) fail('EINVAL', `bad iova pfn ${p}`, op);
      if (p >= 2 ** 52) fail('EOVERFLOW', `iova pfn ${p} overflows a u64 address`, op);
    }
  }

  /**
   * vfio_pin_pages() -> vfio_iommu_type1_pin_pages(): pin the pages behind
   * IOVA pfns for a vendor driver, ref-counted per IOVA. EINVAL with no
   * unmap notifier or outside any mapping, EPERM when the mapping's prot
   * lacks `prot`, E2BIG past VFIO_PIN_PAGES_MAX_ENTRIES, EACCES on a v1
   * container, EBUSY while a vaddr is invalid, ENOMEM past RLIMIT_MEMLOCK
   * (charged only when no hardware domain already pinned the pages).
   * All or nothing, including the dirty bits it sets.
   */
  pinPages(group: IommuGroupRef, userIovaPfns: readonly number[], prot: number): number[] {
    const OP = 'vfio_pin_pages';
    this.checkPfnList(userIovaPfns, OP);
    if (this.vaddrInvalidCount > 0) fail('EBUSY', 'a mapping has an invalid vaddr', OP);
    if (this.notifiers.length === 0) fail('EINVAL', 'no DMA unmap notifier registered', OP);
    const gs = this.hwGroups.get(group) ?? this.emulatedGroups.get(group);
    if (gs === undefined) fail('EINVAL', `group ${group.id} is not attached`, OP);
    const doAccounting = this.domain === undefined;
    const pgshift = this.pgshift;
    const out: number[] = [];
    const touched: [VfioDma, number][] = [];
    const newBits: [Uint8Array, number][] = [];
    let dma: VfioDma | undefined;
    try {
      for (const pfn of userIovaPfns) {
        const iova = BigInt(pfn) << PAGE_SHIFT_N;
        // Consecutive pfns usually fall in the same mapping: try the last one first.
        if (dma === undefined || iova < dma.iova || iova >= dma.iova + dma.size)
          dma = this.dmaList.find(iova, PAGE);
        if (dma === undefined) fail('EINVAL', `iova 0x${iova.toString(16)} is not mapped`, OP);
        if ((dma.prot & prot) !== prot) fail('EPERM', `mapping prot ${dma.prot} lacks ${prot}`, OP);
        const have = dma.pfnList.get(pfn);
        if (have !== undefined) {
          have.refCount++;
          touched.push([dma, pfn]);
          out.push(have.pfn);
          continue;
        }
        const mm = dma.mm;
        const [hostPfn] = mm.pinUserPages(this.hvaOf(dma, iova), 1, (dma.prot & IOMMU_WRITE) !== 0);
        if (doAccounting) {
          try {
            mm.accountLockedVm(1, true, dma.lockCap);
          } catch (e) {
            mm.unpinUserPages([hostPfn!]);
            throw e;
          }
        }
        dma.pfnList.set(pfn, { pfn: hostPfn!, refCount: 1 });
        touched.push([dma, pfn]);
        out.push(hostPfn!);
        if (this.dirtyPageTracking && dma.bitmap !== undefined) {
          const bit = Number((iova - dma.iova) >> pgshift);
          if (!bitmapTest(dma.bitmap, bit)) {
            bitmapSet(dma.bitmap, bit, 1);
            newBits.push([dma.bitmap, bit]);
          }
        }
      }
    } catch (e) {
      for (const [td, tp] of touched.reverse()) this.unpinExternal(td, tp, doAccounting);
      for (const [bm, bit] of newBits) bm[bit >>> 3]! &= ~(1 << (bit & 7));
      throw e;
    }
    if (!gs.pinnedScope) {
      gs.pinnedScope = true;
      this.numNonPinnedGroups--;
    }
    return out;
  }

  /** vfio_unpin_page_external(): drop one reference; the last one unpins and uncharges. */
  private unpinExternal(dma: VfioDma, iovaPfn: number, doAccounting: boolean): number {
    const v = dma.pfnList.get(iovaPfn);
    if (v === undefined) return 0;
    if (--v.refCount > 0) return 0;
    dma.pfnList.delete(iovaPfn);
    dma.mm.unpinUserPages([v.pfn]);
    if (doAccounting) dma.mm.accountLockedVm(1, false, true);
    return 1;
  }

  /**
   * vfio_unpin_pages(): drop one reference per IOVA pfn. Every pfn must lie
   * in a mapping (EINVAL, and nothing is unpinned, otherwise); a pfn that
   * is mapped but not pinned is skipped, as upstream. Returns the count.
   */
  unpinPages(userIovaPfns: readonly number[]): number {
    const OP = 'vfio_unpin_pages';
    this.checkPfnList(userIovaPfns, OP);
    const dmas: VfioDma[] = [];
    let d: VfioDma | undefined;
    for (const pfn of userIovaPfns) {
      const iova = BigInt(pfn) << PAGE_SHIFT_N;
      if (d === undefined || iova < d.iova || iova >= d.iova + d.size) d = this.dmaList.find(iova, PAGE);
      if (d === undefined) fail('EINVAL', `iova pfn 0x${pfn.toString(16)} is not mapped`, OP);
      dmas.push(d);
    }
    const doAccounting = this.domain === undefined;
    for (const [i, pfn] of userIovaPfns.entries()) this.unpinExternal(dmas[i]!, pfn, doAccounting);
    return userIovaPfns.length;
  }

  /**
   * vfio_dma_rw(): copy between `data` and the user memory behind `iova`,
   * across mappings. EINVAL for an unmapped IOVA or empty buffer, EPERM if
   * a mapping is not readable (or not writable, for a write), EFAULT if the
   * user memory is gone, EBUSY while a vaddr is invalid. Checked before any
   * byte moves; a write marks the pages dirty.
   */
  dmaRw(iova: bigint, data: Uint8Array, write: boolean): void {
    const OP = 'vfio_dma_rw';
    u64(iova, 'iova', OP);
    if (!(data instanceof Uint8Array) || data.length === 0) fail('EINVAL', 'empty buffer', OP);
    if (this.vaddrInvalidCount > 0) fail('EBUSY', 'a mapping has an invalid vaddr', OP);
    const chunks: { dma: VfioDma; offset: bigint; count: number; at: number }[] = [];
    let cur = iova;
    let at = 0;
    while (at < data.length) {
      const dma = this.dmaList.find(cur, 1n);
      if (dma === undefined) fail('EINVAL', `iova 0x${cur.toString(16)} is not mapped`, OP);
      if ((write && (dma.prot & IOMMU_WRITE) === 0) || (dma.prot & IOMMU_READ) === 0)
        fail('EPERM', 'mapping does not allow the access', OP);
      const offset = cur - dma.iova;
      const room = dma.size - offset;
      const count = BigInt(data.length - at) < room ? data.length - at : Number(room);
      chunks.push({ dma, offset, count, at });
      at += count;
      cur += BigInt(count);
    }
    // Fault every page in first, so an EFAULT moves no byte.
    for (const c of chunks) {
      const hva = this.hvaOf(c.dma, c.dma.iova + c.offset);
      const first = Math.floor(hva / PAGE_SIZE);
      const lastPage = Math.floor((hva + c.count - 1) / PAGE_SIZE);
      for (let p = first; p <= lastPage; p++) c.dma.mm.hvaToPfn(p === first ? hva : p * PAGE_SIZE, write);
    }
    const pgshift = this.pgshift;
    for (const c of chunks) {
      const hva = this.hvaOf(c.dma, c.dma.iova + c.offset);
      const part = data.subarray(c.at, c.at + c.count);
      if (write) {
        c.dma.mm.copyToUser(hva, part);
        if (this.dirtyPageTracking && c.dma.bitmap !== undefined) {
          const s = Number(c.offset >> pgshift);
          const e = Number((c.offset + BigInt(c.count) - 1n) >> pgshift);
          bitmapSet(c.dma.bitmap, s, e - s + 1);
        }
      } else c.dma.mm.copyFromUser(hva, part);
    }
  }

  // --- save / restore ---------------------------------------------------------------------

  /**
   * The container's state as a versioned blob: its mappings (IOVA, size,
   * vaddr, prot, vaddr validity) and, while tracking, their dirty bitmaps.
   * Pins belong to vendor drivers and hardware-domain pins are re-taken on
   * restore, so neither is saved; groups are re-attached by vfio-core.
   */
  save(): Uint8Array {
    return encodeType1State({
      v2: this.v2,
      tracking: this.dirtyPageTracking,
      dmas: [...this.dmaList].map((d) => ({
        iova: d.iova,
        size: d.size,
        vaddr: d.vaddr,
        prot: d.prot,
        vaddrInvalid: d.vaddrInvalid,
        bitmap: d.bitmap,
      })),
    });
  }

  /**
   * Rebuild a saved state into this (empty) container: every mapping is made
   * again through MAP_DMA's checks (and pinned if a hardware domain is
   * attached), tracking restarted and the saved dirty bits merged in. EINVAL
   * for a bad blob or a v1/v2 mismatch, EBUSY if mappings exist; any failure
   * leaves the container empty, as it was.
   */
  restore(blob: Uint8Array): void {
    const OP = 'type1 restore';
    const st = decodeType1State(blob);
    if (st.v2 !== this.v2) fail('EINVAL', 'saved from a type1 container of the other version', OP);
    if (this.dmaList.size > 0 || this.dirtyPageTracking) fail('EBUSY', 'container already has state', OP);
    for (const d of st.dmas) {
      if ((d.prot & ~(IOMMU_READ | IOMMU_WRITE)) !== 0 || d.prot === 0) fail('EINVAL', 'bad saved prot', OP);
      if (d.vaddrInvalid && (this.domain !== undefined || this.emulatedGroups.size > 0))
        fail('EINVAL', 'an invalid vaddr can only be restored into a container without groups that pin', OP);
    }
    try {
      for (const d of st.dmas) {
        const flags =
          ((d.prot & IOMMU_READ) !== 0 ? VFIO_DMA_MAP_FLAG_READ : 0) |
          ((d.prot & IOMMU_WRITE) !== 0 ? VFIO_DMA_MAP_FLAG_WRITE : 0);
        this.mapDma({
          argsz: VFIO_IOMMU_TYPE1_DMA_MAP_SIZE,
          flags,
          vaddr: d.vaddr,
          iova: d.iova,
          size: d.size,
        });
      }
      if (st.tracking) {
        this.bitmapAllocAll(this.pgshift);
        this.dirtyPageTracking = true;
        for (const d of st.dmas) {
          const dma = this.dmaList.find(d.iova, 1n)!;
          if (d.bitmap === undefined) continue;
          if (d.bitmap.length !== dma.bitmap!.length) fail('EINVAL', 'saved bitmap has the wrong size', OP);
          for (let i = 0; i < d.bitmap.length; i++) dma.bitmap![i]! |= d.bitmap[i]!;
        }
      }
    } catch (e) {
      this.dirtyPageTracking = false;
      this.unmapUnpinAll();
      throw e;
    }
    for (const d of st.dmas) {
      if (!d.vaddrInvalid) continue;
      this.dmaList.find(d.iova, 1n)!.vaddrInvalid = true;
      this.vaddrInvalidCount++;
    }
  }

  // --- groups -----------------------------------------------------------------------------------

  /**
   * vfio_iommu_type1_attach_group(). An mdev group joins the emulated list
   * with pinned-page dirty scope. A hardware group shares the container's
   * domain; the first one creates it, which requires every existing
   * mapping to fit the aperture and avoid reserved regions (EINVAL), and
   * pins and maps every mapping (vfio_iommu_replay(); ENOMEM past the
   * memlock limit unwinds everything). EINVAL if already attached, EBUSY
   * while a vaddr is invalid.
   */
  attachGroup(group: IommuGroupRef): void {
    const OP = 'VFIO_GROUP_SET_CONTAINER';
    if (this.released) fail('EINVAL', 'container backend released', OP);
    // Attaching may pin, so it waits for vaddrs to be valid (checked before duplicates, as upstream).
    if (this.vaddrInvalidCount > 0) fail('EBUSY', 'a mapping has an invalid vaddr', OP);
    if (this.hwGroups.has(group) || this.emulatedGroups.has(group))
      fail('EINVAL', `group ${group.id} already attached`, OP);
    if (group.mdev) {
      this.emulatedGroups.set(group, { pinnedScope: true });
      return;
    }
    if (this.domain === undefined) {
      const dom = new IommuDomain(this.opts.hwIommu);
      const ranges = dom.iovaRanges();
      for (const d of this.dmaList) {
        const last = d.iova + d.size - 1n;
        if (d.iova < dom.apertureStart || last > dom.apertureEnd)
          fail('EINVAL', `mapping at 0x${d.iova.toString(16)} is outside the IOMMU aperture`, OP);
        if (!ranges.some((r) => d.iova >= r.start && last <= r.end))
          fail('EINVAL', `mapping at 0x${d.iova.toString(16)} overlaps a reserved region`, OP);
      }
      this.replay(dom);
    }
    this.hwGroups.set(group, { pinnedScope: false });
    this.numNonPinnedGroups++;
  }

  /** vfio_iommu_replay(): pin and map every mapping into a new domain; all or nothing. */
  private replay(dom: IommuDomain): void {
    const done: VfioDma[] = [];
    this.domain = dom;
    try {
      for (const d of this.dmaList) {
        this.pinMapDma(d);
        done.push(d);
      }
    } catch (e) {
      for (const d of done) this.unmapUnpin(d);
      this.domain = undefined;
      throw e;
    }
  }

  /**
   * vfio_iommu_type1_detach_group(). When the last hardware group goes, the
   * domain goes: mappings are unpinned and, if mdev groups remain, pages
   * they pinned are charged again (vfio_iommu_unmap_unpin_reaccount());
   * when no group at all remains, every mapping is removed. A group that
   * left without pinned-page dirty scope while tracking makes every page of
   * every mapping dirty (vfio_iommu_populate_bitmap_full()): what it wrote
   * by DMA cannot be known, and once it is gone the query no longer
   * reports its mappings whole.
   */
  detachGroup(group: IommuGroupRef): void {
    const em = this.emulatedGroups.get(group);
    const hw = this.hwGroups.get(group);
    if (em === undefined && hw === undefined) return;
    const updateDirtyScope = !(em ?? hw)!.pinnedScope;
    if (em !== undefined) {
      this.emulatedGroups.delete(group);
    } else {
      this.hwGroups.delete(group);
      if (this.hwGroups.size === 0) {
        if (this.emulatedGroups.size > 0) {
          // vfio_iommu_unmap_unpin_reaccount(): vendor pins keep their charge.
          for (const d of this.dmaList) this.unmapUnpin(d);
          this.domain = undefined;
        } else {
          this.unmapUnpinAll();
          this.domain = undefined;
        }
      }
    }
    if (this.emulatedGroups.size === 0 && this.hwGroups.size === 0) this.unmapUnpinAll();
    if (updateDirtyScope) {
      this.numNonPinnedGroups--;
      if (this.dirtyPageTracking) this.populateBitmapFull();
    }
  }

  /** vfio_iommu_populate_bitmap_full(): every page of every mapping dirty. */
  private populateBitmapFull(): void {
    const pgshift = this.pgshift;
    for (const d of this.dmaList) bitmapSet(d.bitmap!, 0, Number(d.size >> pgshift));
  }

  private unmapUnpinAll(): void {
    for (const d of [...this.dmaList]) this.removeDma(d);
  }

  /** vfio_iommu_type1_release(): every mapping, pin and charge is dropped. */
  release(): void {
    this.unmapUnpinAll();
    this.domain = undefined;
    this.hwGroups.clear();
    this.emulatedGroups.clear();
    this.notifiers.length = 0;
    this.numNonPinnedGroups = 0;
    this.released = true;
  }
}

/**
 * vfio_iommu_type1_check_extension(): type1 and type1v2, UNMAP_ALL; UPDATE_VADDR
 * only for a container without mdev groups; DMA_CC when every hardware domain
 * enforces coherency. Nesting is gone upstream (6.13), so it answers 0.
 */
export function checkExtension(iommu: VfioIommuType1 | undefined, ext: number): number {
  switch (ext) {
    case VFIO_TYPE1_IOMMU:
    case VFIO_TYPE1v2_IOMMU:
    case VFIO_UNMAP_ALL:
      return 1;
    case VFIO_UPDATE_VADDR:
      return iommu !== undefined && !iommu.groups.some((g) => g.mdev) ? 1 : 0;
    case VFIO_DMA_CC_IOMMU:
      return iommu?.domain?.enforceCacheCoherency ? 1 : 0;
    default:
      return 0;
  }
}
