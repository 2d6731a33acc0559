import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type MmapFile,
  PROT_READ,
  PROT_WRITE,
  VM_IO,
  VM_PFNMAP,
} from '@tsvirt/host-mm';
import { KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '@tsvirt/kvm-core';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { setup } from './setup.ts';

const RW = PROT_READ | PROT_WRITE;
const BASE = 0x4000_0000;
const GPA = 0x8000_0000n;

/** An owner mm with VMAs placed at BASE + offset. */
function withVmas() {
  const t = setup();
  const anon = (offset: number, length: number, prot: number) =>
    t.mm.mmap({ addr: BASE + offset, length, prot, flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED });
  const pfnmap = (offset: number, length: number, prot: number) => {
    const bar = t.phys.allocContiguous(length / 4096, 1);
    const file: MmapFile = {
      mmap(vma) {
        vma.flags |= VM_PFNMAP | VM_IO;
        vma.ops = { fault: (_v, off) => bar + off };
      },
    };
    return t.mm.mmap({ addr: BASE + offset, length, prot, flags: MAP_SHARED | MAP_FIXED, file });
  };
  const slot = (size: number, flags = 0, gpa = GPA) => ({
    slot: 0,
    flags,
    guest_phys_addr: gpa,
    memory_size: BigInt(size),
    userspace_addr: BigInt(BASE),
  });
  return { ...t, anon, pfnmap, slot };
}

describe('kvm_arch_prepare_memory_region: the VMAs under a slot', () => {
  it('a writable slot over a read-only VMA is EPERM and no slot appears; a read-only slot may map it', () => {
    const t = withVmas();
    t.anon(0, 0x4000, PROT_READ);
    expect(errnoOf(() => t.vm.setUserMemoryRegion(t.slot(0x4000)))).toBe('EPERM');
    expect(t.vm.memslots.get(0)).toBeUndefined();
    t.vm.setUserMemoryRegion(t.slot(0x4000, KVM_MEM_READONLY));
    expect(t.vm.memslots.get(0)).toBeDefined();
  });

  it('the walk crosses holes to the next VMA, and stops at the end of the slot', () => {
    const t = withVmas();
    t.anon(0, 0x4000, RW);
    t.anon(0x8000, 0x4000, PROT_READ); // after a 16 KiB hole
    expect(errnoOf(() => t.vm.setUserMemoryRegion(t.slot(0xc000)))).toBe('EPERM');
    // A slot that ends where the read-only VMA starts never meets it; holes are allowed.
    t.vm.setUserMemoryRegion(t.slot(0x8000));
    expect(t.vm.memslots.get(0)!.npages).toBe(8);
  });

  it('a moved or flags-changed slot is checked again; deleting one is not', () => {
    const t = withVmas();
    t.anon(0, 0x4000, RW);
    t.vm.setUserMemoryRegion(t.slot(0x4000));
    t.mm.mprotect(BASE, 0x4000, PROT_READ);
    expect(errnoOf(() => t.vm.setUserMemoryRegion(t.slot(0x4000, KVM_MEM_LOG_DIRTY_PAGES)))).toBe('EPERM');
    expect(t.vm.memslots.get(0)!.flags).toBe(0);
    expect(errnoOf(() => t.vm.setUserMemoryRegion(t.slot(0x4000, 0, GPA + 0x10_0000n)))).toBe('EPERM');
    expect(t.vm.memslots.get(0)!.baseGfn * 4096).toBe(Number(GPA));
    t.vm.setUserMemoryRegion(t.slot(0));
    expect(t.vm.memslots.get(0)).toBeUndefined();
  });

  it('dirty logging over VM_PFNMAP is EINVAL; VMAs are checked in address order and the first refusal wins', () => {
    const t = withVmas();
    t.anon(0, 0x4000, RW);
    t.pfnmap(0x4000, 0x4000, RW);
    t.anon(0x8000, 0x4000, PROT_READ);
    // The PFNMAP VMA comes first: EINVAL, though a read-only VMA follows.
    expect(errnoOf(() => t.vm.setUserMemoryRegion(t.slot(0xc000, KVM_MEM_LOG_DIRTY_PAGES)))).toBe('EINVAL');
    // Without logging, the PFNMAP VMA passes and the read-only one after it is EPERM.
    expect(errnoOf(() => t.vm.setUserMemoryRegion(t.slot(0xc000)))).toBe('EPERM');
    // A read-only PFNMAP VMA under a writable, logging slot: EPERM is checked first.
    const u = withVmas();
    u.pfnmap(0, 0x4000, PROT_READ);
    expect(errnoOf(() => u.vm.setUserMemoryRegion(u.slot(0x4000, KVM_MEM_LOG_DIRTY_PAGES)))).toBe('EPERM');
    expect(
      errnoOf(() => u.vm.setUserMemoryRegion(u.slot(0x4000, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY))),
    ).toBe('EINVAL');
    u.vm.setUserMemoryRegion(u.slot(0x4000, KVM_MEM_READONLY));
    expect(u.vm.memslots.get(0)).toBeDefined();
  });
});
