import { describe, expect, it } from 'vitest';
import {
  DIRTY_BITMAP_SIZE_MAX,
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_CC_IOMMU,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_INFO_CAPS,
  VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1_NESTING_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_UNMAP_ALL,
  VFIO_UPDATE_VADDR,
  type VfioIommuType1InfoArg,
} from '../src/index.ts';
import { code, map, PG, setup } from './helpers.ts';

const info = (argsz: number): VfioIommuType1InfoArg => ({
  argsz,
  flags: 0,
  iova_pgsizes: 0n,
  cap_offset: 0,
  pad: 0,
});

describe('VFIO_IOMMU_GET_INFO', () => {
  it('mdev-only container: PAGE_MASK page sizes, MIGRATION and DMA_AVAIL caps, no IOVA ranges', () => {
    const s = setup();
    map(s, 0n, PG);
    const i = info(1000);
    expect(s.iommu.ioctl(VFIO_IOMMU_GET_INFO, i)).toBe(0);
    expect(i.flags).toBe(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
    expect(i.iova_pgsizes).toBe(0xfffffffffffff000n);
    expect(i.cap_offset).toBe(24);
    expect(i.argsz).toBe(1000);
    expect(i.caps).toEqual([
      {
        header: { id: VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version: 1, next: 56 },
        flags: 0,
        pgsize_bitmap: 4096n,
        max_dirty_bitmap_size: BigInt(DIRTY_BITMAP_SIZE_MAX),
      },
      { header: { id: VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, next: 0 }, avail: 65534 },
    ]);
    expect(DIRTY_BITMAP_SIZE_MAX).toBe(256 * 1024 * 1024);
  });

  it('with a hardware domain: its page sizes and the IOVA ranges around reserved regions', () => {
    const s = setup({
      groups: [{ id: 3, mdev: false }],
      hwIommu: {
        pgsizeBitmap: 0x40201000n,
        apertureEnd: 2n ** 39n - 1n,
        reservedRegions: [{ start: 0xfee00000n, end: 0xfeefffffn }],
      },
    });
    const i = info(1000);
    s.iommu.getInfo(i);
    expect(i.iova_pgsizes).toBe(0x40201000n);
    const iovaCap = i.caps![2]!;
    expect(i.caps!.map((c) => c.header)).toEqual([
      { id: VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version: 1, next: 56 },
      { id: VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, next: 72 },
      { id: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1, next: 0 },
    ]);
    expect(iovaCap).toMatchObject({
      nr_iovas: 2,
      iova_ranges: [
        { start: 0n, end: 0xfedfffffn },
        { start: 0xfef00000n, end: 2n ** 39n - 1n },
      ],
    });
    // MAP_DMA outside the ranges: EINVAL; inside: fine.
    expect(() => map(s, 0xfee00000n, PG)).toThrow(code('EINVAL'));
    expect(() => map(s, 2n ** 39n, PG)).toThrow(code('EINVAL'));
    map(s, 0xfef00000n, PG);
  });

  it('a too-small argsz gets the needed size back without the chain; below 16 is EINVAL', () => {
    const s = setup();
    const a = info(24);
    s.iommu.getInfo(a);
    expect(a.argsz).toBe(24 + 32 + 16);
    expect(a.caps).toBeUndefined();
    expect(a.cap_offset).toBe(0);
    const b = info(16);
    b.cap_offset = 77;
    s.iommu.getInfo(b);
    expect(b.argsz).toBe(72);
    expect(b.cap_offset).toBe(77); // beyond the 16 bytes copied back
    expect(b.iova_pgsizes).toBe(0xfffffffffffff000n);
    expect(() => s.iommu.getInfo(info(15))).toThrow(code('EINVAL'));
  });
});

describe('extensions, open and the ioctl dispatcher', () => {
  it('CHECK_EXTENSION as vfio_iommu_type1_check_extension()', () => {
    const s = setup();
    expect(s.driver.checkExtension(VFIO_TYPE1_IOMMU)).toBe(1);
    expect(s.driver.checkExtension(VFIO_TYPE1v2_IOMMU)).toBe(1);
    expect(s.driver.checkExtension(VFIO_UNMAP_ALL)).toBe(1);
    expect(s.driver.checkExtension(VFIO_TYPE1_NESTING_IOMMU)).toBe(0);
    expect(s.driver.checkExtension(VFIO_UPDATE_VADDR)).toBe(0); // no container
    expect(s.iommu.ioctl(VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR)).toBe(0); // mdev present
    expect(s.iommu.ioctl(VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU)).toBe(0); // no hardware domain
    const h = setup({ groups: [{ id: 2, mdev: false }] });
    expect(h.iommu.ioctl(VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR)).toBe(1);
    expect(h.iommu.ioctl(VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU)).toBe(1);
  });

  it('open() serves type1 and type1v2 only; unknown ioctl is ENOTTY', () => {
    const s = setup();
    expect(() => s.driver.open(VFIO_TYPE1_NESTING_IOMMU)).toThrow(code('EINVAL'));
    expect(s.driver.open(VFIO_TYPE1_IOMMU).v2).toBe(false);
    expect(() => s.iommu.ioctl(0x3b00 + 99, {})).toThrow(code('ENOTTY'));
  });

  it('attaching a group twice is EINVAL; detaching the last group removes every mapping', () => {
    const s = setup();
    expect(() => s.iommu.attachGroup(s.mdev)).toThrow(code('EINVAL'));
    map(s, 0n, PG);
    s.iommu.detachGroup(s.mdev);
    expect(s.iommu.dmaList.size).toBe(0);
    expect(s.iommu.dmaAvail).toBe(65535);
  });
});
