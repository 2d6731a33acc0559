import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MmStruct,
  PAGE_SIZE,
  type Pgprot,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  pgprotNoncached,
  pgprotWritecombine,
  VM_IO,
  VM_PFNMAP,
  type VmArea,
  type VmOperations,
} from '../src/index.ts';

const RW = PROT_READ | PROT_WRITE;
const P = PAGE_SIZE;

/** A device whose mmap makes a VM_PFNMAP|VM_IO vma; `ops` fills in its vm_ops. */
function device(ops: (vma: VmArea) => Partial<VmOperations> = () => ({})) {
  return {
    mmap(vma: VmArea) {
      vma.flags |= VM_PFNMAP | VM_IO;
      vma.ops = { fault: () => -1, ...ops(vma) };
    },
  };
}

function setup() {
  const phys = new HostPhysMemory({ totalFrames: 4096 });
  const mm = new MmStruct(phys);
  const bar = phys.allocContiguous(16);
  return { phys, mm, bar };
}

function mapDevice(mm: MmStruct, pages: number, ops?: (vma: VmArea) => Partial<VmOperations>, prot = RW) {
  const hva = mm.mmap({ length: pages * P, prot, flags: MAP_SHARED, file: device(ops) });
  return { hva, vma: mm.findVma(hva)! };
}

/** Everything remap_pfn_range may touch, to check that a refusal changed nothing. */
const snap = (mm: MmStruct, vma: VmArea) => ({
  resident: mm.residentPages,
  ptes: Array.from({ length: vma.length / P }, (_, k) => [
    mm.pteOf(vma.start + k * P),
    mm.pteProtOf(vma.start + k * P),
  ]),
  pgoff: vma.pgoff,
});

