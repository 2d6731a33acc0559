import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import {
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_MEM_LOG_DIRTY_PAGES,
} from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import { GStage, HGATP_MODE_SV39X4, KvmMmuMemoryCache, PMD_SIZE, PTE_W, PUD_SIZE } from '../src/index.ts';
import { mmuOf, setup } from './setup.ts';

function gstage() {
  const phys = new HostPhysMemory({ totalFrames: 1 << 16 });
  const g = new GStage(phys, HGATP_MODE_SV39X4, 1);
  const cache = new KvmMmuMemoryCache(phys);
  // Leaf frames are never touched here, so any aligned pfn will do.
  const map = (gpa: number, size = 4096, hpfn = 0x1_0000 + ((gpa / 4096) % 0x8000)) => {
    cache.topup(g.levels - 1);
    g.map(cache, gpa, hpfn, size, false);
  };
  const writable = (gpa: number) => (g.getLeaf(gpa)!.flags & PTE_W) !== 0;
  return { phys, g, cache, map, writable };
}

describe('GStage.wpPtMasked (kvm_riscv_gstage_wp_pt_masked)', () => {
  it('write-protects exactly the pages of the set bits, across two leaf tables, and says so', () => {
    const { g, map, writable } = gstage();
    // 64 pages from gfn 0x801f0: bits 0-15 in one 2 MiB block, 16-63 in the next.
    const base = 0x801f0;
    for (let i = 0; i < 64; i++) map((base + i) * 4096);
    const set = [0, 5, 15, 16, 40, 63];
    let lo = 0;
    let hi = 0;
    for (const b of set) {
      if (b < 32) lo |= 1 << b;
      else hi |= 1 << (b - 32);
    }
    expect(g.wpPtMasked(base, lo >>> 0, hi >>> 0)).toEqual({ changed: true, huge: false });
    for (let i = 0; i < 64; i++) expect([i, writable((base + i) * 4096)]).toEqual([i, !set.includes(i)]);
    // Done again, nothing changes any more.
    expect(g.wpPtMasked(base, lo >>> 0, hi >>> 0).changed).toBe(false);
  });

  it('skips bits over unmapped 2 MiB and 1 GiB regions without building tables', () => {
    const { g, map, writable } = gstage();
    // gfn 0x801e0..0x8021f: the first 2 MiB block has no leaf table, the second has one page.
    map(0x8020_8000);
    const tables = g.tablePages;
    expect(g.wpPtMasked(0x801e0, 0xffff_ffff, 0xffff_ffff)).toEqual({ changed: true, huge: false });
    expect(writable(0x8020_8000)).toBe(false);
    // A whole 1 GiB region with nothing in it (no level-1 table either).
    expect(g.wpPtMasked(0x40000, 0xffff_ffff, 0xffff_ffff)).toEqual({ changed: false, huge: false });
    expect(g.getLeaf(0x4000_0000)).toBeUndefined();
    expect(g.tablePages).toBe(tables);
  });

  it('write-protects a 2 MiB leaf under a set bit whole, leaving it a block', () => {
    const { g, map, writable } = gstage();
    map(0x8020_0000, PMD_SIZE);
    map(0x8040_0000);
    map(0x8040_1000);
    // From gfn 0x803e0: bit 0 lies in the block, bit 32 is the page at 0x8040_0000.
    expect(g.wpPtMasked(0x803e0, 1, 1)).toEqual({ changed: true, huge: true });
    expect(g.getLeaf(0x8030_0000)!.level).toBe(1);
    expect(writable(0x8030_0000)).toBe(false);
    expect(writable(0x8040_0000)).toBe(false);
    expect(writable(0x8040_1000)).toBe(true);
    // Already protected: a bit in it changes nothing but still reports the block.
    expect(g.wpPtMasked(0x80240, 1 << 3, 0)).toEqual({ changed: false, huge: true });
  });
});

describe('GStage.splitHuge (kvm_riscv_gstage_split_huge)', () => {
  it('splits a 1 GiB leaf down to the page, keeping frames and permissions', () => {
    const { g, cache, map } = gstage();
    const whole = 0x4_0000;
    map(0x8000_0000, PUD_SIZE, whole);
    g.wpPtMasked(0x80000, 1, 0);
    const tables = g.tablePages;
    cache.topup(g.levels);
    expect(g.splitHuge(cache, 0x8020_3000, 0)).toBe(true);
    expect(g.tablePages).toBe(tables + 2);
    const page = g.getLeaf(0x8020_3000)!;
    const block = g.getLeaf(0x8060_0000)!;
    expect([page.level, page.hpfn, page.flags & PTE_W]).toEqual([0, whole + 0x203, 0]);
    expect([block.level, block.hpfn, block.flags & PTE_W]).toEqual([1, whole + 0x600, 0]);
    // Nothing left to split there; nothing mapped elsewhere.
    expect(g.splitHuge(cache, 0x8020_3000, 0)).toBe(false);
    expect(g.splitHuge(cache, 0x1_0000_0000, 0)).toBe(false);
  });

  it('with an empty cache splits nothing', () => {
    const { g, cache, map } = gstage();
    map(0x8020_0000, PMD_SIZE);
    cache.free();
    expect(g.splitHuge(cache, 0x8020_0000, 0)).toBe(false);
    expect(g.getLeaf(0x8020_0000)!.level).toBe(1);
  });
});

