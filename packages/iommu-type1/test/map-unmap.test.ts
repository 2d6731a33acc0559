import { describe, expect, it } from 'vitest';
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_VADDR,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
  VFIO_DMA_UNMAP_FLAG_VADDR,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_TYPE1_IOMMU,
} from '../src/index.ts';
import { code, map, PG, RW, setup, snapshot, unmap } from './helpers.ts';

describe('VFIO_IOMMU_MAP_DMA', () => {
  it('maps through the ioctl dispatcher and keeps mappings sorted', () => {
    const s = setup();
    expect(
      s.iommu.ioctl(VFIO_IOMMU_MAP_DMA, { argsz: 32, flags: RW, vaddr: s.va, iova: 0x20000n, size: PG }),
    ).toBe(0);
    map(s, 0x10000n, 2n * PG);
    expect([...s.iommu.dmaList].map((d) => [d.iova, d.size])).toEqual([
      [0x10000n, 0x2000n],
      [0x20000n, 0x1000n],
    ]);
    expect(s.iommu.dmaAvail).toBe(65533);
    // With only mdev groups nothing is pinned at map time.
    expect(s.phys.pinnedFrames).toBe(0);
  });

  it('each bad input is its own error and changes nothing', () => {
    const s = setup({ dmaEntryLimit: 2 });
    map(s, 0x10000n, PG);
    const before = snapshot(s);
    const cases: [Record<string, unknown>, string][] = [
      [{ argsz: 31, flags: RW, vaddr: s.va, iova: 0x40000n, size: PG }, 'EINVAL'], // argsz
      [{ argsz: 32, flags: RW | 8, vaddr: s.va, iova: 0x40000n, size: PG }, 'EINVAL'], // unknown flag
      [{ argsz: 32, flags: 0, vaddr: s.va, iova: 0x40000n, size: PG }, 'EINVAL'], // no prot
      [{ argsz: 32, flags: RW | VFIO_DMA_MAP_FLAG_VADDR, vaddr: s.va, iova: 0x40000n, size: PG }, 'EINVAL'],
      [{ argsz: 32, flags: RW, vaddr: s.va, iova: 0x40000n, size: 0n }, 'EINVAL'], // zero size
      [{ argsz: 32, flags: RW, vaddr: s.va, iova: 0x40800n, size: PG }, 'EINVAL'], // iova misaligned
      [{ argsz: 32, flags: RW, vaddr: s.va + 1n, iova: 0x40000n, size: PG }, 'EINVAL'], // vaddr misaligned
      [{ argsz: 32, flags: RW, vaddr: s.va, iova: 0x40000n, size: PG + 1n }, 'EINVAL'], // size misaligned
      [{ argsz: 32, flags: RW, vaddr: s.va, iova: 2n ** 64n - PG, size: 2n * PG }, 'EOVERFLOW'], // iova wraps
      [{ argsz: 32, flags: RW, vaddr: 2n ** 64n - PG, iova: 0x40000n, size: 2n * PG }, 'EOVERFLOW'], // vaddr wraps
      [{ argsz: 32, flags: RW, vaddr: s.va, iova: 0xf000n, size: 2n * PG }, 'EEXIST'], // overlap
      [{ argsz: 32, flags: RW, vaddr: s.va, iova: -1n, size: PG }, 'EINVAL'], // not a u64
    ];
    for (const [arg, c] of cases) {
      expect(
        () => s.iommu.ioctl(VFIO_IOMMU_MAP_DMA, arg),
        JSON.stringify(arg, (_k, v) => String(v)),
      ).toThrow(code(c));
      expect(snapshot(s)).toEqual(before);
    }
    expect(() => s.iommu.ioctl(VFIO_IOMMU_MAP_DMA, null)).toThrow(code('EFAULT'));
  });

  it('ENOSPC once dma_entry_limit mappings exist; an unmap gives the slot back', () => {
    const s = setup({ dmaEntryLimit: 2 });
    map(s, 0x10000n, PG);
    map(s, 0x20000n, PG);
    const before = snapshot(s);
    expect(() => map(s, 0x30000n, PG)).toThrow(code('ENOSPC'));
    expect(snapshot(s)).toEqual(before);
    unmap(s, 0x10000n, PG);
    map(s, 0x30000n, PG);
    expect(s.iommu.dmaAvail).toBe(0);
  });

  it('the top of the u64 IOVA space can be mapped and unmapped', () => {
    const s = setup();
    map(s, 2n ** 64n - 2n * PG, 2n * PG);
    expect(unmap(s, 2n ** 64n - 2n * PG, 2n * PG)).toBe(2n * PG);
  });
});