describe('remap_pfn_range', () => {
  it('installs every entry of the range in one call, with its pfn and protection', () => {
    const { mm, bar } = setup();
    let faults = 0;
    const { hva, vma } = mapDevice(mm, 8, () => ({ fault: () => ++faults && -1 }));
    const seen: number[][] = [];
    mm.registerMmuNotifier({ invalidateRange: (s, e) => seen.push([s, e]) });
    mm.remapPfnRange(vma, hva + 2 * P, bar, 4 * P, pgprotWritecombine({ access: RW, cache: 'wb' }));
    expect(mm.residentPages).toBe(4);
    for (let k = 0; k < 4; k++) {
      expect(mm.pteOf(hva + (2 + k) * P)).toBe(bar + k);
      expect(mm.pteProtOf(hva + (2 + k) * P)).toEqual({ access: RW, cache: 'wc' });
      expect(mm.hvaToPfn(hva + (2 + k) * P + 8, true)).toBe(bar + k);
    }
    expect(mm.pteOf(hva + P)).toBeUndefined();
    expect(faults).toBe(0);
    expect(seen).toEqual([]); // new entries replace nothing
  });

  it('rounds the size up to whole pages, as PAGE_ALIGN(size)', () => {
    const { mm, bar } = setup();
    const { hva, vma } = mapDevice(mm, 2);
    mm.remapPfnRange(vma, hva, bar, 1, { access: PROT_READ, cache: 'uc' });
    expect(mm.residentPages).toBe(1);
    expect(mm.pteProtOf(hva)).toEqual({ access: PROT_READ, cache: 'uc' });
  });

  it('stores write-only as read-write (no MMU expresses W without R) and keeps exec', () => {
    const { mm, bar } = setup();
    const { hva, vma } = mapDevice(mm, 2, undefined, RW | PROT_EXEC);
    mm.remapPfnRange(vma, hva, bar, 2 * P, { access: PROT_WRITE | PROT_EXEC, cache: 'wb' });
    expect(mm.pteProtOf(hva)).toEqual({ access: RW | PROT_EXEC, cache: 'wb' });
  });

  it('from a fault handler: one handler call maps the whole range; the entries it made win over its return', () => {
    const { mm, bar } = setup();
    const calls: number[] = [];
    const { hva } = mapDevice(mm, 8, () => ({
      fault(v, pgoff) {
        calls.push(pgoff);
        v.mm!.remapPfnRange(v, v.start, bar, 8 * P, pgprotNoncached({ access: PROT_READ, cache: 'wb' }));
        return bar + pgoff - v.pgoff;
      },
    }));
    for (let k = 0; k < 8; k++) expect(mm.hvaToPfn(hva + k * P, false)).toBe(bar + k);
    expect(calls).toHaveLength(1);
    expect(mm.pteProtOf(hva + 7 * P)).toEqual({ access: PROT_READ, cache: 'uc' });
  });

  describe('refusals leave the page table and the vma as they were', () => {
    const RO: Pgprot = { access: PROT_READ, cache: 'uc' };

    it('EINVAL for a misaligned address or an empty or non-integer size', () => {
      const { mm, bar } = setup();
      const { hva, vma } = mapDevice(mm, 4);
      const before = snap(mm, vma);
      expect(errnoOf(() => mm.remapPfnRange(vma, hva + 8, bar, P, RO))).toBe('EINVAL');
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, bar, 0, RO))).toBe('EINVAL');
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, bar, -P, RO))).toBe('EINVAL');
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, bar, 1.5, RO))).toBe('EINVAL');
      expect(snap(mm, vma)).toEqual(before);
    });

    it('EINVAL for a range reaching outside the vma, on either side', () => {
      const { mm, bar } = setup();
      const { hva, vma } = mapDevice(mm, 4);
      const before = snap(mm, vma);
      expect(errnoOf(() => mm.remapPfnRange(vma, hva - P, bar, 2 * P, RO))).toBe('EINVAL');
      expect(errnoOf(() => mm.remapPfnRange(vma, hva + 3 * P, bar, 2 * P, RO))).toBe('EINVAL');
      expect(snap(mm, vma)).toEqual(before);
    });

    it('EINVAL for a vma that is not VM_PFNMAP|VM_IO, unmapped, or of another mm', () => {
      const { phys, mm, bar } = setup();
      const anon = mm.mmap({ length: 2 * P, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
      const anonVma = mm.findVma(anon)!;
      expect(errnoOf(() => mm.remapPfnRange(anonVma, anon, bar, P, RO))).toBe('EINVAL');
      expect(mm.residentPages).toBe(0);
      const { hva, vma } = mapDevice(mm, 2);
      const other = new MmStruct(phys);
      expect(errnoOf(() => other.remapPfnRange(vma, hva, bar, P, RO))).toBe('EINVAL');
      mm.munmap(hva, 2 * P);
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, bar, P, RO))).toBe('EINVAL');
      expect(mm.residentPages).toBe(0);
      expect(other.residentPages).toBe(0);
    });

    it('EINVAL for frames past host memory or an unknown pgprot', () => {
      const { phys, mm, bar } = setup();
      const { hva, vma } = mapDevice(mm, 4);
      const before = snap(mm, vma);
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, phys.totalFrames - 1, 2 * P, RO))).toBe('EINVAL');
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, -1, P, RO))).toBe('EINVAL');
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, bar, P, { access: 0x8, cache: 'uc' }))).toBe('EINVAL');
      expect(
        errnoOf(() =>
          mm.remapPfnRange(vma, hva, bar, P, { access: PROT_READ, cache: 'xx' } as unknown as Pgprot),
        ),
      ).toBe('EINVAL');
      expect(snap(mm, vma)).toEqual(before);
    });

    it('a private (COW) mapping is remapped whole (vm_pgoff becomes the pfn) or EINVAL', () => {
      const { mm, bar } = setup();
      const hva = mm.mmap({ length: 4 * P, prot: RW, flags: MAP_PRIVATE, file: device() });
      const vma = mm.findVma(hva)!;
      const before = snap(mm, vma);
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, bar, 2 * P, RO))).toBe('EINVAL');
      expect(errnoOf(() => mm.remapPfnRange(vma, hva + P, bar, 3 * P, RO))).toBe('EINVAL');
      expect(snap(mm, vma)).toEqual(before);
      mm.remapPfnRange(vma, hva, bar, 4 * P, RO);
      expect(vma.pgoff).toBe(bar);
      expect(mm.residentPages).toBe(4);
    });

    it('EBUSY when an entry of the range is present (upstream BUG_ON(!pte_none)): nothing is installed', () => {
      const { mm, bar } = setup();
      const { hva, vma } = mapDevice(mm, 4);
      mm.remapPfnRange(vma, hva + 2 * P, bar + 2, P, RO);
      const before = snap(mm, vma);
      expect(errnoOf(() => mm.remapPfnRange(vma, hva, bar, 4 * P, pgprotNoncached(RO)))).toBe('EBUSY');
      expect(snap(mm, vma)).toEqual(before);
    });
  });
});

