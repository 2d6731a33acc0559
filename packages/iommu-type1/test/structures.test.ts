import { HostPhysMemory, MmStruct } from '@tsvirt/host-mm';
import { describe, expect, it } from 'vitest';
import { copyBitsToUser, DIRTY_BITMAP_BYTES, DmaTree, IommuDomain, VfioDma } from '../src/index.ts';

function lcg(seed: number) {
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
}

const mm = new MmStruct(new HostPhysMemory({ totalFrames: 16 }));

describe('DmaTree against a sorted-array model', () => {
  it('insert, remove, find, firstFrom and next agree over random operations', () => {
    const rnd = lcg(7);
    const tree = new DmaTree();
    let model: VfioDma[] = [];
    const overlaps = (a: bigint, s: bigint) => model.find((d) => a < d.iova + d.size && d.iova < a + s);
    for (let step = 0; step < 3000; step++) {
      // Spread over several 4 GiB windows so both 32-bit halves of the keys matter.
      const iova = (BigInt(rnd() % 3) << 32n) + (BigInt(rnd() % 512) << 12n) + (rnd() % 2 ? 0xfff00000n : 0n);
      const size = BigInt(1 + (rnd() % 4)) << 12n;
      const op = rnd() % 3;
      if (op === 0 && overlaps(iova, size) === undefined) {
        const d = new VfioDma(iova, size, 0n, 3, mm, false);
        tree.insert(d);
        model.push(d);
        model.sort((a, b) => (a.iova < b.iova ? -1 : 1));
      } else if (op === 1 && model.length > 0) {
        const d = model[rnd() % model.length]!;
        tree.remove(d);
        model = model.filter((x) => x !== d);
      }
      // vfio_find_dma() returns some overlapping mapping when several overlap.
      const hit = tree.find(iova, size);
      if (overlaps(iova, size) === undefined) expect(hit).toBeUndefined();
      else
        expect(
          hit !== undefined && model.includes(hit) && iova < hit.iova + hit.size && hit.iova < iova + size,
        ).toBe(true);
      const last = iova + size - 1n;
      expect(tree.firstFrom(iova, last)).toBe(model.find((d) => d.iova + d.size > iova && d.iova <= last));
      if (model.length > 0) {
        const i = rnd() % model.length;
        expect(tree.next(model[i]!)).toBe(model[i + 1]);
      }
      expect(tree.size).toBe(model.length);
    }
    expect([...tree]).toEqual(model);
  });
});

describe('copyBitsToUser against a bit-by-bit model of update_user_bitmap()', () => {
  it('places bits at any offset, ORs the first u64 and zero-fills to the u64 end', () => {
    const rnd = lcg(3);
    for (let round = 0; round < 300; round++) {
      const nbits = 1 + (rnd() % 200);
      const offset = rnd() % 300;
      const src = new Uint8Array(DIRTY_BITMAP_BYTES(nbits) + 8);
      for (let i = 0; i < nbits; i++) if (rnd() % 3 === 0) src[i >>> 3]! |= 1 << (i & 7);
      const dst = new Uint8Array(DIRTY_BITMAP_BYTES(offset + nbits) + 16);
      for (let i = 0; i < dst.length; i++) dst[i] = rnd() & 0xff;
      const want = dst.slice();
      const bit = (a: Uint8Array, i: number) => (a[i >>> 3]! >> (i & 7)) & 1;
      const set = (a: Uint8Array, i: number, v: number) => {
        a[i >>> 3] = v ? a[i >>> 3]! | (1 << (i & 7)) : a[i >>> 3]! & ~(1 << (i & 7));
      };
      const word = Math.floor(offset / 64) * 64;
      const shift = offset - word;
      const end = word + DIRTY_BITMAP_BYTES(nbits + shift) * 8;
      for (let i = word; i < end; i++) {
        const j = i - offset;
        const v = j >= 0 && j < nbits ? bit(src, j) : 0;
        // The first u64 keeps whatever the user buffer held (bitmap_or over the word).
        set(want, i, i < word + 64 && shift !== 0 ? v | bit(dst, i) : v);
      }
      copyBitsToUser(dst, src, nbits, offset);
      expect(dst, `nbits ${nbits} offset ${offset}`).toEqual(want);
    }
  });
});

describe('IommuDomain page table', () => {
  // 2^24 + 1 maps and unmaps: about 2 s, so a loaded machine gets room (no timing is asserted).
  it('holds more than 2^24 pages (a 64 GiB device BAR mapped for peer-to-peer DMA) and frees emptied leaves', {
    timeout: 60_000,
  }, () => {
    const dom = new IommuDomain();
    const n = 2 ** 24 + 1;
    const base = 2 ** 40; // IOVA 4 PiB: a pfn beyond 32 bits
    for (let k = 0; k < n; k++) dom.map(base + k, k & 0xffff);
    expect(dom.mappedPages).toBe(n);
    expect(dom.iovaToPfn(base + n - 1)).toBe((n - 1) & 0xffff);
    expect(dom.iovaToPfn(base + n)).toBeUndefined();
    for (let k = 0; k < n; k++) dom.unmap(base + k);
    expect(dom.mappedPages).toBe(0);
    dom.unmap(base); // not present: nothing happens
    expect(dom.iovaToPfn(base)).toBeUndefined();
    expect(dom.mappedPages).toBe(0);
  });
});
