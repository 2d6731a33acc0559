import { describe, expect, it } from 'vitest';
import { IOMMU_READ, VFIO_IOMMU_NOTIFY_DMA_UNMAP } from '../src/index.ts';
import { code, map, PG, setup, snapshot } from './helpers.ts';

// Sizes and addresses near the top of the u64 space must fail as Linux fails
// them (a KernelError with its errno, nothing changed), never with a host
// exception. Found with a random probe of MAP/UNMAP/DIRTY_PAGES/pin/dma_rw/
// attach/detach/save/restore over such values.
const hw = { id: 4, mdev: false };
const TIB16 = 2n ** 44n;

describe('huge mappings with a hardware IOMMU domain (vfio_pin_map_dma)', () => {
  it('MAP_DMA of 16 TiB and of 2^52 bytes fails where pinning stops (EFAULT past the vma), unchanged', () => {
    const s = setup({ groups: [hw], hwIommu: { apertureEnd: 2n ** 64n - 1n } });
    map(s, 0n, 4n * PG);
    const before = snapshot(s);
    // 4096 pages of the 16 MiB vma pin, then gup finds no vma.
    expect(() => map(s, TIB16, TIB16)).toThrow(code('EFAULT'));
    expect(() => map(s, 2n ** 52n, 2n ** 52n)).toThrow(code('EFAULT'));
    expect(snapshot(s)).toEqual(before);
  });

  it('checks RLIMIT_MEMLOCK page by page as it pins: ENOMEM before a later hole', () => {
    const s = setup({ groups: [hw], mm: { rlimitMemlock: 16 * 4096 } });
    const before = snapshot(s);
    // The 17th page is over the limit; the hole comes later (page 20, the end of the vma).
    s.mm.munmap(Number(s.va) + 20 * 4096, 4096);
    expect(() => map(s, 0n, 32n * PG)).toThrow(code('ENOMEM'));
    expect(() => map(s, TIB16, TIB16)).toThrow(code('ENOMEM'));
    expect(snapshot(s)).toEqual(before);
    // Under the limit, the hole is what fails.
    expect(() => map(s, 0n, 16n * PG, s.va + 8n * PG)).toThrow(code('EFAULT'));
    expect(snapshot(s)).toEqual(before);
  });

  it('attaching the first hardware group replays a 16 TiB mapping: the error, and no domain', () => {
    const s = setup();
    map(s, TIB16, TIB16);
    const before = snapshot(s);
    expect(() => s.iommu.attachGroup(hw)).toThrow(code('EFAULT'));
    expect(snapshot(s)).toEqual(before);
    expect(s.iommu.domain).toBeUndefined();
  });

  it('restore of a 16 TiB mapping into a container with a hardware group fails whole', () => {
    const a = setup();
    map(a, TIB16, TIB16);
    const b = setup({ groups: [hw] });
    const before = snapshot(b);
    expect(() => b.iommu.restore(a.iommu.save())).toThrow(code('EFAULT'));
    expect(snapshot(b)).toEqual(before);
  });
});

describe('user addresses at or above TASK_SIZE fail in gup with EFAULT', () => {
  it('MAP_DMA with a hardware domain, at TASK_SIZE and beyond 2^53', () => {
    const s = setup({ groups: [hw] });
    const before = snapshot(s);
    for (const vaddr of [2n ** 47n, 2n ** 63n, 2n ** 64n - PG])
      expect(() => map(s, 0n, PG, vaddr)).toThrow(code('EFAULT'));
    // A range that runs from the vma over the top of the address space.
    s.mm.mmap({ addr: 2 ** 47 - 0x1000_0000, length: 0x1000_0000, prot: 3, flags: 0x22 });
    expect(() => map(s, 0n, 0x2000_0000n, 2n ** 47n - 0x1000_0000n)).toThrow(code('EFAULT'));
    expect(snapshot(s)).toEqual(before);
  });

  it('MAP_DMA of an mdev container accepts such a vaddr; pinning and dma_rw then fail with EFAULT', () => {
    const s = setup();
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    map(s, 0n, 2n * PG, 2n ** 63n);
    const before = snapshot(s);
    expect(() => s.iommu.pinPages(s.mdev, [1], IOMMU_READ)).toThrow(code('EFAULT'));
    expect(() => s.iommu.dmaRw(PG, new Uint8Array(8), true)).toThrow(code('EFAULT'));
    expect(snapshot(s)).toEqual(before);
  });
});
