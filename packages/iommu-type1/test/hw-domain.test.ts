import { MAP_SHARED, PROT_READ, PROT_WRITE, VM_IO, VM_PFNMAP } from '@tsvirt/host-mm';
import { describe, expect, it } from 'vitest';
import { IOMMU_READ, VFIO_IOMMU_NOTIFY_DMA_UNMAP } from '../src/index.ts';
import { code, map, PG, setup, snapshot, unmap } from './helpers.ts';

const hw = { id: 4, mdev: false };

describe('a hardware IOMMU domain (non-mdev group)', () => {
  it('pins, charges and maps every page at MAP_DMA; unmap undoes all of it', () => {
    const s = setup({ groups: [hw] });
    map(s, 0x100000n, 4n * PG, s.va + 0x3000n);
    expect(s.phys.pinnedFrames).toBe(4);
    expect(s.mm.lockedVm).toBe(4);
    const dom = s.iommu.domain!;
    expect(dom.iovaToPfn(0x101)).toBe(s.mm.hvaToPfn(Number(s.va) + 0x4000, false));
    expect(unmap(s, 0x100000n, 4n * PG)).toBe(4n * PG);
    expect(s.phys.pinnedFrames).toBe(0);
    expect(s.mm.lockedVm).toBe(0);
    expect(dom.mappedPages).toBe(0);
  });

  it('ENOMEM past RLIMIT_MEMLOCK (unless CAP_IPC_LOCK), EFAULT on a hole, all unwound', () => {
    const s = setup({ groups: [hw], mm: { rlimitMemlock: 3 * 4096 } });
    const before = snapshot(s);
    expect(() => map(s, 0n, 4n * PG)).toThrow(code('ENOMEM'));
    expect(snapshot(s)).toEqual(before);
    s.mm.munmap(Number(s.va) + 0x2000, 4096);
    expect(() => map(s, 0n, 3n * PG)).toThrow(code('EFAULT'));
    expect(snapshot(s)).toEqual(before);
    s.mm.capIpcLock = true;
    map(s, 0n, 2n * PG, s.va + 0x4000n);
    map(s, 0x10000n, 4n * PG, s.va + 0x8000n);
    expect(s.mm.lockedVm).toBe(6);
  });

  it('maps a VM_PFNMAP region (a device BAR) without pinning or charging it', () => {
    const s = setup({ groups: [hw] });
    const bar = s.phys.allocContiguous(2);
    const va = s.mm.mmap({
      length: 2 * 4096,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_SHARED,
      file: {
        mmap(v) {
          v.flags |= VM_IO | VM_PFNMAP;
          v.ops = { fault: (_v, pgoff) => bar + pgoff };
        },
      },
    });
    map(s, 0x200000n, 2n * PG, BigInt(va));
    expect(s.iommu.domain!.iovaToPfn(0x201)).toBe(bar + 1);
    expect(s.phys.pinnedFrames).toBe(0);
    expect(s.mm.lockedVm).toBe(0);
  });

  it('first hardware group replays existing mappings; refusals leave them as they were', () => {
    const s = setup({ mm: { rlimitMemlock: 4 * 4096 }, hwIommu: { apertureEnd: 2n ** 32n - 1n } });
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    map(s, 0n, 2n * PG);
    s.iommu.pinPages(s.mdev, [1], IOMMU_READ);
    expect(s.mm.lockedVm).toBe(1);
    map(s, 2n ** 33n, PG, s.va + 0x10000n);
    const before = snapshot(s);
    // A mapping outside the new domain's aperture: EINVAL.
    expect(() => s.iommu.attachGroup(hw)).toThrow(code('EINVAL'));
    expect(snapshot(s)).toEqual(before);
    unmap(s, 2n ** 33n, PG);
    map(s, 0x10000n, 3n * PG, s.va + 0x10000n);
    const before2 = snapshot(s);
    // 5 pages to pin against a 4-page limit: ENOMEM, external pin charge restored.
    expect(() => s.iommu.attachGroup(hw)).toThrow(code('ENOMEM'));
    expect(snapshot(s)).toEqual(before2);
    unmap(s, 0x10000n, 3n * PG);
    s.iommu.attachGroup(hw);
    expect(s.mm.lockedVm).toBe(2);
    expect(s.phys.pinCount(s.iommu.domain!.iovaToPfn(1)!)).toBe(2);
    // The last hardware group leaves: pages unpinned, the vendor pin charged again.
    s.iommu.detachGroup(hw);
    expect(s.iommu.domain).toBeUndefined();
    expect(s.mm.lockedVm).toBe(1);
    expect(s.phys.pinnedFrames).toBe(1);
    expect(s.iommu.dmaList.size).toBe(1);
  });

  it('release() drops every mapping, pin and charge', () => {
    const s = setup({ groups: [hw, { id: 1, mdev: true }] });
    s.iommu.registerNotifier(VFIO_IOMMU_NOTIFY_DMA_UNMAP, () => {});
    map(s, 0n, 2n * PG);
    s.iommu.pinPages(hw, [0], IOMMU_READ);
    s.iommu.release();
    expect(s.phys.pinnedFrames).toBe(0);
    expect(s.mm.lockedVm).toBe(0);
    expect(s.iommu.dmaList.size).toBe(0);
    expect(() => s.iommu.attachGroup(hw)).toThrow(code('EINVAL'));
  });
});
