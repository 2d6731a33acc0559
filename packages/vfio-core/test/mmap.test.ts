import { fail } from '@tsvirt/core-bus';
import { HostPhysMemory, MmStruct, PROT_READ, PROT_WRITE, VM_PFNMAP } from '@tsvirt/host-mm';
import { describe, expect, it } from 'vitest';
import {
  VFIO_PCI_BAR0_REGION_INDEX,
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_PCI_OFFSET_MASK,
  VFIO_PCI_OFFSET_TO_INDEX,
  VfioDeviceFile,
  vfio_device_mmap,
  vfio_pfnmap_vma,
} from '../src/index.ts';
import { attach, openDevice, setup } from './helpers.ts';

const BAR2_BASE_PFN = 0x300;

/** A device whose BAR2 (16 KiB) is mmap-able and backed by host frames BAR2_BASE_PFN.. */
function mappableSetup() {
  const faults: number[] = [];
  const s = setup({
    ops: {
      mmap(_d, vma) {
        const off = BigInt(vma.pgoff) << 12n;
        if (VFIO_PCI_OFFSET_TO_INDEX(off) !== VFIO_PCI_BAR2_REGION_INDEX) fail('EINVAL', 'only BAR2 maps');
        const first = Number((off & VFIO_PCI_OFFSET_MASK) >> 12n);
        if (first + (vma.end - vma.start) / 4096 > 4) fail('EINVAL', 'past the end of BAR2');
        const regionPgoff = vma.pgoff - first;
        vfio_pfnmap_vma(vma, (pgoff) => {
          faults.push(pgoff);
          return BAR2_BASE_PFN + (pgoff - regionPgoff);
        });
      },
    },
  });
  const { gfd } = attach(s);
  const file = s.fds.getAs(openDevice(s, gfd), VfioDeviceFile);
  const phys = new HostPhysMemory({ totalFrames: 1024 });
  const mm = new MmStruct(phys);
  return { s, file, mm, phys, faults };
}

describe('mmap of a device fd through host-mm', () => {
  it('creates a VM_PFNMAP vma whose pages fault in through the driver, by pfn', () => {
    const { file, mm, phys, faults } = mappableSetup();
    const bar2 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);
    const addr = vfio_device_mmap(mm, file, {
      offset: bar2 + 0x1000n,
      length: 0x2000,
      prot: PROT_READ | PROT_WRITE,
    });
    const vma = mm.findVma(addr)!;
    expect(vma.flags & VM_PFNMAP).toBe(VM_PFNMAP);
    expect(faults).toEqual([]);
    expect(mm.hvaToPfn(addr + 0x1000, true)).toBe(BAR2_BASE_PFN + 2);
    expect(mm.hvaToPfn(addr, false)).toBe(BAR2_BASE_PFN + 1);
    // Faulted once per page, then served from the page table.
    mm.hvaToPfn(addr, false);
    expect(faults).toHaveLength(2);
    // Writes through the mapping land in the device's frames.
    mm.copyToUser(addr + 0x1000 + 8, Uint8Array.of(0x5a));
    expect(phys.frame(BAR2_BASE_PFN + 2)[8]).toBe(0x5a);
  });

  it("a driver's refusal fails the mmap with its errno and leaves no vma", () => {
    const { file, mm } = mappableSetup();
    const bar0 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR0_REGION_INDEX);
    expect(() => vfio_device_mmap(mm, file, { offset: bar0, length: 0x1000, prot: PROT_READ })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    const bar2 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);
    expect(() => vfio_device_mmap(mm, file, { offset: bar2, length: 0x5000, prot: PROT_READ })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(mm.mapCount).toBe(0);
  });

  it('a driver without mmap refuses with EINVAL; a negative offset is EINVAL', () => {
    const s = setup();
    const { gfd } = attach(s);
    const file = s.fds.getAs(openDevice(s, gfd), VfioDeviceFile);
    const mm = new MmStruct(new HostPhysMemory({ totalFrames: 64 }));
    expect(() => vfio_device_mmap(mm, file, { offset: 0n, length: 0x1000, prot: PROT_READ })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => vfio_device_mmap(mm, file, { offset: -1n, length: 0x1000, prot: PROT_READ })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(mm.mapCount).toBe(0);
  });
});
