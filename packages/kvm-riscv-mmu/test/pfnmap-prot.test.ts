import {
  MAP_SHARED,
  type MmapFile,
  PROT_READ,
  PROT_WRITE,
  VM_IO,
  VM_PFNMAP,
  type VmArea,
} from '@tsvirt/host-mm';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { PTE_W } from '../src/index.ts';
import { mmuOf, setup } from './setup.ts';

const P = 4096;
const GPA = 0x4000_0000;

/**
 * A device BAR mmapped VM_PFNMAP and writable, whose fault handler remaps
 * its first two pages read-only (a vendor narrowing the protection) and
 * the rest read-write; writes to the read-only ones are refused in
 * pfn_mkwrite (SIGBUS).
 */
function pfnmapSlot() {
  const t = setup();
  const bar = t.phys.allocContiguous(4, 1);
  const file: MmapFile = {
    mmap(vma) {
      vma.flags |= VM_PFNMAP | VM_IO;
      vma.ops = {
        fault(v: VmArea, pgoff: number) {
          const ro = pgoff - v.pgoff < 2;
          const first = ro ? 0 : 2;
          v.mm!.remapPfnRange(v, v.start + first * P, bar + first, 2 * P, {
            access: ro ? PROT_READ : PROT_READ | PROT_WRITE,
            cache: 'uc',
          });
          return bar + pgoff - v.pgoff;
        },
        pfnMkwrite() {
          throw new Error('SIGBUS');
        },
      };
    },
  };
  const hva = t.mm.mmap({ length: 4 * P, prot: PROT_READ | PROT_WRITE, flags: MAP_SHARED, file });
  t.vm.setUserMemoryRegion({
    slot: 1,
    flags: 0,
    guest_phys_addr: BigInt(GPA),
    memory_size: BigInt(4 * P),
    userspace_addr: BigInt(hva),
  });
  return { ...t, bar, mmu: mmuOf(t.vm) };
}

describe('VM_PFNMAP memory: the G-stage follows the host entry protection (hva_to_pfn_remapped())', () => {
  it('a read fault on a read-only entry of a writable VMA maps a read-only leaf', () => {
    const t = pfnmapSlot();
    expect(t.mmu.handleFault(GPA + P, false)).toBe('mapped');
    const leaf = t.mmu.gstage.getLeaf(GPA + P)!;
    expect(leaf.flags & PTE_W).toBe(0);
    // A read-write entry of the same VMA still maps writable.
    expect(t.mmu.handleFault(GPA + 3 * P, false)).toBe('mapped');
    expect(t.mmu.gstage.getLeaf(GPA + 3 * P)!.flags & PTE_W).toBe(PTE_W);
  });

  it('a guest write to it fails the fault with EFAULT (pfn_mkwrite refused) and leaves no writable leaf', () => {
    const t = pfnmapSlot();
    t.mmu.handleFault(GPA, false);
    expect(errnoOf(() => t.mmu.handleFault(GPA, true))).toBe('EFAULT');
    expect(t.mmu.gstage.getLeaf(GPA)!.flags & PTE_W).toBe(0);
    expect(errnoOf(() => t.mmu.handleFault(GPA + P, true))).toBe('EFAULT');
    expect(t.mmu.gstage.getLeaf(GPA + P)?.flags ?? 0).toBe(0);
  });
});