describe('per-entry protection', () => {
  /** A device mapping whose first fault remaps the whole vma read-only. */
  function readOnlyRange(mkwrite?: VmOperations['pfnMkwrite']) {
    const s = setup();
    let faults = 0;
    const mkwrites: number[] = [];
    const { hva, vma } = mapDevice(s.mm, 4, () => ({
      fault(v) {
        faults++;
        v.mm!.remapPfnRange(v, v.start, s.bar, v.length, { access: PROT_READ, cache: 'uc' });
        return s.bar;
      },
      ...(mkwrite === undefined
        ? {}
        : {
            pfnMkwrite(v: VmArea, pgoff: number) {
              mkwrites.push(pgoff - v.pgoff);
              mkwrite(v, pgoff);
            },
          }),
    }));
    return { ...s, hva, vma, faults: () => faults, mkwrites };
  }

  it('a read-only entry in a writable shared PFNMAP vma: reads work, a refused pfn_mkwrite makes writes EFAULT', () => {
    const { phys, mm, bar, hva, faults, mkwrites } = readOnlyRange(() => {
      throw new Error('SIGBUS');
    });
    phys.frame(bar + 1)[5] = 0x42;
    const out = new Uint8Array(1);
    mm.copyFromUser(hva + P + 5, out);
    expect(out[0]).toBe(0x42);
    expect(mm.hvaToPfn(hva + 2 * P, false)).toBe(bar + 2);
    expect(errnoOf(() => mm.hvaToPfn(hva + P, true))).toBe('EFAULT');
    expect(errnoOf(() => mm.followPfn(hva + P, true))).toBe('EFAULT');
    expect(errnoOf(() => mm.copyToUser(hva + P + 5, Uint8Array.of(1)))).toBe('EFAULT');
    expect(phys.frame(bar + 1)[5]).toBe(0x42);
    expect(mm.pteProtOf(hva + P)).toEqual({ access: PROT_READ, cache: 'uc' });
    expect(faults()).toBe(1);
    expect(mkwrites).toEqual([1, 1, 1]);
  });

  it('a write through an unfaulted page faults in read-only first, then takes the write fault', () => {
    const { mm, hva, faults, mkwrites } = readOnlyRange(() => {
      throw new Error('SIGBUS');
    });
    expect(errnoOf(() => mm.copyToUser(hva + 3 * P, Uint8Array.of(1)))).toBe('EFAULT');
    expect(faults()).toBe(1);
    expect(mkwrites).toEqual([3]);
    expect(mm.pteProtOf(hva + 3 * P)?.access).toBe(PROT_READ);
  });

  it('a pfn_mkwrite that allows the write makes the entry writable, memory type kept', () => {
    const { phys, mm, bar, hva, mkwrites } = readOnlyRange(() => {});
    mm.copyToUser(hva + 5, Uint8Array.of(9));
    expect(phys.frame(bar)[5]).toBe(9);
    expect(mm.pteProtOf(hva)).toEqual({ access: RW, cache: 'uc' });
    mm.copyToUser(hva + 6, Uint8Array.of(9));
    expect(mkwrites).toEqual([0]);
  });

  it('without pfn_mkwrite a write makes the entry writable, as wp_pfn_shared()', () => {
    const { mm, hva } = readOnlyRange();
    mm.hvaToPfn(hva, false);
    mm.hvaToPfn(hva, true);
    expect(mm.pteProtOf(hva)?.access).toBe(RW);
  });

  it('copy_to_user over a writable page then a refused one writes nothing', () => {
    const s = setup();
    const { hva } = mapDevice(s.mm, 2, () => ({
      fault(v, pgoff) {
        const k = pgoff - v.pgoff;
        v.mm!.remapPfnRange(v, v.start + k * P, s.bar + k, P, {
          access: k === 0 ? RW : PROT_READ,
          cache: 'uc',
        });
        return s.bar + k;
      },
      pfnMkwrite() {
        throw new Error('SIGBUS');
      },
    }));
    expect(errnoOf(() => s.mm.copyToUser(hva + P - 2, Uint8Array.of(1, 2, 3, 4)))).toBe('EFAULT');
    expect(s.phys.frame(s.bar)[P - 1]).toBe(0);
    s.mm.copyToUser(hva + P - 1, Uint8Array.of(7)); // the writable page alone takes the write
    expect(s.phys.frame(s.bar)[P - 1]).toBe(7);
  });

  it('anonymous pages carry their vma protection; mprotect changes every entry and keeps the memory type', () => {
    const { mm, bar } = setup();
    const a = mm.mmap({ length: 2 * P, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    mm.hvaToPfn(a, true);
    expect(mm.pteProtOf(a)).toEqual({ access: RW, cache: 'wb' });
    mm.mprotect(a, 2 * P, PROT_READ);
    expect(mm.pteProtOf(a)).toEqual({ access: PROT_READ, cache: 'wb' });

    const { hva, vma } = mapDevice(mm, 4);
    mm.remapPfnRange(vma, hva, bar, 4 * P, { access: PROT_READ, cache: 'wc' });
    mm.mprotect(hva + 2 * P, 2 * P, PROT_READ);
    expect(mm.pteProtOf(hva + 2 * P)).toEqual({ access: PROT_READ, cache: 'wc' });
    expect(mm.findVma(hva + 2 * P)!.pageProt).toEqual({ access: PROT_READ, cache: 'wb' });
    // pte_modify(): mprotect to read-write makes the narrowed entries writable too.
    mm.mprotect(hva, 4 * P, RW);
    expect(mm.pteProtOf(hva)).toEqual({ access: RW, cache: 'wc' });
    expect(mm.pteProtOf(hva + 3 * P)).toEqual({ access: RW, cache: 'wc' });
  });

  it("the vma's vm_page_prot (a driver may make it uncached) is what a pfn returned by fault gets", () => {
    const { mm, bar } = setup();
    const hva = mm.mmap({
      length: P,
      prot: RW,
      flags: MAP_SHARED,
      file: {
        mmap(vma: VmArea) {
          vma.flags |= VM_PFNMAP | VM_IO;
          vma.pageProt = pgprotNoncached(vma.pageProt);
          vma.ops = { fault: () => bar };
        },
      },
    });
    mm.hvaToPfn(hva, false);
    expect(mm.pteProtOf(hva)).toEqual({ access: RW, cache: 'uc' });
  });

  it('zap_vma_ptes and munmap drop the entries with their protection; the range faults again', () => {
    const { mm, hva, vma, faults } = readOnlyRange();
    mm.hvaToPfn(hva, false);
    expect(mm.residentPages).toBe(4);
    mm.zapVmaPtes(vma, hva, 4 * P);
    expect(mm.pteProtOf(hva)).toBeUndefined();
    expect(mm.residentPages).toBe(0);
    mm.hvaToPfn(hva + P, false);
    expect(faults()).toBe(2);
    mm.munmap(hva, 4 * P);
    expect(mm.residentPages).toBe(0);
    expect(mm.pteProtOf(hva + P)).toBeUndefined();
  });
});
