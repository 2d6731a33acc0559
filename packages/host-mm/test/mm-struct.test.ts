import { describe, expect, it } from 'vitest';
import {
  HostPhysMemory,
  HPAGE_SIZE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  type MmapFile,
  MmStruct,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  VM_DONTEXPAND,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_IO,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  type VmArea,
} from '../src/index.ts';
import { PageTable, PTE_DENIED, PTE_NONE } from '../src/page-table.ts';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function setup(opts: ConstructorParameters<typeof MmStruct>[1] = {}) {
  const phys = new HostPhysMemory({ totalFrames: 1 << 16 });
  const mm = new MmStruct(phys, opts);
  return { phys, mm };
}

const snapshot = (mm: MmStruct) => ({
  vmas: mm.vmaList.map((v) => [v.start, v.end, v.flags, v.pgoff]),
  resident: mm.residentPages,
  locked: mm.lockedVm,
  allocated: mm.phys.allocatedFrames,
});

describe('mmap', () => {
  it('maps anonymous memory lazily and faults pages in on access', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ length: 4 * 2 ** 30, prot: RW, flags: ANON });
    expect(a % PAGE_SIZE).toBe(0);
    expect(phys.allocatedFrames).toBe(0);
    expect(mm.residentPages).toBe(0);
    mm.copyToUser(a + 2 ** 31 + 10, Uint8Array.of(7, 8));
    expect(phys.allocatedFrames).toBe(1);
    const out = new Uint8Array(2);
    mm.copyFromUser(a + 2 ** 31 + 10, out);
    expect([...out]).toEqual([7, 8]);
    const pfn = mm.hvaToPfn(a + 2 ** 31, false);
    expect(phys.frame(pfn)[10]).toBe(7);
  });

  it('places mappings top-down without overlap and honours a free hint', () => {
    const { mm } = setup();
    const a = mm.mmap({ length: 3 * PAGE_SIZE, prot: RW, flags: ANON });
    const b = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON });
    expect(b + PAGE_SIZE).toBeLessThanOrEqual(a);
    const c = mm.mmap({ addr: 0x4000_0000, length: PAGE_SIZE, prot: RW, flags: ANON });
    expect(c).toBe(0x4000_0000);
    // An occupied hint is only a hint.
    const d = mm.mmap({ addr: 0x4000_0000, length: PAGE_SIZE, prot: RW, flags: ANON });
    expect(d).not.toBe(0x4000_0000);
  });

  it('errors as mmap(2), leaving the address space unchanged', () => {
    const { mm } = setup({ rlimitMemlock: PAGE_SIZE });
    mm.mmap({ addr: 0x10_0000, length: PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED });
    const before = snapshot(mm);
    const cases: [Parameters<MmStruct['mmap']>[0], string][] = [
      [{ length: 0, prot: RW, flags: ANON }, 'EINVAL'],
      [{ length: PAGE_SIZE, prot: RW, flags: MAP_ANONYMOUS }, 'EINVAL'],
      [{ length: PAGE_SIZE, prot: 8, flags: ANON }, 'EINVAL'],
      [{ length: PAGE_SIZE, prot: RW, flags: MAP_PRIVATE }, 'EBADF'],
      [{ addr: 0x10_0800, length: PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED }, 'EINVAL'],
      [{ addr: 0x20_1000, length: HPAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED | MAP_HUGETLB }, 'EINVAL'],
      [{ addr: 0x10_0000, length: PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED_NOREPLACE }, 'EEXIST'],
      [{ addr: 2 ** 47 - PAGE_SIZE, length: 2 * PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED }, 'ENOMEM'],
      [{ length: 2 ** 48, prot: RW, flags: ANON }, 'ENOMEM'],
      [{ addr: 0x1000, length: PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED }, 'EPERM'],
      [{ length: 2 * PAGE_SIZE, prot: RW, flags: ANON | MAP_LOCKED }, 'EAGAIN'],
      [{ length: PAGE_SIZE, prot: RW, flags: MAP_PRIVATE, offset: 100, file: { mmap() {} } }, 'EINVAL'],
      [
        {
          length: PAGE_SIZE,
          prot: RW,
          flags: MAP_SHARED,
          file: {
            mmap() {
              throw Object.assign(new Error('x'), { code: 'EINVAL' });
            },
          },
        },
        'EINVAL',
      ],
    ];
    for (const [args, code] of cases) {
      expect(() => mm.mmap(args), JSON.stringify(args)).toThrow(expect.objectContaining({ code }));
      expect(snapshot(mm)).toEqual(before);
    }
  });

  it('ENOMEM at vm.max_map_count', () => {
    const { mm } = setup({ maxMapCount: 2 });
    mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON });
    mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON });
    expect(() => mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON })).toThrow(
      expect.objectContaining({ code: 'ENOMEM' }),
    );
  });

  it('MAP_FIXED replaces what was there, telling notifiers and freeing the old pages', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ addr: 0x100_0000, length: 4 * PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED });
    mm.copyToUser(a + PAGE_SIZE, Uint8Array.of(1));
    const seen: [number, number][] = [];
    mm.registerMmuNotifier({ invalidateRange: (s, e) => seen.push([s, e]) });
    mm.mmap({ addr: a + PAGE_SIZE, length: PAGE_SIZE, prot: PROT_READ, flags: ANON | MAP_FIXED });
    expect(seen).toEqual([[a + PAGE_SIZE, a + 2 * PAGE_SIZE]]);
    expect(phys.allocatedFrames).toBe(0);
    expect(mm.vmaList.map((v) => [v.start - a, v.end - a])).toEqual([
      [0, PAGE_SIZE],
      [PAGE_SIZE, 2 * PAGE_SIZE],
      [2 * PAGE_SIZE, 4 * PAGE_SIZE],
    ]);
    const out = new Uint8Array(1);
    mm.copyFromUser(a + PAGE_SIZE, out);
    expect(out[0]).toBe(0);
  });

  it('MAP_HUGETLB maps naturally aligned 2 MiB frames', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ length: 3 * PAGE_SIZE, prot: RW, flags: ANON | MAP_HUGETLB });
    expect(a % HPAGE_SIZE).toBe(0);
    const v = mm.findVma(a)!;
    expect(v.length).toBe(HPAGE_SIZE);
    expect(v.flags & VM_HUGETLB).toBe(VM_HUGETLB);
    expect(v.pageSize).toBe(HPAGE_SIZE);
    const pfn = mm.hvaToPfn(a + 5 * PAGE_SIZE, true);
    expect((pfn - 5) % 512).toBe(0);
    expect(phys.allocatedFrames).toBe(512);
    expect(mm.hvaToPfn(a + 511 * PAGE_SIZE, false)).toBe(pfn - 5 + 511);
  });

  it('MAP_LOCKED charges locked_vm and populates; munmap uncharges', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW, flags: ANON | MAP_LOCKED });
    expect(mm.lockedVm).toBe(4);
    expect(phys.allocatedFrames).toBe(4);
    mm.munmap(a, PAGE_SIZE);
    expect(mm.lockedVm).toBe(3);
  });
});