describe('VFIO_IOMMU_UNMAP_DMA', () => {
  it('writes back the size unmapped, over several mappings and holes', () => {
    const s = setup();
    map(s, 0x10000n, PG);
    map(s, 0x12000n, 2n * PG);
    map(s, 0x20000n, PG);
    expect(unmap(s, 0x10000n, 0x10000n)).toBe(3n * PG);
    expect(s.iommu.dmaList.size).toBe(1);
    // Nothing in range: success with zero.
    expect(unmap(s, 0x40000n, PG)).toBe(0n);
    expect(s.iommu.dmaAvail).toBe(65534);
  });

  it('type1v2 refuses a range that bisects a mapping, at either end', () => {
    const s = setup();
    map(s, 0x10000n, 4n * PG);
    const before = snapshot(s);
    expect(() => unmap(s, 0x11000n, PG)).toThrow(code('EINVAL'));
    expect(() => unmap(s, 0x10000n, PG)).toThrow(code('EINVAL'));
    expect(() => unmap(s, 0xf000n, 2n * PG)).toThrow(code('EINVAL'));
    expect(snapshot(s)).toEqual(before);
  });

  it('type1 (v1) unmaps mappings starting in the range, and reports zero for one it starts inside', () => {
    const s = setup({ type: VFIO_TYPE1_IOMMU });
    map(s, 0x10000n, 4n * PG);
    expect(unmap(s, 0x11000n, PG)).toBe(0n);
    expect(s.iommu.dmaList.size).toBe(1);
    expect(unmap(s, 0x10000n, PG)).toBe(4n * PG);
    expect(s.iommu.dmaList.size).toBe(0);
  });

  it('FLAG_ALL unmaps everything and needs iova = size = 0', () => {
    const s = setup();
    map(s, 0x10000n, PG);
    map(s, 2n ** 40n, PG);
    const before = snapshot(s);
    expect(() => unmap(s, 0n, PG, VFIO_DMA_UNMAP_FLAG_ALL)).toThrow(code('EINVAL'));
    expect(() => unmap(s, PG, 0n, VFIO_DMA_UNMAP_FLAG_ALL)).toThrow(code('EINVAL'));
    expect(snapshot(s)).toEqual(before);
    expect(unmap(s, 0n, 0n, VFIO_DMA_UNMAP_FLAG_ALL)).toBe(2n * PG);
    expect(s.iommu.dmaList.size).toBe(0);
  });

  it('argument errors: argsz, flags, exclusions, alignment, zero size, wrap; nothing changes', () => {
    const s = setup();
    map(s, 0x10000n, PG);
    const before = snapshot(s);
    const cases: [Record<string, unknown>, string][] = [
      [{ argsz: 23, flags: 0, iova: 0x10000n, size: PG }, 'EINVAL'],
      [{ argsz: 24, flags: 8, iova: 0x10000n, size: PG }, 'EINVAL'],
      [
        {
          argsz: 48,
          flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL,
          iova: 0n,
          size: 0n,
        },
        'EINVAL',
      ],
      [
        {
          argsz: 48,
          flags: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR,
          iova: 0x10000n,
          size: PG,
        },
        'EINVAL',
      ],
      [{ argsz: 24, flags: 0, iova: 0x10800n, size: PG }, 'EINVAL'],
      [{ argsz: 24, flags: 0, iova: 0x10000n, size: 0n }, 'EINVAL'],
      [{ argsz: 24, flags: 0, iova: 0x10000n, size: 0x800n }, 'EINVAL'],
      [{ argsz: 24, flags: 0, iova: 2n ** 64n - PG, size: 2n * PG }, 'EOVERFLOW'],
    ];
    for (const [arg, c] of cases) {
      expect(() => s.iommu.ioctl(VFIO_IOMMU_UNMAP_DMA, arg)).toThrow(code(c));
      expect(snapshot(s)).toEqual(before);
    }
  });
});

