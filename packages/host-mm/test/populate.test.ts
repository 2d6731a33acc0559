import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  MmStruct,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../src/index.ts';

/** Two pages of source: the first patterned, the second zero. */
function source(): Uint8Array {
  const src = new Uint8Array(3 * PAGE_SIZE);
  for (let i = 0; i < PAGE_SIZE; i++) src[PAGE_SIZE + i] = (i * 7 + 1) & 0xff;
  return src;
}

describe('HostPhysMemory.allocFrameFrom', () => {
  it('allocates a frame holding the source page, over whatever a freed frame held', () => {
    const m = new HostPhysMemory({ totalFrames: 64, chunkFrames: 16 });
    const old = m.allocFrame();
    m.frame(old).fill(0xee);
    m.putPage(old);
    const src = source();
    const pfn = m.allocFrameFrom(src, PAGE_SIZE);
    expect(pfn).toBe(old);
    expect(m.refCount(pfn)).toBe(1);
    expect(m.frame(pfn)).toEqual(src.subarray(PAGE_SIZE, 2 * PAGE_SIZE));
    // A zero page over a stale frame is zero too.
    m.putPage(pfn);
    m.frame(pfn).fill(0xee);
    expect(m.allocFrameFrom(src, 2 * PAGE_SIZE)).toBe(pfn);
    expect(m.frame(pfn).every((b) => b === 0)).toBe(true);
  });

  it('leaves a zero page unbacked when its chunk has no backing yet', () => {
    const m = new HostPhysMemory({ totalFrames: 64, chunkFrames: 16 });
    const pfn = m.allocFrameFrom(new Uint8Array(PAGE_SIZE));
    expect(m.refCount(pfn)).toBe(1);
    expect(m.backedFrames).toBe(0);
    expect(m.frameIfPresent(pfn)).toBeUndefined();
    m.allocFrameFrom(source(), PAGE_SIZE);
    expect(m.backedFrames).toBe(16);
  });

  it('EFAULT for a source without a whole page at the offset; ENOMEM when full; nothing allocated', () => {
    const m = new HostPhysMemory({ totalFrames: 2, chunkFrames: 1 });
    const src = source();
    for (const off of [-1, 1.5, 2 * PAGE_SIZE + 1, 3 * PAGE_SIZE, Number.NaN])
      expect([off, errnoOf(() => m.allocFrameFrom(src, off))]).toEqual([off, 'EFAULT']);
    expect(errnoOf(() => m.allocFrameFrom(new Uint8Array(PAGE_SIZE - 1)))).toBe('EFAULT');
    expect(m.allocatedFrames).toBe(0);
    m.allocFrames(2);
    expect(errnoOf(() => m.allocFrameFrom(src, PAGE_SIZE))).toBe('ENOMEM');
    expect(m.allocatedFrames).toBe(2);
  });
});

describe('MmStruct.copyPageToUser', () => {
  function mm() {
    const phys = new HostPhysMemory({ totalFrames: 4096 });
    const m = new MmStruct(phys);
    const hva = m.mmap({
      length: 16 * PAGE_SIZE,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS,
    });
    return { phys, m, hva };
  }

  it('faults a missing page in holding the data, and overwrites a present one', () => {
    const { phys, m, hva } = mm();
    const src = source();
    // A freed frame with stale bytes is the one the fault takes.
    const stale = phys.allocFrame();
    phys.frame(stale).fill(0xee);
    phys.putPage(stale);
    m.copyPageToUser(hva + 3 * PAGE_SIZE, src, PAGE_SIZE);
    expect(m.pteOf(hva + 3 * PAGE_SIZE)).toBe(stale);
    const out = new Uint8Array(PAGE_SIZE);
    m.copyFromUser(hva + 3 * PAGE_SIZE, out);
    expect(out).toEqual(src.subarray(PAGE_SIZE, 2 * PAGE_SIZE));
    // The page is writable, as a write fault leaves it.
    expect(m.hvaToPfn(hva + 3 * PAGE_SIZE, true)).toBe(stale);
    // Present: written in place, same frame.
    m.copyPageToUser(hva + 3 * PAGE_SIZE, src, 2 * PAGE_SIZE);
    expect(m.pteOf(hva + 3 * PAGE_SIZE)).toBe(stale);
    m.copyFromUser(hva + 3 * PAGE_SIZE, out);
    expect(out.every((b) => b === 0)).toBe(true);
  });

  it('other mappings (shared, hugetlb) take the copy_to_user path with the same result', () => {
    const phys = new HostPhysMemory({ totalFrames: 4096 });
    const m = new MmStruct(phys);
    const src = source();
    const out = new Uint8Array(PAGE_SIZE);
    for (const flags of [MAP_SHARED | MAP_ANONYMOUS, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB]) {
      const hva = m.mmap({ length: 2 << 20, prot: PROT_READ | PROT_WRITE, flags });
      m.copyPageToUser(hva + 5 * PAGE_SIZE, src, PAGE_SIZE);
      m.copyFromUser(hva + 5 * PAGE_SIZE, out);
      expect(out).toEqual(src.subarray(PAGE_SIZE, 2 * PAGE_SIZE));
    }
  });

  it('EINVAL for an unaligned address, EFAULT for a bad source offset, unmapped or read-only memory; nothing mapped', () => {
    const { phys, m, hva } = mm();
    const src = source();
    const ro = m.mmap({ length: PAGE_SIZE, prot: PROT_READ, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    expect(errnoOf(() => m.copyPageToUser(hva + 8, src, 0))).toBe('EINVAL');
    expect(errnoOf(() => m.copyPageToUser(hva, src, 2 * PAGE_SIZE + 8))).toBe('EFAULT');
    expect(errnoOf(() => m.copyPageToUser(hva, src, -PAGE_SIZE))).toBe('EFAULT');
    expect(errnoOf(() => m.copyPageToUser(hva + 16 * PAGE_SIZE, src, 0))).toBe('EFAULT');
    expect(errnoOf(() => m.copyPageToUser(ro, src, 0))).toBe('EFAULT');
    expect(m.pteOf(hva)).toBeUndefined();
    expect(m.pteOf(ro)).toBeUndefined();
    expect(phys.allocatedFrames).toBe(0);
  });
});
