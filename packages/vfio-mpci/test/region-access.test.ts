import { KernelError } from '@tsvirt/core-bus';
import type { MdevDevice } from '@tsvirt/mdev-core';
import { errnoOf } from '@tsvirt/test-utils';
import { VFIO_PCI_INDEX_TO_OFFSET } from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import { BAR0, BAR0_SIZE, CFG, EDID_INDEX, openMdev, REG_SCRATCH, stack } from './fake-vendor.ts';

const EDID = VFIO_PCI_INDEX_TO_OFFSET(EDID_INDEX);

/** A stack whose vendor read/write is replaced by `read` / `write` (the rest of the fake device stays). */
function withVendor(
  read?: (buf: Uint8Array, pos: bigint, real: () => number) => unknown,
  write?: (buf: Uint8Array, pos: bigint, real: () => number) => unknown,
) {
  const s = stack();
  const d = openMdev(s);
  const ops = s.vendor.ops;
  const realRead = ops.read.bind(ops);
  const realWrite = ops.write.bind(ops);
  if (read) ops.read = (m: MdevDevice, b, p) => read(b, p, () => realRead(m, b, p)) as number;
  if (write) ops.write = (m: MdevDevice, b, p) => write(b, p, () => realWrite(m, b, p)) as number;
  return { s, ...d };
}

describe('region access: the vendor count is what moved (the seed returns its read/write count)', () => {
  it('a 2-byte read the vendor fills 1 byte of is a 1-byte read: the other byte of the buffer is untouched', () => {
    const { file } = withVendor((b) => {
      b.fill(0x11);
      return 1;
    });
    const buf = Uint8Array.of(0xaa, 0xbb);
    expect(file.read(buf, BAR0)).toBe(1);
    expect(buf).toEqual(Uint8Array.of(0x11, 0xbb));
  });

  it('a split access stops at the first short piece', () => {
    const { file, s } = withVendor((b, _p, real) => {
      real();
      return b.length === 2 ? 1 : b.length;
    });
    s.vendor.log.length = 0;
    const buf = new Uint8Array(7).fill(0xcc);
    // Pieces at CFG+1: 1, then 2 (short: 1 byte), so 2 bytes in all.
    expect(file.read(buf, CFG + 1n)).toBe(2);
    expect(s.vendor.log).toEqual(['r1 0x70000000001', 'r2 0x70000000002']);
    expect(buf.subarray(2)).toEqual(new Uint8Array(5).fill(0xcc));
  });

  it('a short write is a short write; a count above the piece counts as the piece', () => {
    const w = withVendor(undefined, () => 1);
    expect(w.file.write(Uint8Array.of(1, 2, 3, 4), BAR0 + BigInt(REG_SCRATCH))).toBe(1);
    const r = withVendor((_b, _p, real) => real() + 8);
    expect(r.file.read(new Uint8Array(4), BAR0)).toBe(4);
    expect(r.file.read(new Uint8Array(3), BAR0 + 1n)).toBe(3);
  });

  it('a count that is not a positive integer is EFAULT, for 1-, 2- and 4-byte and split accesses', () => {
    for (const bad of [0, -5, 1.5, Number.NaN, undefined, '2', null]) {
      const { file } = withVendor(() => bad);
      for (const [n, at] of [
        [1, BAR0],
        [2, BAR0],
        [4, BAR0],
        [3, BAR0 + 1n],
      ] as const)
        expect(
          errnoOf(() => file.read(new Uint8Array(n), at)),
          `${String(bad)} ${n}`,
        ).toBe('EFAULT');
    }
  });

  it('a vendor that throws a host exception (a fixed-width DataView fill) gives EFAULT, never the exception', () => {
    const fill32 = (b: Uint8Array) => {
      new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(0, 0x12345678, true);
      return b.length;
    };
    const { file } = withVendor(fill32, fill32);
    expect(file.read(new Uint8Array(4), BAR0)).toBe(4);
    for (const n of [1, 2, 3]) {
      expect(
        errnoOf(() => file.read(new Uint8Array(n), BAR0)),
        `read ${n}`,
      ).toBe('EFAULT');
      expect(
        errnoOf(() => file.write(new Uint8Array(n), BAR0)),
        `write ${n}`,
      ).toBe('EFAULT');
    }
    expect(errnoOf(() => file.read(new Uint8Array(2), EDID))).toBe('EFAULT');
  });

  it('a KernelError from the vendor keeps its errno', () => {
    const { file } = withVendor(() => {
      throw new KernelError('EIO', 'memory decode is off');
    });
    expect(errnoOf(() => file.read(new Uint8Array(2), BAR0))).toBe('EIO');
  });
});

describe('region access: sizes and offsets', () => {
  it('odd sizes split into aligned pieces; an empty access moves nothing', () => {
    const { file, s } = withVendor();
    s.vendor.log.length = 0;
    expect(file.read(new Uint8Array(3), BAR0 + 1n)).toBe(3);
    expect(file.read(new Uint8Array(5), BAR0 + 3n)).toBe(5);
    expect(s.vendor.log).toEqual(['r1 0x1', 'r2 0x2', 'r1 0x3', 'r4 0x4']);
    expect(file.read(new Uint8Array(0), BAR0 + 5n)).toBe(0);
    expect(file.write(new Uint8Array(0), BAR0)).toBe(0);
  });

  it('over the end is cut short at every width; at or past the end is EINVAL, even when empty', () => {
    const { file } = withVendor();
    expect(file.read(new Uint8Array(2), BAR0 + BAR0_SIZE - 1n)).toBe(1);
    expect(file.read(new Uint8Array(4), BAR0 + BAR0_SIZE - 3n)).toBe(3);
    expect(file.write(new Uint8Array(4), BAR0 + BAR0_SIZE - 2n)).toBe(2);
    expect(file.read(new Uint8Array(2), EDID + 0xffn)).toBe(1);
    for (const [n, at] of [
      [1, BAR0 + BAR0_SIZE],
      [2, BAR0 + BAR0_SIZE + 1n],
      [0, BAR0 + BAR0_SIZE],
      [1, EDID + 0x100n],
      [4, CFG + 0x100n],
    ] as const)
      expect(
        errnoOf(() => file.read(new Uint8Array(n), at)),
        `${n} at 0x${at.toString(16)}`,
      ).toBe('EINVAL');
    // A region the vendor made read-only refuses writes.
    expect(errnoOf(() => file.write(new Uint8Array(1), EDID))).toBe('EINVAL');
  });
});
