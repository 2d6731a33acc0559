import { KVM_MEM_READONLY } from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import { PTE_W } from '../src/index.ts';
import { mmuOf, setup } from './setup.ts';

describe('KvmRiscvMmu.handleFault', () => {
  it('outside every slot, and a write to a read-only slot, is MMIO; a read there maps read-only', () => {
    const t = setup();
    t.vm.setUserMemoryRegion({
      slot: 0,
      flags: KVM_MEM_READONLY,
      guest_phys_addr: 0x8000_0000n,
      memory_size: 0x10000n,
      userspace_addr: BigInt(t.hva),
    });
    const mmu = mmuOf(t.vm);
    expect(mmu.handleFault(0x1000_0000, false)).toBe('mmio');
    expect(mmu.handleFault(0x8000_1000, true)).toBe('mmio');
    expect(mmu.gstage.getLeaf(0x8000_1000)).toBeUndefined();
    expect(mmu.handleFault(0x8000_1000, false)).toBe('mapped');
    expect(mmu.gstage.getLeaf(0x8000_1000)!.flags & PTE_W).toBe(0);
    expect(mmu.stats).toMatchObject({ faults: 3, mmio: 2, mapped4k: 1 });
  });

  it('an invalidation racing the fault makes it retry without mapping (mmu_invalidate_retry)', () => {
    const t = setup();
    t.vm.setUserMemoryRegion({
      slot: 0,
      flags: 0,
      guest_phys_addr: 0x8000_0000n,
      memory_size: 0x10000n,
      userspace_addr: BigInt(t.hva),
    });
    const mmu = mmuOf(t.vm);
    const real = t.mm.hvaToPfn.bind(t.mm);
    t.mm.hvaToPfn = (hva, write) => {
      t.vm.mmuInvalidateSeq++; // an MMU notifier ran while the pfn was looked up
      return real(hva, write);
    };
    expect(mmu.handleFault(0x8000_2000, true)).toBe('mapped');
    expect(mmu.stats.retries).toBe(1);
    expect(mmu.gstage.getLeaf(0x8000_2000)).toBeUndefined();
    t.mm.hvaToPfn = real;
    expect(mmu.handleFault(0x8000_2000, true)).toBe('mapped');
    expect(mmu.gstage.getLeaf(0x8000_2000)!.flags & PTE_W).toBe(PTE_W);
  });

  it('deleting a slot zaps its mappings and flushes the TLBs', () => {
    const t = setup();
    const region = {
      slot: 0,
      flags: 0,
      guest_phys_addr: 0x8000_0000n,
      memory_size: 0x10000n,
      userspace_addr: BigInt(t.hva),
    };
    t.vm.setUserMemoryRegion(region);
    const mmu = mmuOf(t.vm);
    mmu.handleFault(0x8000_3000, false);
    const before = t.flushes();
    t.vm.setUserMemoryRegion({ ...region, memory_size: 0n });
    expect(mmu.gstage.getLeaf(0x8000_3000)).toBeUndefined();
    expect(t.flushes()).toBe(before + 1);
    expect(mmu.handleFault(0x8000_3000, false)).toBe('mmio');
  });
});