describe('munmap', () => {
  it('splits vmas for a partial unmap, as __split_vma()', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ addr: 0x100_0000, length: 8 * PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED });
    for (let i = 0; i < 8; i++) mm.hvaToPfn(a + i * PAGE_SIZE, true);
    expect(phys.allocatedFrames).toBe(8);
    mm.munmap(a + 2 * PAGE_SIZE, 3 * PAGE_SIZE);
    expect(mm.vmaList.map((v) => [v.start - a, v.end - a, v.pgoff])).toEqual([
      [0, 2 * PAGE_SIZE, a / PAGE_SIZE],
      [5 * PAGE_SIZE, 8 * PAGE_SIZE, a / PAGE_SIZE + 5],
    ]);
    expect(phys.allocatedFrames).toBe(5);
    expect(mm.residentPages).toBe(5);
    expect(() => mm.hvaToPfn(a + 3 * PAGE_SIZE, false)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    // Unmapping across a hole and two vmas, with a length that is rounded up.
    mm.munmap(a + PAGE_SIZE, 5 * PAGE_SIZE + 1);
    expect(mm.vmaList.map((v) => [v.start - a, v.end - a])).toEqual([
      [0, PAGE_SIZE],
      [7 * PAGE_SIZE, 8 * PAGE_SIZE],
    ]);
    expect(phys.allocatedFrames).toBe(2);
  });

  it('errors as munmap(2), leaving everything unchanged', () => {
    const { mm } = setup({ maxMapCount: 2 });
    const h = mm.mmap({ length: 2 * HPAGE_SIZE, prot: RW, flags: ANON | MAP_HUGETLB });
    mm.hvaToPfn(h, true);
    const before = snapshot(mm);
    expect(() => mm.munmap(h + 1, PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => mm.munmap(h, 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => mm.munmap(2 ** 47, PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => mm.munmap(h + PAGE_SIZE, PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => mm.munmap(h, PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(snapshot(mm)).toEqual(before);
    const a = mm.mmap({ length: 3 * PAGE_SIZE, prot: RW, flags: ANON });
    const before2 = snapshot(mm);
    expect(() => mm.munmap(a + PAGE_SIZE, PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(snapshot(mm)).toEqual(before2);
    // Nothing mapped there: success, as the kernel.
    mm.munmap(0x10_0000, PAGE_SIZE);
    // A whole huge page at a time is fine.
    mm.munmap(h + HPAGE_SIZE, HPAGE_SIZE);
    expect(mm.findVma(h)!.length).toBe(HPAGE_SIZE);
  });

  it('calls MMU notifiers before the pages go; unregistered ones are not called', () => {
    const { mm } = setup();
    const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: ANON });
    mm.hvaToPfn(a, true);
    const seen: unknown[] = [];
    const n = { invalidateRange: (s: number, e: number) => seen.push([s, e, mm.pteOf(a)]) };
    mm.registerMmuNotifier(n);
    mm.munmap(a, PAGE_SIZE);
    expect(seen).toEqual([[a, a + PAGE_SIZE, expect.any(Number)]]);
    mm.unregisterMmuNotifier(n);
    mm.munmap(a + PAGE_SIZE, PAGE_SIZE);
    expect(seen).toHaveLength(1);
  });
});

describe('mprotect', () => {
  it('changes protection on part of a mapping and notifies', () => {
    const { mm } = setup();
    const a = mm.mmap({ length: 3 * PAGE_SIZE, prot: RW, flags: ANON });
    const seen: number[][] = [];
    mm.registerMmuNotifier({ invalidateRange: (s, e) => seen.push([s, e]) });
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ);
    expect(seen).toEqual([[a + PAGE_SIZE, a + 2 * PAGE_SIZE]]);
    expect(mm.vmaList).toHaveLength(3);
    expect(() => mm.copyToUser(a + PAGE_SIZE, Uint8Array.of(1))).toThrow(
      expect.objectContaining({ code: 'EFAULT' }),
    );
    mm.copyToUser(a, Uint8Array.of(1));
  });

  it('errors: EINVAL, ENOMEM on a hole, EACCES without VM_MAYWRITE; nothing changes', () => {
    const { mm } = setup();
    const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: ANON });
    const ro = mm.mmap({
      length: PAGE_SIZE,
      prot: PROT_READ,
      flags: MAP_SHARED,
      file: {
        mmap(v) {
          v.flags &= ~VM_MAYWRITE;
          v.ops = { fault: () => 3 };
        },
      },
    });
    const before = snapshot(mm);
    expect(() => mm.mprotect(a + 1, PAGE_SIZE, PROT_READ)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => mm.mprotect(a, PAGE_SIZE, 0x10)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => mm.mprotect(a, 3 * PAGE_SIZE, PROT_READ)).toThrow(
      expect.objectContaining({ code: 'ENOMEM' }),
    );
    expect(() => mm.mprotect(ro, PAGE_SIZE, RW)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(snapshot(mm)).toEqual(before);
  });
});

describe('device mappings (VM_PFNMAP)', () => {
  function barFile(phys: HostPhysMemory, base: number, calls: number[]): MmapFile {
    return {
      mmap(vma: VmArea) {
        vma.flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND;
        vma.ops = {
          fault(_v, pgoff) {
            calls.push(pgoff);
            if (pgoff >= 4) throw new Error('beyond the BAR');
            return base + pgoff;
          },
        };
        void phys;
      },
    };
  }

  it('translates through the fault handler, never vm_pgoff as a pfn', () => {
    const { phys, mm } = setup();
    const bar = phys.allocContiguous(4);
    const calls: number[] = [];
    const a = mm.mmap({
      length: 8 * PAGE_SIZE,
      prot: RW,
      flags: MAP_SHARED,
      file: barFile(phys, bar, calls),
      offset: 2 * PAGE_SIZE,
    });
    expect(mm.findVma(a)!.flags & VM_PFNMAP).toBe(VM_PFNMAP);
    // page 1 of the mapping is page 3 of the file
    expect(mm.hvaToPfn(a + PAGE_SIZE, true)).toBe(bar + 3);
    expect(calls).toEqual([3]);
    expect(mm.hvaToPfn(a + PAGE_SIZE, false)).toBe(bar + 3);
    expect(calls).toEqual([3]);
    expect(() => mm.hvaToPfn(a + 2 * PAGE_SIZE, false)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(mm.followPfn(a, false)).toBe(bar + 2);
    // A PFNMAP pfn is not refcounted by the mapping; munmap leaves the device's frames alone.
    expect(phys.refCount(bar + 3)).toBe(1);
    mm.munmap(a, 8 * PAGE_SIZE);
    expect(phys.refCount(bar + 3)).toBe(1);
  });

  it('pin_user_pages refuses VM_PFNMAP; followPfn refuses normal memory', () => {
    const { phys, mm } = setup();
    const bar = phys.allocContiguous(4);
    const a = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW, flags: MAP_SHARED, file: barFile(phys, bar, []) });
    expect(() => mm.pinUserPages(a, 1, true)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(phys.pinnedFrames).toBe(0);
    const b = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON });
    expect(() => mm.followPfn(b, false)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
  });
});

describe('pinning and locked memory', () => {
  it('pins pages; a pinned page outlives munmap and is freed on the last unpin', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ length: 4 * PAGE_SIZE, prot: RW, flags: ANON });
    mm.copyToUser(a + PAGE_SIZE, Uint8Array.of(42));
    const pfns = mm.pinUserPages(a, 2, true);
    const again = mm.pinUserPages(a + PAGE_SIZE, 1, false);
    expect(again[0]).toBe(pfns[1]);
    expect(phys.pinCount(pfns[1]!)).toBe(2);
    mm.munmap(a, 4 * PAGE_SIZE);
    expect(phys.allocatedFrames).toBe(2);
    // Not reused while pinned: a new mapping gets other frames.
    const b = mm.mmap({ length: PAGE_SIZE, prot: RW, flags: ANON });
    expect(pfns).not.toContain(mm.hvaToPfn(b, true));
    expect(phys.frame(pfns[1]!)[0]).toBe(42);
    mm.unpinUserPages(pfns);
    expect(phys.allocatedFrames).toBe(2);
    mm.unpinUserPages(again);
    expect(phys.allocatedFrames).toBe(1);
  });

  it('a failed pin leaves no pin (all or nothing); EFAULT on a hole or read-only page', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ addr: 0x100_0000, length: 2 * PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED });
    expect(() => mm.pinUserPages(a, 3, true)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(phys.pinnedFrames).toBe(0);
    const r = mm.mmap({ length: PAGE_SIZE, prot: PROT_READ, flags: ANON });
    expect(() => mm.pinUserPages(r, 1, true)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(mm.pinUserPages(r, 1, false)).toHaveLength(1);
    expect(() => mm.pinUserPages(a + 1, 1, true)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('unpin of a page not pinned enough is EINVAL and unpins nothing', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: ANON });
    const [p] = mm.pinUserPages(a, 1, true);
    expect(() => mm.unpinUserPages([p!, p!])).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(phys.pinCount(p!)).toBe(1);
  });

  it('RLIMIT_MEMLOCK: ENOMEM beyond the limit unless CAP_IPC_LOCK', () => {
    const { mm } = setup({ rlimitMemlock: 4 * PAGE_SIZE });
    mm.accountLockedVm(3, true);
    expect(() => mm.accountLockedVm(2, true)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(mm.lockedVm).toBe(3);
    mm.accountLockedVm(1, true);
    expect(mm.lockedVm).toBe(4);
    mm.capIpcLock = true;
    mm.accountLockedVm(100, true);
    expect(mm.lockedVm).toBe(104);
    mm.accountLockedVm(104, false);
    expect(mm.lockedVm).toBe(0);
    expect(() => mm.accountLockedVm(1, false)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    // A capability captured earlier by the caller decides, not the mm's current one.
    mm.capIpcLock = false;
    mm.accountLockedVm(10, true, true);
    expect(mm.lockedVm).toBe(10);
    mm.capIpcLock = true;
    expect(() => mm.accountLockedVm(1, true, false)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(mm.lockedVm).toBe(10);
  });

  it('copy_to_user/copy_from_user fault across pages and copy nothing on EFAULT', () => {
    const { mm } = setup();
    const a = mm.mmap({ addr: 0x100_0000, length: PAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED });
    expect(() => mm.copyToUser(a + PAGE_SIZE - 2, Uint8Array.of(1, 2, 3, 4))).toThrow(
      expect.objectContaining({ code: 'EFAULT' }),
    );
    const out = new Uint8Array(2);
    mm.copyFromUser(a + PAGE_SIZE - 2, out);
    expect([...out]).toEqual([0, 0]);
  });

  it('exitMmap releases notifiers and frees every page', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({ length: 2 * PAGE_SIZE, prot: RW, flags: ANON });
    mm.hvaToPfn(a, true);
    let released = 0;
    mm.registerMmuNotifier({ invalidateRange() {}, release: () => released++ });
    mm.exitMmap();
    expect(released).toBe(1);
    expect(mm.mapCount).toBe(0);
    expect(phys.allocatedFrames).toBe(0);
  });
});

