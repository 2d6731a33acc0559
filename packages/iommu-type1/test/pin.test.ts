import { PROT_READ } from '@tsvirt/host-mm';
import { describe, expect, it } from 'vitest';
import {
  IOMMU_READ,
  IOMMU_WRITE,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_IOMMU_NOTIFY_DMA_UNMAP,
  VFIO_TYPE1_IOMMU,
} from '../src/index.ts';
import { code, map, PG, setup, snapshot, unmap } from './helpers.ts';

const RW = IOMMU_READ | IOMMU_WRITE;

describe('vfio_pin_pages / vfio_unpin_pages', () => {
  it('pins the pages behind IOVA pfns, ref-counted per IOVA, charging locked memory', () => {
    const s = setup();
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    map(s, 0x10000n, 4n * PG, s.va + 0x5000n);
    s.mm.copyToUser(Number(s.va) + 0x6000, Uint8Array.of(0xab));
    const pfns = s.iommu.pinPages(s.mdev, [0x10, 0x11], RW);
    expect(s.phys.frame(pfns[1]!)[0]).toBe(0xab);
    expect(pfns[1]).toBe(s.mm.hvaToPfn(Number(s.va) + 0x6000, false));
    expect(s.mm.lockedVm).toBe(2);
    // A second pin of the same IOVA takes a reference, not another frame pin or charge.
    expect(s.iommu.pinPages(s.mdev, [0x11], IOMMU_READ)).toEqual([pfns[1]]);
    expect(s.phys.pinCount(pfns[1]!)).toBe(1);
    expect(s.mm.lockedVm).toBe(2);
    expect(s.iommu.unpinPages([0x11])).toBe(1);
    expect(s.phys.pinCount(pfns[1]!)).toBe(1);
    expect(s.iommu.unpinPages([0x10, 0x11])).toBe(2);
    expect(s.phys.pinnedFrames).toBe(0);
    expect(s.mm.lockedVm).toBe(0);
  });

  it('errors of upstream, each leaving no pin, charge or dirty bit behind', () => {
    const s = setup({ mm: { rlimitMemlock: 2 * 4096 } });
    map(s, 0x10000n, 2n * PG);
    map(s, 0x20000n, PG, s.va + 0x10000n, VFIO_DMA_MAP_FLAG_READ);
    // No unmap notifier registered yet.
    expect(() => s.iommu.pinPages(s.mdev, [0x10], RW)).toThrow(code('EINVAL'));
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    s.iommu.dirtyPages({ argsz: 8, flags: 1 });
    s.iommu.pinPages(s.mdev, [0x10], RW);
    const before = snapshot(s);
    expect(() => s.iommu.pinPages(s.mdev, [], RW)).toThrow(code('EINVAL'));
    expect(() => s.iommu.pinPages(s.mdev, new Array(513).fill(0x10), RW)).toThrow(code('E2BIG'));
    expect(() => s.iommu.pinPages(s.mdev, [0x11, 0x30], RW)).toThrow(code('EINVAL')); // outside any mapping
    expect(() => s.iommu.pinPages(s.mdev, [0x10, 0x20], IOMMU_WRITE)).toThrow(code('EPERM')); // prot
    expect(() => s.iommu.pinPages({ id: 99, mdev: true }, [0x10], RW)).toThrow(code('EINVAL'));
    expect(() => s.iommu.pinPages(s.mdev, [2 ** 52], RW)).toThrow(code('EOVERFLOW'));
    // RLIMIT_MEMLOCK: two pages allowed, the third page of this call fails, the first two unwind.
    map(s, 0x30000n, 3n * PG, s.va + 0x20000n);
    const before2 = snapshot(s);
    expect(() => s.iommu.pinPages(s.mdev, [0x30, 0x31], RW)).toThrow(code('ENOMEM'));
    expect(snapshot(s)).toEqual(before2);
    expect(before2.dmas[0]).toEqual(before.dmas[0]);
    // Unpin outside any mapping: EINVAL, nothing unpinned.
    expect(() => s.iommu.unpinPages([0x10, 0x50])).toThrow(code('EINVAL'));
    expect(snapshot(s)).toEqual(before2);
  });

  it('a user page that is gone fails the pin with EFAULT', () => {
    const s = setup();
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    map(s, 0x10000n, 2n * PG);
    s.mm.munmap(Number(s.va) + 4096, 4096);
    expect(() => s.iommu.pinPages(s.mdev, [0x10, 0x11], RW)).toThrow(code('EFAULT'));
    expect(s.phys.pinnedFrames).toBe(0);
    expect(s.mm.lockedVm).toBe(0);
  });

  it('type1 (v1) containers refuse pinning with EACCES', () => {
    const s = setup({ type: VFIO_TYPE1_IOMMU });
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    map(s, 0x10000n, PG);
    expect(() => s.iommu.pinPages(s.mdev, [0x10], RW)).toThrow(code('EACCES'));
  });

  it('notifier registration: no events or unknown events EINVAL, unknown nb ENOENT', () => {
    const s = setup();
    expect(() => s.iommu.registerNotifier(0, () => {})).toThrow(code('EINVAL'));
    expect(() => s.iommu.registerNotifier(3, () => {})).toThrow(code('EINVAL'));
    expect(() => s.iommu.unregisterNotifier(() => {})).toThrow(code('ENOENT'));
  });
});

