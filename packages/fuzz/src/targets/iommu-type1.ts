import { HostPhysMemory, MAP_ANONYMOUS, MAP_PRIVATE, MmStruct, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import {
  IOMMU_READ,
  IOMMU_WRITE,
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
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_TYPE1v2_IOMMU,
  type VfioIommuType1,
  VfioIommuType1Driver,
} from '@tsvirt/iommu-type1';
import type { DmaUnmapEvent, IommuGroupRef } from '@tsvirt/vfio-core';
import type { FuzzOp, FuzzTarget, FuzzTargetFactory } from '../harness.ts';
import { fuzzU32, fuzzU64, type Rng } from '../rng.ts';

const PAGE = 4096;
/** The IOVA space the calls mostly aim at: 64 MiB, so mappings collide often. */
const IOVA_SPAN = 64 << 20;
/** Host memory behind the mappings: two areas, so a VADDR update can move a mapping. */
const AREA = 16 << 20;

/** FNV-1a over a byte range. */
function fnvRange(h: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h;
}

/**
 * A fingerprint of a dirty bitmap: exact up to 256 KiB; beyond that (a
 * mapping of over 2^21 pages) its ends and 64 spread 1 KiB samples, so a
 * snapshot per call stays cheap while rollbacks near the edges are caught.
 */
function fingerprint(bytes: Uint8Array | undefined): string {
  if (bytes === undefined) return '-';
  const n = bytes.length;
  let h = 0x811c9dc5;
  if (n <= 256 << 10) h = fnvRange(h, bytes, 0, n);
  else {
    h = fnvRange(h, bytes, 0, 64 << 10);
    h = fnvRange(h, bytes, n - (64 << 10), n);
    for (let k = 0; k < 64; k++) {
      const at = Math.floor((n / 64) * k);
      h = fnvRange(h, bytes, at, Math.min(n, at + 1024));
    }
  }
  return `${n}:${(h >>> 0).toString(16)}`;
}

/**
 * A type1v2 container with an emulated (mdev) group and a hardware-IOMMU
 * group, and a vendor driver that pins pages through the container and
 * unpins them when told (or, at random, forgets to: the EBUSY path).
 */
class IommuType1Target implements FuzzTarget {
  readonly phys = new HostPhysMemory({ totalFrames: 1 << 17 });
  readonly mm = new MmStruct(this.phys, { rlimitMemlock: 2048 * PAGE });
  readonly iommu: VfioIommuType1;
  readonly groups: IommuGroupRef[] = [
    { id: 1, mdev: true },
    { id: 2, mdev: false },
  ];
  readonly attached = new Set<IommuGroupRef>();
  readonly areas: number[];
  /** The vendor's pins: IOVA pfn -> references it holds. */
  readonly vendorPins = new Map<number, number>();
  /** Which groups the vendor pinned through (its device lives in them). */
  readonly pinnedThrough = new Set<IommuGroupRef>();
  vendorListening = false;
  vendorIgnoresUnmap = false;
  readonly ops: FuzzOp[];

  private readonly onUnmap = (_ev: number, d: DmaUnmapEvent) => {
    if (this.vendorIgnoresUnmap) return;
    const first = Number(d.iova / BigInt(PAGE));
    const last = Number((d.iova + d.size - 1n) / BigInt(PAGE));
    for (const [pfn, n] of [...this.vendorPins]) {
      if (pfn < first || pfn > last) continue;
      this.iommu.unpinPages(new Array<number>(n).fill(pfn));
      this.vendorPins.delete(pfn);
    }
  };

  constructor(rng: Rng) {
    const driver = new VfioIommuType1Driver({
      mm: this.mm,
      dmaEntryLimit: rng.pick([8, 64, 65535]),
      hwIommu: { reservedRegions: [{ start: 0x3f0_0000n, end: 0x3ff_ffffn }] },
    });
    this.iommu = driver.open(VFIO_TYPE1v2_IOMMU) as VfioIommuType1;
    const prot = PROT_READ | PROT_WRITE;
    this.areas = [
      this.mm.mmap({ length: AREA, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS }),
      this.mm.mmap({ length: AREA, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS }),
    ];
    const page = (r: Rng, span: number) => BigInt(r.below(span / PAGE) * PAGE);
    const len = (r: Rng) => BigInt(r.pick([1, 1, 2, 3, 16, 512, 513]) * PAGE);
    const iova = (r: Rng) => fuzzU64(r, () => page(r, IOVA_SPAN));
    const size = (r: Rng) => fuzzU64(r, () => len(r));
    const bitmapArg = (r: Rng, sizeArg: unknown) => {
      const pages = typeof sizeArg === 'bigint' && sizeArg < 1n << 40n ? Number(sizeArg / BigInt(PAGE)) : 64;
      const bytes = r.chance(0.9) ? Math.ceil(pages / 64) * 8 : r.below(64);
      return {
        pgsize: r.chance(0.9) ? BigInt(PAGE) : fuzzU64(r, () => 1n << 21n),
        size: BigInt(bytes),
        data: new Uint8Array(bytes),
      };
    };
    const iommu = this.iommu;
    this.ops = [
      {
        name: 'MAP_DMA',
        weight: 6,
        run: (r) => {
          const vaddrFlag = r.chance(0.05) ? VFIO_DMA_MAP_FLAG_VADDR : 0;
          iommu.ioctl(VFIO_IOMMU_MAP_DMA, {
            argsz: r.chance(0.95) ? 32 : fuzzU32(r, () => 31),
            flags:
              (r.chance(0.9) ? VFIO_DMA_MAP_FLAG_READ : 0) |
              (r.chance(0.7) ? VFIO_DMA_MAP_FLAG_WRITE : 0) |
              vaddrFlag |
              (r.chance(0.02) ? 1 << r.below(31) : 0),
            vaddr: fuzzU64(r, () => BigInt(r.pick(this.areas)) + page(r, AREA)),
            iova: iova(r),
            size: size(r),
          });
        },
      },
      {
        name: 'UNMAP_DMA',
        weight: 4,
        run: (r) => {
          const kind = r.below(6);
          const flags =
            kind === 0
              ? VFIO_DMA_UNMAP_FLAG_ALL
              : kind === 1
                ? VFIO_DMA_UNMAP_FLAG_VADDR
                : kind === 2
                  ? VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP
                  : r.chance(0.05)
                    ? r.u32()
                    : 0;
          const s = size(r);
          const arg: Record<string, unknown> = { argsz: 24, flags, iova: iova(r), size: s };
          if (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
            arg.argsz = 48;
            arg.bitmap = bitmapArg(r, s);
          }
          if (flags & VFIO_DMA_UNMAP_FLAG_ALL && r.chance(0.8)) {
            arg.iova = 0n;
            arg.size = 0n;
          }
          iommu.ioctl(VFIO_IOMMU_UNMAP_DMA, arg);
        },
      },
      {
        name: 'DIRTY_PAGES',
        weight: 3,
        run: (r) => {
          const which = r.below(10);
          if (which < 3) {
            iommu.ioctl(VFIO_IOMMU_DIRTY_PAGES, { argsz: 8, flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_START });
          } else if (which < 4) {
            iommu.ioctl(VFIO_IOMMU_DIRTY_PAGES, { argsz: 8, flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP });
          } else if (which < 9) {
            const s = size(r);
            iommu.ioctl(VFIO_IOMMU_DIRTY_PAGES, {
              argsz: r.chance(0.95) ? 48 : r.below(48),
              flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
              data: { iova: iova(r), size: s, bitmap: bitmapArg(r, s) },
            });
          } else {
            iommu.ioctl(VFIO_IOMMU_DIRTY_PAGES, { argsz: 8, flags: r.u32() });
          }
        },
      },
      {
        name: 'GET_INFO',
        run: (r) => {
          iommu.ioctl(VFIO_IOMMU_GET_INFO, {
            argsz: fuzzU32(r, () => r.pick([16, 24, 256])),
            flags: 0,
            iova_pgsizes: 0n,
            cap_offset: 0,
          });
        },
      },
      {
        name: 'attach/detach group',
        run: (r) => {
          const g = r.pick(this.groups);
          if (this.attached.has(g) && r.chance(0.7)) {
            // A group detaches only after its devices are closed, and a closing vendor device unpins.
            if (this.pinnedThrough.has(g)) this.unpinAll();
            iommu.detachGroup(g);
            this.attached.delete(g);
          } else {
            iommu.attachGroup(g);
            this.attached.add(g);
          }
        },
      },
      {
        name: 'vendor register/unregister notifier',
        run: (r) => {
          if (this.vendorListening && r.chance(0.3)) {
            // A driver that stops listening drops its pins first, as it must.
            this.unpinAll();
            iommu.unregisterNotifier(this.onUnmap);
            this.vendorListening = false;
          } else if (!this.vendorListening) {
            iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, this.onUnmap);
            this.vendorListening = true;
          } else {
            this.vendorIgnoresUnmap = r.chance(0.2);
          }
        },
      },
      {
        name: 'vfio_pin_pages',
        weight: 4,
        run: (r) => {
          const base = r.below(IOVA_SPAN / PAGE);
          const n = r.chance(0.95) ? r.int(1, 8) : r.pick([0, 512, 513]);
          const pfns = Array.from({ length: n }, (_, i) => (r.chance(0.9) ? base + i : r.below(1 << 20)));
          const prot = r.pick([IOMMU_READ, IOMMU_WRITE, IOMMU_READ | IOMMU_WRITE]);
          const group = r.chance(0.95) ? r.pick(this.groups) : { id: 9, mdev: true };
          iommu.pinPages(group, pfns, prot);
          this.pinnedThrough.add(group);
          for (const p of pfns) this.vendorPins.set(p, (this.vendorPins.get(p) ?? 0) + 1);
        },
      },
      {
        name: 'vfio_unpin_pages',
        weight: 2,
        run: (r) => {
          const held = [...this.vendorPins.keys()];
          if (held.length > 0 && r.chance(0.9)) {
            const pfn = r.pick(held);
            iommu.unpinPages([pfn]);
            const n = this.vendorPins.get(pfn)! - 1;
            if (n === 0) this.vendorPins.delete(pfn);
            else this.vendorPins.set(pfn, n);
          } else {
            // Unpinning what the vendor does not hold is a driver bug; only the refusals are exercised.
            const pfn = r.below(IOVA_SPAN / PAGE);
            if (iommu.dmaList.find(BigInt(pfn * PAGE), BigInt(PAGE)) === undefined) iommu.unpinPages([pfn]);
          }
        },
      },
      {
        name: 'vfio_dma_rw',
        weight: 3,
        run: (r) => {
          const n = r.chance(0.95) ? r.int(1, 3 * PAGE) : r.pick([0, 1 << 20]);
          iommu.dmaRw(iova(r) as bigint, new Uint8Array(n).fill(r.below(256)), r.chance(0.5));
        },
      },
    ];
  }

  private unpinAll(): void {
    for (const [pfn, n] of this.vendorPins) this.iommu.unpinPages(new Array<number>(n).fill(pfn));
    this.vendorPins.clear();
    this.pinnedThrough.clear();
  }

  snapshot(): string {
    const it = this.iommu;
    const lines = [
      `avail ${it.dmaAvail} tracking ${it.dirtyPageTracking} vaddrInvalid ${it.vaddrInvalidCount} nonPinned ${it.numNonPinnedGroups}`,
      `domain ${it.domain === undefined ? '-' : it.domain.mappedPages} groups ${it.groups.map((g) => g.id).join(',')}`,
      `locked ${this.mm.lockedVm} pinnedFrames ${this.phys.pinnedFrames} notifierOn ${this.vendorListening}`,
    ];
    for (const d of it.dmaList) {
      const pins = [...d.pfnList.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([k, v]) => `${k}:${v.refCount}`)
        .join(',');
      lines.push(
        `dma ${d.iova.toString(16)}+${d.size.toString(16)} va ${d.vaddr.toString(16)} prot ${d.prot} mapped ${d.iommuMapped} vaInv ${d.vaddrInvalid} locked ${d.lockedPages} bitmap ${fingerprint(d.bitmap)} pins ${pins}`,
      );
    }
    return lines.join('\n');
  }

  invariants(): string[] {
    const out: string[] = [];
    const it = this.iommu;
    let prevEnd = -1n;
    let n = 0;
    let vendorRefs = 0;
    for (const d of it.dmaList) {
      n++;
      if (d.iova < prevEnd) out.push(`mappings overlap at 0x${d.iova.toString(16)}`);
      prevEnd = d.end;
      if (d.size <= 0n || d.size % BigInt(PAGE) !== 0n) out.push(`mapping size 0x${d.size.toString(16)}`);
      for (const [pfn, v] of d.pfnList) {
        if (v.refCount <= 0) out.push(`pfn ${pfn} refCount ${v.refCount}`);
        vendorRefs += v.refCount;
      }
      if (it.dirtyPageTracking !== (d.bitmap !== undefined)) out.push('bitmap presence != tracking');
    }
    const held = [...this.vendorPins.values()].reduce((s, x) => s + x, 0);
    if (held !== vendorRefs) out.push(`vendor holds ${held} pins, mappings count ${vendorRefs}`);
    if (this.mm.lockedVm < 0) out.push(`locked_vm ${this.mm.lockedVm}`);
    if (n > 0 && it.dmaAvail < 0) out.push(`dma_avail ${it.dmaAvail}`);
    return out;
  }

  teardown(rng: Rng): void {
    const steps: (() => void)[] = [
      () => {
        for (const g of rng.shuffle([...this.attached])) {
          if (this.pinnedThrough.has(g)) this.unpinAll();
          this.iommu.detachGroup(g);
          this.attached.delete(g);
        }
      },
      () => {
        if (this.vendorListening) {
          this.vendorIgnoresUnmap = false;
          this.unpinAll();
          this.iommu.unregisterNotifier(this.onUnmap);
          this.vendorListening = false;
        }
      },
    ];
    for (const step of rng.shuffle(steps)) step();
    // The container's last reference goes (vfio_iommu_type1_release): every mapping is unmapped.
    this.iommu.release();
    for (const a of this.areas) this.mm.munmap(a, AREA);
  }

  leaks(): string[] {
    const out: string[] = [];
    if (this.mm.lockedVm !== 0) out.push(`locked_vm ${this.mm.lockedVm} after release`);
    if (this.phys.pinnedFrames !== 0) out.push(`${this.phys.pinnedFrames} frames still pinned`);
    if (this.iommu.dmaList.size !== 0) out.push(`${this.iommu.dmaList.size} mappings after release`);
    if (this.phys.allocatedFrames !== 0) out.push(`${this.phys.allocatedFrames} frames still allocated`);
    return out;
  }
}

export const iommuType1Fuzz: FuzzTargetFactory = {
  name: 'iommu-type1',
  create: (rng) => new IommuType1Target(rng),
};