describe('PageTable', () => {
  it('agrees with a Map model over sets, deletes, protection changes and range clears', () => {
    let seed = 5;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const pt = new PageTable();
    const model = new Map<number, [pfn: number, prot: number]>();
    const base = 2 ** 34; // vpns of a high 47-bit address
    for (let step = 0; step < 5000; step++) {
      const vpn = base + (rnd() % 5000);
      const op = rnd() % 12;
      if (op < 6) {
        const pfn = rnd() % (2 ** 32 - 1);
        const prot = rnd() & 0x1f;
        pt.set(vpn, pfn, prot);
        model.set(vpn, [pfn, prot]);
      } else if (op < 9) {
        pt.delete(vpn);
        model.delete(vpn);
      } else if (op < 10) {
        const end = vpn + (rnd() % 1500);
        pt.changeProtRange(vpn, end, (p) => p ^ 0x2);
        for (const [v, e] of model) if (v >= vpn && v < end) e[1] ^= 0x2;
      } else {
        const end = vpn + (rnd() % 1500);
        const got: [number, number][] = [];
        pt.clearRange(vpn, end, (v, p) => got.push([v, p]));
        const want = [...model]
          .filter(([v]) => v >= vpn && v < end)
          .map(([v, e]) => [v, e[0]])
          .sort((a, b) => a[0]! - b[0]!);
        for (const [v] of want) model.delete(v!);
        expect(got.sort((a, b) => a[0] - b[0])).toEqual(want);
      }
      const m = model.get(vpn);
      expect(pt.get(vpn)).toBe(m?.[0]);
      expect(pt.protOf(vpn)).toBe(m?.[1]);
      const need = rnd() & 0x3;
      expect(pt.lookup(vpn, need)).toBe(
        m === undefined ? PTE_NONE : (m[1] & need) === need ? m[0] : PTE_DENIED,
      );
      expect(pt.size).toBe(model.size);
    }
  });
});

