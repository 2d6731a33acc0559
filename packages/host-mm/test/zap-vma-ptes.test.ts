import { describe, expect, it } from 'vitest';
import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MmStruct,
  PROT_READ,
  PROT_WRITE,
  type VmArea,
} from '../src/index.ts';

const VM_PFNMAP = 0x400;
const VM_IO = 0x4000;

function deviceFile(base: number, faults: number[]) {
  return {
    mmap(vma: VmArea) {
      vma.flags |= VM_PFNMAP | VM_IO;
      vma.ops = {
        fault: (_v: VmArea, pgoff: number) => {
          faults.push(pgoff);
          return base + pgoff;
        },
      };
    },
  };
}

describe('zap_vma_ptes', () => {
  it('drops PFNMAP pages so the next access faults again, telling MMU notifiers first', () => {
    const phys = new HostPhysMemory({ totalFrames: 4096 });
    const mm = new MmStruct(phys);
    const faults: number[] = [];
    const base = phys.allocContiguous(4);
    const hva = mm.mmap({
      length: 4 * 4096,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_SHARED,
      file: deviceFile(base, faults),
    });
    const vma = mm.vmaList.find((v) => v.start === hva)!;
    expect(vma.mm).toBe(mm);
    for (let i = 0; i < 4; i++) mm.hvaToPfn(hva + i * 4096, true);
    expect(faults).toEqual([0, 1, 2, 3]);
    const seen: [number, number][] = [];
    mm.registerMmuNotifier({ invalidateRange: (s: number, e: number) => seen.push([s, e]) });
    mm.zapVmaPtes(vma, hva + 4096, 2 * 4096);
    expect(seen).toEqual([[hva + 4096, hva + 3 * 4096]]);
    for (let i = 0; i < 4; i++) mm.hvaToPfn(hva + i * 4096, true);
    expect(faults).toEqual([0, 1, 2, 3, 1, 2]);
  });

  it('leaves anonymous vmas and ranges outside the vma alone', () => {
    const phys = new HostPhysMemory({ totalFrames: 4096 });
    const mm = new MmStruct(phys);
    const hva = mm.mmap({
      length: 2 * 4096,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS,
    });
    const vma = mm.vmaList.find((v) => v.start === hva)!;
    const pfn = mm.hvaToPfn(hva, true);
    mm.zapVmaPtes(vma, hva, 4096);
    expect(mm.hvaToPfn(hva, false)).toBe(pfn);
    mm.zapVmaPtes(vma, hva + 4096, 2 * 4096); // runs past the vma: ignored
    expect(mm.hvaToPfn(hva, false)).toBe(pfn);
  });
});