/** A 2 MiB hugetlb slot with one 2 MiB writable leaf mapped by a write fault. */
function hugeSlot(initiallySet: boolean) {
  const t = setup();
  if (initiallySet)
    t.vm.enableCap({
      cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
      flags: 0,
      args: [BigInt(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)],
    });
  const hva = t.mm.mmap({
    length: PMD_SIZE,
    prot: PROT_READ | PROT_WRITE,
    flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
  });
  const region = {
    slot: 1,
    flags: 0,
    guest_phys_addr: 0x8020_0000n,
    memory_size: BigInt(PMD_SIZE),
    userspace_addr: BigInt(hva),
  };
  t.vm.setUserMemoryRegion(region);
  const mmu = mmuOf(t.vm);
  mmu.handleFault(0x8020_0000, true);
  expect(mmu.gstage.getLeaf(0x8020_0000)!.level).toBe(1);
  const log = () => {
    t.vm.setUserMemoryRegion({ ...region, flags: KVM_MEM_LOG_DIRTY_PAGES });
  };
  return { t, mmu, log, region };
}

describe('dirty logging over a huge mapping', () => {
  it('switched on without INITIALLY_SET: the block loses W and is split to 4 KiB pages', () => {
    const { t, mmu, log } = hugeSlot(false);
    const flushes = t.flushes();
    log();
    expect(t.flushes()).toBe(flushes + 1);
    for (const gpa of [0x8020_0000, 0x8030_5000, 0x803f_f000]) {
      const leaf = mmu.gstage.getLeaf(gpa)!;
      expect([leaf.level, leaf.flags & PTE_W]).toEqual([0, 0]);
    }
    // A write faults small and is logged.
    expect(mmu.handleFault(0x8030_5000, true)).toBe('mapped');
    expect(mmu.gstage.getLeaf(0x8030_5000)!.flags & PTE_W).toBe(PTE_W);
    const bm = { slot: 1, dirty_bitmap: undefined as Uint8Array | undefined };
    t.vm.getDirtyLog(bm);
    expect(bm.dirty_bitmap![0x105 >> 3]).toBe(1 << (0x105 & 7));
  });

  it('with INITIALLY_SET: nothing changes until KVM_CLEAR_DIRTY_LOG, which protects the block and splits it', () => {
    const { t, mmu, log } = hugeSlot(true);
    log();
    expect(mmu.gstage.getLeaf(0x8020_0000)!.level).toBe(1);
    expect(mmu.gstage.getLeaf(0x8020_0000)!.flags & PTE_W).toBe(PTE_W);
    const flushes = t.flushes();
    // Clear bits 2 and 9 of pages 64-127.
    const bitmap = new Uint8Array(8);
    bitmap[0] = 1 << 2;
    bitmap[1] = 1 << 1;
    t.vm.clearDirtyLog({ slot: 1, first_page: 64n, num_pages: 64, dirty_bitmap: bitmap });
    expect(t.flushes()).toBe(flushes + 1);
    for (const gpa of [0x8020_0000, 0x8026_2000, 0x8026_9000, 0x803f_f000]) {
      const leaf = mmu.gstage.getLeaf(gpa)!;
      expect([gpa, leaf.level, leaf.flags & PTE_W]).toEqual([gpa, 0, 0]);
    }
  });

  it('logging switched off again (a cancelled migration): a fault under the split block maps the block back whole', () => {
    const { t, mmu, log, region } = hugeSlot(false);
    const g = mmu.gstage;
    const hpfn = g.getLeaf(0x8020_0000)!.hpfn;
    log();
    expect(g.getLeaf(0x8030_5000)!.level).toBe(0);
    const tables = g.tablePages;
    t.vm.setUserMemoryRegion(region);
    const flushes = t.flushes();
    expect(mmu.handleFault(0x8030_5000, true)).toBe('mapped');
    // The 4 KiB table gives way to the block over the same frames (its page freed), and the
    // 4 KiB translations a TLB may hold are flushed.
    const leaf = g.getLeaf(0x8030_5000)!;
    expect([leaf.level, leaf.hpfn, leaf.flags & PTE_W]).toEqual([1, hpfn, PTE_W]);
    expect(g.tablePages).toBe(tables - 1);
    expect(t.flushes()).toBe(flushes + 1);
  });

  it('a write fault under a write-protected block splits it and maps the page writable', () => {
    const { t, mmu, log } = hugeSlot(true);
    const g = mmu.gstage;
    const hpfn = g.getLeaf(0x8020_0000)!.hpfn;
    log();
    // Protected whole but not split, as a clear finds it when no page is left for the split.
    g.wpPtMasked(0x80200, 1, 0);
    const flushes = t.flushes();
    expect(mmu.handleFault(0x8021_0000, true)).toBe('mapped');
    expect(t.flushes()).toBe(flushes + 1);
    const page = g.getLeaf(0x8021_0000)!;
    expect([page.level, page.hpfn, page.flags & PTE_W]).toEqual([0, hpfn + 0x10, PTE_W]);
    const other = g.getLeaf(0x8022_0000)!;
    expect([other.level, other.hpfn, other.flags & PTE_W]).toEqual([0, hpfn + 0x20, 0]);
  });
});
