import { describe, expect, it } from 'vitest';
import {
  DIRTY_BITMAP_SIZE_MAX,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP as GET,
  IOMMU_READ,
  IOMMU_WRITE,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_START as START,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP as STOP,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_TYPE1_IOMMU,
  type VfioIommuType1,
} from '../src/index.ts';
import { code, map, PG, type Setup, setup, snapshot, unmap } from './helpers.ts';

const bits = (data: Uint8Array, n: number) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (data[i >>> 3]! & (1 << (i & 7))) out.push(i);
  return out;
};

function getBitmap(iommu: VfioIommuType1, iova: bigint, size: bigint, bytes = 8) {
  const data = new Uint8Array(bytes);
  iommu.ioctl(VFIO_IOMMU_DIRTY_PAGES, {
    argsz: 48,
    flags: GET,
    data: { iova, size, bitmap: { pgsize: PG, size: BigInt(bytes), data } },
  });
  return data;
}

/**
 * A mock mediated-device vendor driver, as the kernel's samples are: it
 * pins guest pages for DMA, writes through vfio_dma_rw, and drops its pins
 * when told the range is being unmapped.
 */
class MockVendorDriver {
  pinned = new Set<number>();
  unmapEvents: [bigint, bigint][] = [];
  constructor(private readonly s: Setup) {
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, (_ev, { iova, size }) => {
      this.unmapEvents.push([iova, size]);
      const first = Number(iova >> 12n);
      const last = first + Number(size >> 12n);
      const drop = [...this.pinned].filter((p) => p >= first && p < last);
      if (drop.length > 0) this.unpin(drop);
    });
  }
  pin(pfns: number[]): number[] {
    const host = this.s.iommu.pinPages(this.s.mdev, pfns, IOMMU_READ | IOMMU_WRITE);
    for (const p of pfns) this.pinned.add(p);
    return host;
  }
  unpin(pfns: number[]): void {
    this.s.iommu.unpinPages(pfns);
    for (const p of pfns) this.pinned.delete(p);
  }
  dmaWrite(iova: bigint, bytes: number[]): void {
    this.s.iommu.dmaRw(iova, Uint8Array.from(bytes), true);
  }
}

