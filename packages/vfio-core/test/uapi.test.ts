import { describe, expect, it } from 'vitest';
import {
  VFIO_CHECK_EXTENSION,
  VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_QUERY_GFX_PLANE,
  VFIO_DEVICE_RESET,
  VFIO_GET_API_VERSION,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_PCI_OFFSET_TO_INDEX,
  VFIO_PIN_PAGES_MAX_ENTRIES,
  VFIO_SET_IOMMU,
} from '../src/index.ts';

describe('VFIO UAPI numbers', () => {
  it('ioctl requests are _IO(";", 100 + n) as in include/uapi/linux/vfio.h', () => {
    // ';' is 0x3b, so request = 0x3b00 | (100 + n).
    expect(VFIO_GET_API_VERSION).toBe(0x3b64);
    expect(VFIO_CHECK_EXTENSION).toBe(0x3b65);
    expect(VFIO_SET_IOMMU).toBe(0x3b66);
    expect(VFIO_GROUP_GET_DEVICE_FD).toBe(0x3b6a);
    expect(VFIO_DEVICE_GET_INFO).toBe(0x3b6b);
    expect(VFIO_DEVICE_RESET).toBe(0x3b6f);
    expect(VFIO_IOMMU_MAP_DMA).toBe(0x3b71);
    expect(VFIO_DEVICE_QUERY_GFX_PLANE).toBe(0x3b72);
    expect(VFIO_IOMMU_DIRTY_PAGES).toBe(0x3b75);
  });

  it('IRQ set masks cover bits 0-2 and 3-5', () => {
    expect(VFIO_IRQ_SET_DATA_TYPE_MASK).toBe(0x7);
    expect(VFIO_IRQ_SET_ACTION_TYPE_MASK).toBe(0x38);
  });

  it('region offsets are index << 40 and back', () => {
    expect(VFIO_PCI_INDEX_TO_OFFSET(7)).toBe(0x70000000000n);
    expect(VFIO_PCI_OFFSET_TO_INDEX(0x70000000123n)).toBe(7);
    expect(VFIO_PIN_PAGES_MAX_ENTRIES).toBe(512);
  });
});