describe('transparent huge pages (madvise MADV_HUGEPAGE)', () => {
  it('a fault in a whole 2 MiB block gets an aligned 2 MiB run; partial munmap splits it', () => {
    const { phys, mm } = setup();
    const a = mm.mmap({
      addr: 0x4000_0000,
      length: 2 * HPAGE_SIZE + PAGE_SIZE,
      prot: RW,
      flags: ANON | MAP_FIXED,
    });
    mm.madvise(a, 2 * HPAGE_SIZE + PAGE_SIZE, MADV_HUGEPAGE);
    expect(mm.findVma(a)!.flags & VM_HUGEPAGE).toBe(VM_HUGEPAGE);
    const pfn = mm.hvaToPfn(a + 3 * PAGE_SIZE, true);
    expect((pfn - 3) % 512).toBe(0);
    expect(phys.allocatedFrames).toBe(512);
    expect(mm.pageSizeAt(a + 100 * PAGE_SIZE)).toBe(HPAGE_SIZE);
    // The tail page is outside any whole block: a 4 KiB page.
    mm.hvaToPfn(a + 2 * HPAGE_SIZE, true);
    expect(mm.pageSizeAt(a + 2 * HPAGE_SIZE)).toBe(PAGE_SIZE);
    expect(mm.pageSizeAt(a + HPAGE_SIZE)).toBe(0);
    // Unmapping one page of the huge page splits it; the rest keep their frames.
    mm.munmap(a + 10 * PAGE_SIZE, PAGE_SIZE);
    expect(mm.pageSizeAt(a)).toBe(PAGE_SIZE);
    expect(mm.hvaToPfn(a + 11 * PAGE_SIZE, false)).toBe(pfn - 3 + 11);
    expect(phys.allocatedFrames).toBe(512);
  });

  it('no THP without the advice, after MADV_NOHUGEPAGE, or where 4 KiB pages already sit', () => {
    const { mm } = setup();
    const a = mm.mmap({ addr: 0x4000_0000, length: 2 * HPAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED });
    mm.hvaToPfn(a, true);
    expect(mm.pageSizeAt(a)).toBe(PAGE_SIZE);
    mm.madvise(a, 2 * HPAGE_SIZE, MADV_HUGEPAGE);
    mm.hvaToPfn(a + PAGE_SIZE, true);
    expect(mm.pageSizeAt(a + PAGE_SIZE)).toBe(PAGE_SIZE);
    mm.madvise(a + HPAGE_SIZE, HPAGE_SIZE, MADV_NOHUGEPAGE);
    expect(mm.vmaList).toHaveLength(2);
    expect(mm.findVma(a + HPAGE_SIZE)!.flags & VM_NOHUGEPAGE).toBe(VM_NOHUGEPAGE);
    mm.hvaToPfn(a + HPAGE_SIZE, true);
    expect(mm.pageSizeAt(a + HPAGE_SIZE)).toBe(PAGE_SIZE);
  });

  it('madvise errors: EINVAL misaligned or unknown advice, ENOMEM over a hole; nothing changes', () => {
    const { mm } = setup();
    const a = mm.mmap({ addr: 0x4000_0000, length: HPAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED });
    const before = snapshot(mm);
    expect(() => mm.madvise(a + 1, PAGE_SIZE, MADV_HUGEPAGE)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => mm.madvise(a, PAGE_SIZE, 4)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => mm.madvise(a, 2 * HPAGE_SIZE, MADV_HUGEPAGE)).toThrow(
      expect.objectContaining({ code: 'ENOMEM' }),
    );
    expect(snapshot(mm)).toEqual(before);
  });

  it('mprotect through part of a huge page splits it', () => {
    const { mm } = setup();
    const a = mm.mmap({ addr: 0x4000_0000, length: HPAGE_SIZE, prot: RW, flags: ANON | MAP_FIXED });
    mm.madvise(a, HPAGE_SIZE, MADV_HUGEPAGE);
    mm.hvaToPfn(a, true);
    expect(mm.pageSizeAt(a)).toBe(HPAGE_SIZE);
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ);
    expect(mm.pageSizeAt(a)).toBe(PAGE_SIZE);
    expect(mm.pageSizeAt(a + HPAGE_SIZE - PAGE_SIZE)).toBe(PAGE_SIZE);
  });

  it('pageSizeAt reports 2 MiB inside hugetlb mappings', () => {
    const { mm } = setup();
    const h = mm.mmap({ length: HPAGE_SIZE, prot: RW, flags: ANON | MAP_HUGETLB });
    mm.hvaToPfn(h + PAGE_SIZE, true);
    expect(mm.pageSizeAt(h)).toBe(HPAGE_SIZE);
  });
});