describe('dirty page tracking with a vendor driver', () => {
  it('START / pin / dma_rw / GET_BITMAP / UNMAP with bitmap / STOP gives the exact bits', () => {
    const s = setup();
    const drv = new MockVendorDriver(s);
    // Guest RAM: two mappings, 16 pages at IOVA 0 and 8 pages at IOVA 64 KiB.
    map(s, 0n, 16n * PG, s.va);
    map(s, 16n * PG, 8n * PG, s.va + 0x100000n);
    // A page pinned before tracking starts is dirty from the start.
    drv.pin([3]);
    s.iommu.ioctl(VFIO_IOMMU_DIRTY_PAGES, { argsz: 8, flags: START });
    expect(s.iommu.dirtyPageTracking).toBe(true);
    expect(bits(getBitmap(s.iommu, 0n, 24n * PG), 24)).toEqual([3]);

    drv.pin([5, 17]);
    drv.dmaWrite(9n * PG + 4090n, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // pages 9 and 10
    drv.dmaWrite(20n * PG, [0xee]); // page 20 (second mapping)
    expect(bits(getBitmap(s.iommu, 0n, 24n * PG), 24)).toEqual([3, 5, 9, 10, 17, 20]);
    // After a query only still-pinned pages stay dirty.
    expect(bits(getBitmap(s.iommu, 0n, 24n * PG), 24)).toEqual([3, 5, 17]);
    // Unpinning does not clear the bit re-armed at the last query (the page may
    // have been written while pinned); the query after that no longer has it.
    drv.unpin([5]);
    expect(bits(getBitmap(s.iommu, 0n, 24n * PG), 24)).toEqual([3, 5, 17]);
    expect(bits(getBitmap(s.iommu, 0n, 24n * PG), 24)).toEqual([3, 17]);
    // Only the second mapping, as its own range: bit 1 is page 17.
    expect(bits(getBitmap(s.iommu, 16n * PG, 8n * PG), 8)).toEqual([1]);

    // Unmap the second mapping and collect its bitmap at once; the driver is told and unpins.
    drv.dmaWrite(22n * PG, [1]);
    const data = new Uint8Array(8);
    const arg = {
      argsz: 48,
      flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
      iova: 16n * PG,
      size: 8n * PG,
      bitmap: { pgsize: PG, size: 8n, data },
    };
    s.iommu.unmapDma(arg);
    expect(arg.size).toBe(8n * PG);
    expect(drv.unmapEvents).toEqual([[16n * PG, 8n * PG]]);
    expect(bits(data, 8)).toEqual([1, 6]);
    expect(drv.pinned).toEqual(new Set([3]));

    s.iommu.ioctl(VFIO_IOMMU_DIRTY_PAGES, { argsz: 8, flags: STOP });
    expect(s.iommu.dirtyPageTracking).toBe(false);
    expect([...s.iommu.dmaList].every((d) => d.bitmap === undefined)).toBe(true);
    expect(() => getBitmap(s.iommu, 0n, 16n * PG)).toThrow(code('EINVAL'));
  });

  it('places each mapping at its bit offset: byte-aligned, word-aligned and odd shifts', () => {
    const s = setup();
    map(s, 0n, 3n * PG, s.va); // bits 0..2
    map(s, 8n * PG, 2n * PG, s.va + 0x10000n); // bits 8..9 (byte shift)
    map(s, 67n * PG, 2n * PG, s.va + 0x20000n); // bits 67..68 (odd shift in word 1)
    map(s, 128n * PG, PG, s.va + 0x30000n); // bit 128 (word aligned)
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    for (const p of [0n, 2n, 8n, 9n, 67n, 68n, 128n]) s.iommu.dmaRw(p * PG, Uint8Array.of(1), true);
    const data = getBitmap(s.iommu, 0n, 192n * PG, 24);
    expect(bits(data, 192)).toEqual([0, 2, 8, 9, 67, 68, 128]);
  });

  it('a group without pinned-page scope (hardware, no pins) makes every mapped page dirty', () => {
    const hw = { id: 5, mdev: false };
    const s = setup({ groups: [{ id: 1, mdev: true }, hw] });
    map(s, 0n, 4n * PG);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    expect(bits(getBitmap(s.iommu, 0n, 4n * PG), 4)).toEqual([0, 1, 2, 3]);
    // Once that group pins through the vendor API it declares its scope.
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    s.iommu.pinPages(hw, [1], IOMMU_READ);
    expect(s.iommu.numNonPinnedGroups).toBe(0);
    expect(bits(getBitmap(s.iommu, 0n, 4n * PG), 4)).toEqual([1]);
  });

  it('a mapping made while tracking gets a bitmap; STOP/START restart from pinned pages', () => {
    const s = setup();
    const drv = new MockVendorDriver(s);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    s.iommu.dirtyPages({ argsz: 8, flags: START }); // already on: no change
    map(s, 0n, 4n * PG);
    drv.pin([2]);
    drv.dmaWrite(0n, [1]);
    s.iommu.dirtyPages({ argsz: 8, flags: STOP });
    s.iommu.dirtyPages({ argsz: 8, flags: STOP });
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    expect(bits(getBitmap(s.iommu, 0n, 4n * PG), 4)).toEqual([2]);
  });
});

describe('a group detached while tracking (vfio_iommu_populate_bitmap_full)', () => {
  it('a passthrough group unplugged mid-migration leaves every page of every mapping dirty', () => {
    const hw = { id: 5, mdev: false };
    const s = setup({ groups: [hw] });
    s.iommu.attachGroup(s.mdev);
    const drv = new MockVendorDriver(s);
    map(s, 0n, 4n * PG);
    map(s, 8n * PG, 2n * PG, s.va + 0x10000n);
    drv.pin([1]);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    // The first pass reports all (the device may write anywhere) and re-arms from the pins.
    expect(bits(getBitmap(s.iommu, 0n, 16n * PG), 16)).toEqual([0, 1, 2, 3, 8, 9]);
    // The device writes somewhere by DMA, then its group is detached: the domain goes,
    // the mappings stay for the mdev, and the next pass must still report every page.
    s.iommu.detachGroup(hw);
    expect(s.iommu.domain).toBeUndefined();
    expect(s.iommu.numNonPinnedGroups).toBe(0);
    expect(bits(getBitmap(s.iommu, 0n, 16n * PG), 16)).toEqual([0, 1, 2, 3, 8, 9]);
    // Only then does the scope narrow to pinned pages.
    expect(bits(getBitmap(s.iommu, 0n, 16n * PG), 16)).toEqual([1]);
  });

  it('also when another hardware group keeps the domain, and GET_DIRTY_BITMAP on unmap sees it', () => {
    const a = { id: 5, mdev: false };
    const b = { id: 6, mdev: false };
    const s = setup({ groups: [{ id: 1, mdev: true }, a, b] });
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    map(s, 0n, 4n * PG);
    s.iommu.pinPages(b, [2], IOMMU_READ); // b declares pinned-page scope
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    getBitmap(s.iommu, 0n, 4n * PG);
    s.iommu.unpinPages([2]);
    s.iommu.detachGroup(a);
    expect(s.iommu.domain).toBeDefined();
    const data = new Uint8Array(8);
    const arg = {
      argsz: 48,
      flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
      iova: 0n,
      size: 4n * PG,
      bitmap: { pgsize: PG, size: 8n, data },
    };
    s.iommu.unmapDma(arg);
    expect(bits(data, 4)).toEqual([0, 1, 2, 3]);
  });

  it('not for a group with pinned-page scope, nor while tracking is off', () => {
    const hw = { id: 5, mdev: false };
    const s = setup({ groups: [{ id: 1, mdev: true }, hw] });
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    map(s, 0n, 4n * PG);
    s.iommu.pinPages(hw, [3], IOMMU_READ);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    s.iommu.detachGroup(hw);
    expect(bits(getBitmap(s.iommu, 0n, 4n * PG), 4)).toEqual([3]);
    // Off: detaching changes nothing, and a later START starts from the pins.
    const hw2 = { id: 7, mdev: false };
    s.iommu.dirtyPages({ argsz: 8, flags: STOP });
    s.iommu.attachGroup(hw2);
    s.iommu.detachGroup(hw2);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    expect(bits(getBitmap(s.iommu, 0n, 4n * PG), 4)).toEqual([3]);
  });
});

describe('VFIO_IOMMU_DIRTY_PAGES errors', () => {
  it('each bad request is its own error and changes nothing', () => {
    const s = setup();
    map(s, 0n, 4n * PG);
    map(s, 8n * PG, 4n * PG, s.va + 0x10000n);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    s.iommu.dmaRw(PG, Uint8Array.of(1), true);
    const before = snapshot(s);
    const get =
      (iova: bigint, size: bigint, pgsize = PG, bsize = 8n, data = new Uint8Array(8), argsz = 48) =>
      () =>
        s.iommu.dirtyPages({
          argsz,
          flags: GET,
          data: { iova, size, bitmap: { pgsize, size: bsize, data } },
        });
    const cases: [() => unknown, string][] = [
      [() => s.iommu.dirtyPages({ argsz: 7, flags: START }), 'EINVAL'],
      [() => s.iommu.dirtyPages({ argsz: 8, flags: 8 }), 'EINVAL'],
      [() => s.iommu.dirtyPages({ argsz: 8, flags: 0 }), 'EINVAL'],
      [() => s.iommu.dirtyPages({ argsz: 8, flags: START | STOP }), 'EINVAL'],
      [() => s.iommu.dirtyPages({ argsz: 8, flags: GET }), 'EINVAL'], // no room for the range
      [get(0n, 4n * PG, PG, 8n, new Uint8Array(8), 47), 'EINVAL'],
      [get(0n, 0n), 'EINVAL'], // zero size
      [get(2n ** 64n - PG, 2n * PG), 'EOVERFLOW'],
      [get(0n, 4n * PG, 2n * PG), 'EINVAL'], // pgsize not the smallest
      [get(0n, 4n * PG, 0n), 'EINVAL'],
      [get(0x800n, 4n * PG), 'EINVAL'], // iova misaligned
      [get(0n, 4n * PG + 0x800n), 'EINVAL'], // size misaligned
      [get(0n, 4n * PG, PG, 0n), 'EINVAL'], // verify_bitmap_size: zero
      [get(0n, 65n * PG, PG, 8n), 'EINVAL'], // too small for 65 pages
      [get(0n, 4n * PG, PG, BigInt(DIRTY_BITMAP_SIZE_MAX) + 8n), 'EINVAL'], // over 256 MiB
      [get(PG, 2n * PG), 'EINVAL'], // bisects the first mapping at its start
      [get(0n, 10n * PG), 'EINVAL'], // ends inside the second mapping
      [get(0n, 4n * PG, PG, 16n, new Uint8Array(8)), 'EFAULT'], // buffer shorter than bitmap.size
    ];
    for (const [f, c] of cases) {
      expect(f).toThrow(code(c));
      expect(snapshot(s)).toEqual(before);
    }
    // The dirty bit was not lost by all those failures.
    expect(bits(getBitmap(s.iommu, 0n, 4n * PG), 4)).toEqual([1]);
  });

  it('EACCES on a type1 (v1) container', () => {
    const s = setup({ type: VFIO_TYPE1_IOMMU });
    expect(() => s.iommu.dirtyPages({ argsz: 8, flags: START })).toThrow(code('EACCES'));
  });

  it('UNMAP with GET_DIRTY_BITMAP: tracking off, wrong pgsize, bitmap too small', () => {
    const s = setup();
    map(s, 0n, 4n * PG);
    const un =
      (pgsize: bigint, bsize: bigint, argsz = 48) =>
      () =>
        s.iommu.unmapDma({
          argsz,
          flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
          iova: 0n,
          size: 4n * PG,
          bitmap: { pgsize, size: bsize, data: new Uint8Array(Number(bsize)) },
        });
    const before = snapshot(s);
    expect(un(PG, 8n)).toThrow(code('EINVAL')); // tracking off
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    const before2 = snapshot(s);
    expect(un(PG, 8n, 47)).toThrow(code('EINVAL'));
    expect(un(2n * PG, 8n)).toThrow(code('EINVAL'));
    expect(un(PG, 0n)).toThrow(code('EINVAL'));
    expect(snapshot(s)).toEqual(before2);
    expect(before.dmas.length).toBe(1);
  });

  it('a failed bitmap allocation at START frees exactly the bitmaps made before it', () => {
    let n = 0;
    let failAt = 3;
    const s = setup({
      allocBitmap: (bytes) => {
        if (++n === failAt) throw new RangeError('out of memory');
        return new Uint8Array(bytes);
      },
    });
    for (let i = 0n; i < 4n; i++) map(s, i * 16n * PG, PG, s.va + i * PG);
    const before = snapshot(s);
    expect(() => s.iommu.dirtyPages({ argsz: 8, flags: START })).toThrow(code('ENOMEM'));
    expect(snapshot(s)).toEqual(before);
    expect(s.iommu.dirtyPageTracking).toBe(false);
    // A later START works, and then a MAP whose bitmap cannot be allocated fails whole.
    failAt = 0;
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    expect([...s.iommu.dmaList].every((d) => d.bitmap !== undefined)).toBe(true);
    failAt = n + 1;
    const before2 = snapshot(s);
    expect(() => map(s, 0x100000n, PG)).toThrow(code('ENOMEM'));
    expect(snapshot(s)).toEqual(before2);
  });
});

describe('mappings too large to track (DIRTY_BITMAP_PAGES_MAX)', () => {
  // Sizes asked of the bitmap allocator; it hands back a token buffer so no test allocates 256 MiB.
  const recorder = () => {
    const asked: number[] = [];
    const allocBitmap = (bytes: number) => {
      asked.push(bytes);
      return new Uint8Array(64);
    };
    return { asked, allocBitmap };
  };
  const INT_MAX = 2n ** 31n - 1n;

  it('START refuses a 16 TiB mapping with EINVAL, allocating nothing and changing nothing', () => {
    const r = recorder();
    const s = setup({ allocBitmap: r.allocBitmap });
    map(s, 0n, 4n * PG);
    map(s, 2n ** 44n, 2n ** 44n); // 2^32 pages: the mdev container pins nothing at MAP_DMA
    const before = snapshot(s);
    expect(() => s.iommu.dirtyPages({ argsz: 8, flags: START })).toThrow(code('EINVAL'));
    expect(snapshot(s)).toEqual(before);
    expect(r.asked).toEqual([16]); // the 4-page mapping's, freed again
    // One page over INT_MAX is refused too; INT_MAX pages exactly can be tracked.
    unmap(s, 2n ** 44n, 2n ** 44n);
    map(s, 2n ** 44n, (INT_MAX + 1n) * PG);
    expect(() => s.iommu.dirtyPages({ argsz: 8, flags: START })).toThrow(code('EINVAL'));
    unmap(s, 2n ** 44n, (INT_MAX + 1n) * PG);
    map(s, 2n ** 44n, INT_MAX * PG);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    expect(r.asked.at(-1)).toBe(2 ** 28 + 8);
  });

  it('MAP_DMA of more than INT_MAX pages while tracking is EINVAL and leaves no mapping', () => {
    const r = recorder();
    const s = setup({ allocBitmap: r.allocBitmap });
    map(s, 0n, 4n * PG);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    const before = snapshot(s);
    expect(() => map(s, 2n ** 44n, 2n ** 44n)).toThrow(code('EINVAL'));
    expect(() => map(s, 2n ** 44n, (INT_MAX + 1n) * PG)).toThrow(code('EINVAL'));
    expect(snapshot(s)).toEqual(before);
    expect(r.asked).toEqual([16]);
  });
});

describe('testOnlyMarkDirty (a hook for tests and benchmarks)', () => {
  it('marks the pages of a range across mappings, only while tracking', () => {
    const s = setup();
    map(s, 0n, 4n * PG);
    map(s, 4n * PG, 4n * PG, s.va + 0x10000n);
    s.iommu.testOnlyMarkDirty(0n, 8n * PG);
    s.iommu.dirtyPages({ argsz: 8, flags: START });
    s.iommu.testOnlyMarkDirty(3n * PG, 2n * PG);
    expect(bits(getBitmap(s.iommu, 0n, 8n * PG), 8)).toEqual([3, 4]);
  });
});