describe('VADDR update (VFIO_UPDATE_VADDR)', () => {
  it('invalidates and re-validates a vaddr, with its exclusions', () => {
    const hw = { id: 7, mdev: false };
    const s = setup({ groups: [hw] });
    map(s, 0x10000n, 2n * PG);
    map(s, 0x20000n, PG, s.va + 0x10000n);
    expect(unmap(s, 0x10000n, 2n * PG, VFIO_DMA_UNMAP_FLAG_VADDR)).toBe(2n * PG);
    expect(s.iommu.vaddrInvalidCount).toBe(1);
    // Already invalid: refused, no change.
    const before = snapshot(s);
    expect(() => unmap(s, 0n, 0n, VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL)).toThrow(
      code('EINVAL'),
    );
    expect(snapshot(s)).toEqual(before);
    // Attaching while a vaddr is invalid is refused.
    expect(() => s.iommu.attachGroup({ id: 9, mdev: false })).toThrow(code('EBUSY'));
    const upd = (iova: bigint, size: bigint) =>
      s.iommu.mapDma({ argsz: 32, flags: VFIO_DMA_MAP_FLAG_VADDR, vaddr: s.va + 0x100000n, iova, size });
    expect(() => upd(0x40000n, PG)).toThrow(code('ENOENT'));
    expect(() => upd(0x10000n, PG)).toThrow(code('EINVAL')); // not the whole mapping
    expect(() => upd(0x20000n, PG)).toThrow(code('EINVAL')); // not invalidated
    expect(snapshot(s)).toEqual(before);
    upd(0x10000n, 2n * PG);
    expect(s.iommu.vaddrInvalidCount).toBe(0);
    expect([...s.iommu.dmaList][0]!.vaddr).toBe(s.va + 0x100000n);
  });

  it('is refused with EBUSY while mdev groups are attached', () => {
    const s = setup();
    map(s, 0x10000n, PG);
    expect(s.iommu.checkExtension(10)).toBe(0);
    expect(() => unmap(s, 0x10000n, PG, VFIO_DMA_UNMAP_FLAG_VADDR)).toThrow(code('EBUSY'));
    expect(s.iommu.vaddrInvalidCount).toBe(0);
  });

  it('an invalid vaddr blocks pin_pages and dma_rw with EBUSY', () => {
    const hw = { id: 7, mdev: false };
    const s = setup({ groups: [hw] });
    map(s, 0x10000n, PG);
    unmap(s, 0x10000n, PG, VFIO_DMA_UNMAP_FLAG_VADDR);
    s.iommu.registerNotifier(1, () => {});
    expect(() => s.iommu.pinPages(hw, [0x10], 1)).toThrow(code('EBUSY'));
    expect(() => s.iommu.dmaRw(0x10000n, new Uint8Array(4), false)).toThrow(code('EBUSY'));
  });

  it('map with FLAG_READ only still maps (device may only read)', () => {
    const s = setup();
    map(s, 0x10000n, PG, s.va, VFIO_DMA_MAP_FLAG_READ);
    expect([...s.iommu.dmaList][0]!.prot).toBe(1);
  });
});