describe('unmap with vendor-driver pins', () => {
  it('tells the driver, which unpins; then the mapping goes', () => {
    const s = setup();
    const seen: [number, bigint, bigint][] = [];
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, (ev, d) => {
      seen.push([ev, d.iova, d.size]);
      s.iommu.unpinPages([0x11]);
    });
    map(s, 0x10000n, 2n * PG);
    s.iommu.pinPages(s.mdev, [0x11], RW);
    expect(unmap(s, 0x10000n, 2n * PG)).toBe(2n * PG);
    expect(seen).toEqual([[VFIO_IOMMU_NOTIFY_DMA_UNMAP, 0x10000n, 0x2000n]]);
    expect(s.phys.pinnedFrames).toBe(0);
    expect(s.mm.lockedVm).toBe(0);
  });

  it('a driver that keeps its pins is told 11 times (the kernel then BUG()s), then EBUSY, nothing unmapped', () => {
    const s = setup();
    const seen: bigint[] = [];
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, (_ev, d) => {
      seen.push(d.iova);
    });
    map(s, 0x10000n, 2n * PG);
    map(s, 0x20000n, PG);
    s.iommu.pinPages(s.mdev, [0x20], RW);
    const before = snapshot(s);
    expect(() => unmap(s, 0x10000n, 0x20000n)).toThrow(code('EBUSY'));
    expect(seen).toEqual(Array(11).fill(0x20000n));
    expect(snapshot(s)).toEqual(before);
  });

  it('a driver that unpins only when told again is retried, as vfio_dma_do_unmap() does', () => {
    const s = setup();
    const seen: bigint[] = [];
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, (_ev, d) => {
      seen.push(d.iova);
      // Drops its pins a mapping at a time, on the second notice of each.
      if (seen.filter((i) => i === d.iova).length === 2) s.iommu.unpinPages([Number(d.iova >> 12n)]);
    });
    map(s, 0x10000n, PG);
    map(s, 0x20000n, PG, s.va + 0x1000n);
    s.iommu.pinPages(s.mdev, [0x10, 0x20], RW);
    expect(unmap(s, 0x10000n, 0x20000n)).toBe(2n * PG);
    expect(seen).toEqual([0x10000n, 0x10000n, 0x20000n, 0x20000n]);
    expect(s.phys.pinnedFrames).toBe(0);
    expect(s.mm.lockedVm).toBe(0);
  });
});

describe('vfio_dma_rw', () => {
  it('reads and writes through the user mapping, across two mappings', () => {
    const s = setup();
    map(s, 0x10000n, PG, s.va);
    map(s, 0x11000n, PG, s.va + 0x8000n);
    const data = Uint8Array.from({ length: 8 }, (_, i) => i + 1);
    s.iommu.dmaRw(0x10ffcn, data, true);
    const a = new Uint8Array(4);
    const b = new Uint8Array(4);
    s.mm.copyFromUser(Number(s.va) + 0xffc, a);
    s.mm.copyFromUser(Number(s.va) + 0x8000, b);
    expect([...a, ...b]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const back = new Uint8Array(8);
    s.iommu.dmaRw(0x10ffcn, back, false);
    expect([...back]).toEqual([...data]);
  });

  it('errors: EINVAL unmapped or empty, EPERM by prot, EFAULT when user memory is gone; nothing written', () => {
    const s = setup();
    map(s, 0x10000n, PG, s.va, VFIO_DMA_MAP_FLAG_READ);
    map(s, 0x11000n, PG, s.va + 0x1000n, VFIO_DMA_MAP_FLAG_WRITE);
    map(s, 0x12000n, 2n * PG, s.va + 0x2000n);
    expect(() => s.iommu.dmaRw(0x40000n, new Uint8Array(1), false)).toThrow(code('EINVAL'));
    expect(() => s.iommu.dmaRw(0x12000n, new Uint8Array(0), false)).toThrow(code('EINVAL'));
    expect(() => s.iommu.dmaRw(0x10000n, new Uint8Array(1), true)).toThrow(code('EPERM'));
    // Readable is needed even to write (upstream checks IOMMU_READ for both).
    expect(() => s.iommu.dmaRw(0x11000n, new Uint8Array(1), true)).toThrow(code('EPERM'));
    // Crossing from a good mapping into a hole: EINVAL, first part not written.
    expect(() => s.iommu.dmaRw(0x13ffen, Uint8Array.of(9, 9, 9, 9), true)).toThrow(code('EINVAL'));
    const probe = new Uint8Array(2);
    s.mm.copyFromUser(Number(s.va) + 0x3ffe, probe);
    expect([...probe]).toEqual([0, 0]);
    // The user memory behind the second page is made read-only: EFAULT, the first page untouched.
    s.mm.mprotect(Number(s.va) + 0x3000, 4096, PROT_READ);
    expect(() => s.iommu.dmaRw(0x12ffen, Uint8Array.of(7, 7, 7, 7), true)).toThrow(code('EFAULT'));
    s.mm.copyFromUser(Number(s.va) + 0x2ffe, probe);
    expect([...probe]).toEqual([0, 0]);
  });
});
