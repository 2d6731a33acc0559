import { describe, expect, it } from 'vitest';
import {
  TYPE1_STATE_MAGIC,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_UNMAP_FLAG_VADDR,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
} from '../src/index.ts';
import { code, map, PG, setup, snapshot, unmap } from './helpers.ts';

describe('save / restore of a type1 container', () => {
  it('round-trips mappings, prot, dirty bits and tracking', () => {
    const a = setup();
    map(a, 0n, 4n * PG);
    map(a, 0x100000n, 2n * PG, a.va + 0x10000n, VFIO_DMA_MAP_FLAG_READ);
    a.iommu.dirtyPages({ argsz: 8, flags: 1 });
    a.iommu.dmaRw(2n * PG, Uint8Array.of(1), true);
    const blob = a.iommu.save();
    expect(new DataView(blob.buffer).getUint32(0, true)).toBe(TYPE1_STATE_MAGIC);

    const b = setup();
    b.iommu.restore(blob);
    expect(snapshot(b).dmas).toEqual(snapshot(a).dmas);
    expect(b.iommu.dirtyPageTracking).toBe(true);
    expect(b.iommu.dmaAvail).toBe(a.iommu.dmaAvail);
    // The restored container works: the dirty bit comes back from a query.
    const data = new Uint8Array(8);
    b.iommu.dirtyPages({
      argsz: 48,
      flags: 4,
      data: { iova: 0n, size: 4n * PG, bitmap: { pgsize: PG, size: 8n, data } },
    });
    expect(data[0]).toBe(0b100);
  });

  it('restores an invalidated vaddr into a container of hardware groups only', () => {
    const hw = { id: 3, mdev: false };
    const a = setup({ groups: [hw] });
    map(a, 0n, PG);
    unmap(a, 0n, PG, VFIO_DMA_UNMAP_FLAG_VADDR);
    const blob = a.iommu.save();
    const b = setup({ groups: [] });
    b.iommu.restore(blob);
    expect(b.iommu.vaddrInvalidCount).toBe(1);
    // ...but not where a group could pin it.
    const c = setup();
    expect(() => c.iommu.restore(blob)).toThrow(code('EINVAL'));
    expect(c.iommu.dmaList.size).toBe(0);
  });

  it('refuses bad blobs (EINVAL) and a container with state (EBUSY), changing nothing', () => {
    const a = setup();
    map(a, 0n, PG);
    const blob = a.iommu.save();
    const b = setup();
    const bad = (f: (x: Uint8Array) => void) => {
      const x = blob.slice();
      f(x);
      return x;
    };
    const v = (x: Uint8Array) => new DataView(x.buffer);
    const before = snapshot(b);
    for (const x of [
      new Uint8Array(3),
      bad((x) => v(x).setUint32(0, 0x1234, true)), // magic
      bad((x) => v(x).setUint32(4, 2, true)), // version
      bad((x) => v(x).setUint32(8, 4, true)), // flags
      bad((x) => v(x).setUint32(12, 2, true)), // count beyond the data
      blob.slice(0, blob.length - 1), // truncated
      bad((x) => v(x).setUint32(16 + 24, 0, true)), // no prot
    ]) {
      expect(() => b.iommu.restore(x)).toThrow(code('EINVAL'));
      expect(snapshot(b)).toEqual(before);
    }
    const v1 = setup({ type: VFIO_TYPE1_IOMMU });
    expect(() => v1.iommu.restore(blob)).toThrow(code('EINVAL'));
    expect(() => a.iommu.restore(blob)).toThrow(code('EBUSY'));
    expect(b.driver.open(VFIO_TYPE1v2_IOMMU).v2).toBe(true);
  });

  it('a mapping that fails on restore (entry limit) leaves the container empty', () => {
    const a = setup();
    map(a, 0n, PG);
    map(a, 0x10000n, PG);
    const b = setup({ dmaEntryLimit: 1 });
    const before = snapshot(b);
    expect(() => b.iommu.restore(a.iommu.save())).toThrow(code('ENOSPC'));
    expect(snapshot(b)).toEqual(before);
  });
});
