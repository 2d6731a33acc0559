import { isKernelError } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import { HostPhysMemory, PAGE_SIZE } from '../src/index.ts';

describe('HostPhysMemory', () => {
  it('backs frames lazily, one chunk at a time, with 4096-aligned views', () => {
    const m = new HostPhysMemory({ totalFrames: 1 << 20, chunkFrames: 16 });
    expect(m.backedFrames).toBe(0);
    expect(m.frameIfPresent(100)).toBeUndefined();
    expect(m.backedFrames).toBe(0);
    const f = m.frame(100);
    expect(f.length).toBe(PAGE_SIZE);
    expect(f.byteOffset % PAGE_SIZE).toBe(0);
    expect(m.backedFrames).toBe(16);
    // Another frame of the same chunk shares the buffer.
    const g = m.frame(101);
    expect(g.buffer).toBe(f.buffer);
    expect(g.byteOffset - f.byteOffset).toBe(PAGE_SIZE);
    expect(m.backedFrames).toBe(16);
    // Wider aligned views work over the same memory.
    new BigInt64Array(f.buffer, f.byteOffset, 512)[1] = -1n;
    expect(f[8]).toBe(0xff);
  });

  it('takes the backing of a chunk from allocChunk when given, and an ordinary buffer when it declines', () => {
    const store = new Uint8Array(64 * PAGE_SIZE);
    let given = 0;
    const m = new HostPhysMemory({
      totalFrames: 1 << 10,
      chunkFrames: 16,
      allocChunk: (bytes) => {
        if (given + bytes > store.length) return undefined;
        given += bytes;
        return store.subarray(given - bytes, given);
      },
    });
    m.frame(3)[5] = 7;
    expect(store[3 * PAGE_SIZE + 5]).toBe(7);
    m.frame(16 * 3 + 1)[0] = 9;
    expect(store[16 * PAGE_SIZE + PAGE_SIZE]).toBe(9);
    // Four chunks used the store; a fifth comes from an ordinary buffer.
    m.frame(16 * 2);
    m.frame(16 * 4);
    const own = m.frame(16 * 5);
    expect(own.buffer).not.toBe(store.buffer);
    expect(m.backedFrames).toBe(5 * 16);
  });

  it('refuses a chunk from allocChunk that is not whole and page-aligned (EINVAL), backing nothing', () => {
    const bad = new HostPhysMemory({ totalFrames: 64, chunkFrames: 16, allocChunk: () => new Uint8Array(8) });
    let e: unknown;
    try {
      bad.frame(0);
    } catch (err) {
      e = err;
    }
    expect(isKernelError(e, 'EINVAL')).toBe(true);
    expect(bad.backedFrames).toBe(0);
    const skewed = new Uint8Array(17 * PAGE_SIZE).subarray(1, 1 + 16 * PAGE_SIZE);
    const m = new HostPhysMemory({ totalFrames: 64, chunkFrames: 16, allocChunk: () => skewed });
    expect(() => m.frame(0)).toThrow(/page-aligned/);
  });

  it('a 4 GiB host costs nothing until touched', () => {
    const m = new HostPhysMemory({ totalFrames: 1 << 20 });
    const pfns = m.allocFrames(1000);
    expect(m.allocatedFrames).toBe(1000);
    expect(m.backedBytes).toBe(0);
    m.frame(pfns[999]!)[0] = 1;
    expect(m.backedBytes).toBe(2 * 1024 * 1024);
  });

  it('reads and writes physical addresses across frames; untouched memory is zero', () => {
    const m = new HostPhysMemory({ totalFrames: 64 });
    m.write(PAGE_SIZE - 2, Uint8Array.of(1, 2, 3, 4));
    const out = new Uint8Array(6);
    m.read(PAGE_SIZE - 3, out);
    expect([...out]).toEqual([0, 1, 2, 3, 4, 0]);
    m.read(40 * PAGE_SIZE, out);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('allocates, refcounts and reuses frames; a reused frame is zeroed', () => {
    const m = new HostPhysMemory({ totalFrames: 8 });
    const a = m.allocFrame();
    const b = m.allocFrame();
    expect([a, b]).toEqual([0, 1]);
    m.frame(a)[5] = 9;
    m.getPage(a);
    m.putPage(a);
    expect(m.refCount(a)).toBe(1);
    m.putPage(a);
    expect(m.refCount(a)).toBe(0);
    expect(m.allocatedFrames).toBe(1);
    expect(m.allocFrame()).toBe(a);
    expect(m.frame(a)[5]).toBe(0);
  });

  it('allocates aligned contiguous runs (G-stage root, huge page)', () => {
    const m = new HostPhysMemory({ totalFrames: 2048 });
    m.allocFrame();
    const root = m.allocContiguous(4, 4);
    expect(root).toBe(4);
    const huge = m.allocContiguous(512, 512);
    expect(huge).toBe(512);
    expect(m.allocatedFrames).toBe(1 + 4 + 512);
    // Single frames still fill the hole below.
    expect(m.allocFrame()).toBe(1);
  });

  it('ENOMEM when full, with nothing allocated by a failed allocFrames', () => {
    const m = new HostPhysMemory({ totalFrames: 4 });
    m.allocFrame();
    expect(() => m.allocFrames(4)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(m.allocatedFrames).toBe(1);
    expect(() => m.allocContiguous(2, 4)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
    expect(m.allocatedFrames).toBe(1);
  });

  it('refuses bad pfns and misuse', () => {
    const m = new HostPhysMemory({ totalFrames: 4 });
    expect(() => m.frame(4)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(() => m.putPage(0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => m.getPage(0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => m.unpinFrame(0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => m.allocContiguous(1, 3)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => new HostPhysMemory({ chunkFrames: 3 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    try {
      m.frame(-1);
    } catch (e) {
      expect(isKernelError(e, 'EFAULT')).toBe(true);
    }
  });

  it('a pin holds a reference: the frame outlives its owner until unpinned', () => {
    const m = new HostPhysMemory({ totalFrames: 4 });
    const p = m.allocFrame();
    m.pinFrame(p);
    expect(m.pinCount(p)).toBe(1);
    m.putPage(p);
    expect(m.refCount(p)).toBe(1);
    expect(m.allocatedFrames).toBe(1);
    m.unpinFrame(p);
    expect(m.pinCount(p)).toBe(0);
    expect(m.allocatedFrames).toBe(0);
  });
});

describe('frame allocator against a model', () => {
  it('never hands out an allocated frame, over random alloc/contiguous/free', () => {
    let seed = 11;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const m = new HostPhysMemory({ totalFrames: 4096 });
    const owned = new Set<number>();
    for (let step = 0; step < 4000; step++) {
      const op = rnd() % 4;
      try {
        if (op === 0) {
          const p = m.allocFrame();
          expect(owned.has(p)).toBe(false);
          owned.add(p);
        } else if (op === 1) {
          const n = 1 + (rnd() % 8);
          const align = 1 << (rnd() % 4);
          const p = m.allocContiguous(n, align);
          expect(p % align).toBe(0);
          for (let k = p; k < p + n; k++) {
            expect(owned.has(k)).toBe(false);
            owned.add(k);
          }
        } else if (owned.size > 0) {
          const all = [...owned];
          const p = all[rnd() % all.length]!;
          m.putPage(p);
          owned.delete(p);
        }
      } catch (e) {
        expect((e as { code: string }).code).toBe('ENOMEM');
      }
      expect(m.allocatedFrames).toBe(owned.size);
    }
  });
});
