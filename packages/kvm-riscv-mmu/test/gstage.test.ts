import { HostPhysMemory } from '@tsvirt/host-mm';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  GStage,
  HGATP_MODE_SV39X4,
  HGATP_MODE_SV48X4,
  KvmMmuMemoryCache,
  PTE_A,
  PTE_D,
  PTE_R,
  PTE_U,
  PTE_V,
  PTE_W,
  PTE_X,
  VmidAllocator,
} from '../src/index.ts';

const MB2 = 2 ** 21;

function setup(mode = HGATP_MODE_SV39X4) {
  const phys = new HostPhysMemory({ totalFrames: 1 << 16 });
  const base = phys.allocatedFrames;
  const g = new GStage(phys, mode, 5);
  const cache = new KvmMmuMemoryCache(phys);
  cache.topup(g.levels - 1);
  return { phys, base, g, cache };
}

/** The raw 64-bit PTE the hart's walker would read for a leaf. */
function rawPte(phys: HostPhysMemory, pfn: number, idx: number): bigint {
  return new DataView(phys.frame(pfn).buffer, phys.frame(pfn).byteOffset).getBigUint64(idx * 8, true);
}

describe('GStage tables', () => {
  it('hgatp carries MODE, VMID and a 16 KiB-aligned root PPN', () => {
    for (const mode of [HGATP_MODE_SV39X4, HGATP_MODE_SV48X4]) {
      const { g } = setup(mode);
      expect(g.pgdPfn % 4).toBe(0);
      expect(g.hgatp).toBe((BigInt(mode) << 60n) | (5n << 44n) | BigInt(g.pgdPfn));
      expect(g.gpaBits).toBe(mode === HGATP_MODE_SV39X4 ? 41 : 50);
    }
  });

  it('a 4 KiB leaf has the real PTE format: PPN << 10 | V R W X U A D', () => {
    const { phys, g, cache } = setup();
    g.map(cache, 0x8000_3000, 0x1234, 4096, false);
    const leaf = g.getLeaf(0x8000_3abc)!;
    expect(leaf.level).toBe(0);
    expect(leaf.hpfn).toBe(0x1234);
    expect(leaf.flags).toBe(PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D);
    expect(rawPte(phys, leaf.pfn, leaf.idx)).toBe((0x1234n << 10n) | BigInt(leaf.flags));
    expect(g.tablePages).toBe(2); // Sv39x4: root -> level 1 -> level 0
  });

  it('read-only leaves have neither W nor D', () => {
    const { g, cache } = setup();
    g.map(cache, 0x8000_0000, 0x200, 4096, true);
    expect(g.getLeaf(0x8000_0000)!.flags & (PTE_W | PTE_D)).toBe(0);
  });

  it('EEXIST when a leaf sits above the target level; the table is unchanged', () => {
    const { g, cache } = setup();
    g.map(cache, 0x8020_0000, 0x400, MB2, false);
    const pages = g.tablePages;
    expect(() => g.map(cache, 0x8020_1000, 0x999, 4096, false)).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    expect(g.tablePages).toBe(pages);
    const leaf = g.getLeaf(0x8020_1000)!;
    expect(leaf.level).toBe(1);
    expect(leaf.hpfn).toBe(0x400);
  });

  it("EINVAL for a frame past the PTE's 44-bit PPN (it would map another frame)", () => {
    const { g, cache } = setup();
    expect(() => g.map(cache, 0x8000_0000, 2 ** 44, 4096, false)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => g.map(cache, 0x8000_0000, 2 ** 44 - 512, MB2, false)).not.toThrow();
    expect(() => g.map(cache, 0x8020_0000, 2 ** 44, MB2, false)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(g.getLeaf(0x8000_0000)!.hpfn).toBe(2 ** 44 - 512);
  });

  it('EINVAL for a misaligned block, an unknown size or a gpa past the guest space', () => {
    const { g, cache } = setup();
    expect(() => g.map(cache, 0x8000_1000, 0x400, MB2, false)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => g.map(cache, 0x8000_0000, 0x401, MB2, false)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => g.map(cache, 0x8000_0000, 1, 8192, false)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => g.map(cache, 2 ** 41, 1, 4096, false)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(g.tablePages).toBe(0);
  });

  it('unmap and write-protect act on whole leaves only, as the seed', () => {
    const { g, cache } = setup();
    g.map(cache, 0x8020_0000, 0x400, MB2, false);
    g.map(cache, 0x8000_0000, 0x10, 4096, false);
    g.map(cache, 0x8000_1000, 0x11, 4096, false);
    expect(g.unmapRange(0x8020_0000, 0x1000)).toBe(false); // part of the 2 MiB leaf: kept
    expect(g.getLeaf(0x8020_0000)).toBeDefined();
    expect(g.wpRange(0x8000_1000, 0x1000)).toBe(true);
    expect(g.getLeaf(0x8000_1000)!.flags & PTE_W).toBe(0);
    expect(g.getLeaf(0x8000_0000)!.flags & PTE_W).toBe(PTE_W);
    expect(g.unmapRange(0x8000_0000, 0x40_0000)).toBe(true);
    expect(g.getLeaf(0x8000_0000)).toBeUndefined();
    expect(g.getLeaf(0x8020_0000)).toBeUndefined();
  });

  it('replacing a leaf asks for a TLB flush only when the frame moves or a permission goes', () => {
    const { g, cache } = setup();
    expect(g.map(cache, 0x8000_0000, 0x10, 4096, true)).toBe(false); // new
    expect(g.map(cache, 0x8000_0000, 0x10, 4096, false)).toBe(false); // RO -> RW, same frame
    expect(g.map(cache, 0x8000_0000, 0x10, 4096, true)).toBe(true); // W removed
    expect(g.map(cache, 0x8000_0000, 0x11, 4096, true)).toBe(true); // another frame
  });

  it('zapRange drops a huge leaf partly covered (for MMU-notifier invalidations)', () => {
    const { g, cache } = setup();
    g.map(cache, 0x8020_0000, 0x400, MB2, false);
    expect(g.zapRange(0x8020_3000, 0x1000)).toBe(true);
    expect(g.getLeaf(0x8020_0000)).toBeUndefined();
  });

  it('unmap, write-protect and zap of a range past the guest space are EINVAL and do not wrap to gpa 0', () => {
    const { g, cache } = setup();
    g.map(cache, 0, 100, 4096, false);
    for (const start of [g.gpaSize - 4096, g.gpaSize, -4096, 0.5]) {
      expect(errnoOf(() => g.zapRange(start, 8192))).toBe('EINVAL');
      expect(errnoOf(() => g.unmapRange(start, 8192))).toBe('EINVAL');
      expect(errnoOf(() => g.wpRange(start, 8192))).toBe('EINVAL');
    }
    const leaf = g.getLeaf(0)!;
    expect(leaf.hpfn).toBe(100);
    expect(leaf.flags & PTE_W).toBe(PTE_W);
    // The whole space is a valid range (flushShadowAll).
    expect(g.zapRange(0, g.gpaSize)).toBe(true);
    expect(g.getLeaf(0)).toBeUndefined();
  });

  it('free() returns every table page and the root', () => {
    const { phys, base, g, cache } = setup(HGATP_MODE_SV48X4);
    g.map(cache, 0x8000_0000, 0x10, 4096, false);
    g.map(cache, 0x80_0000_0000, 0x11, 4096, false); // another root entry: 3 more tables
    expect(g.tablePages).toBe(6);
    cache.free();
    g.free();
    expect(g.tablePages).toBe(0);
    expect(phys.allocatedFrames).toBe(base);
  });
});

describe('KvmMmuMemoryCache', () => {
  it('alloc without a top-up is ENOMEM; top-up past host memory is ENOMEM', () => {
    const phys = new HostPhysMemory({ totalFrames: 8 });
    const cache = new KvmMmuMemoryCache(phys, 4);
    expect(() => cache.alloc()).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    cache.topup(2);
    expect(cache.count).toBe(4);
    const other = new KvmMmuMemoryCache(phys, 8);
    expect(() => other.topup(5)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    cache.free();
    other.free();
    expect(phys.allocatedFrames).toBe(0);
  });
});

describe('VmidAllocator', () => {
  it('hands out 1.. and wraps past the 14-bit space with a new generation', () => {
    const a = new VmidAllocator(2);
    expect([a.alloc(), a.alloc(), a.alloc()]).toEqual([1, 2, 3]);
    expect(a.generation).toBe(1);
    expect(a.alloc()).toBe(1);
    expect(a.generation).toBe(2);
  });
});
