import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { concatBytes } from '../src/migration/byte-io.ts';
import { crc32Combine } from '../src/migration/crc32-combine.ts';
import { RamPageWriter } from '../src/migration/ram-pages.ts';
import { ramSection } from '../src/migration/sections/ram.ts';
import { decodeStream, MigrationStreamWriter } from '../src/migration/stream.ts';

async function machine(): Promise<Machine> {
  const opts = parseArgs(['--cpus', '1', '--mem', '64M']);
  return Machine.create(opts, DEFAULT_GUEST, readFileSync(DEFAULT_GUEST), () => {});
}

/** RAM pages written by a RamPageWriter, as the stream carries them: index -> bytes. */
function sentPages(write: (ram: RamPageWriter) => void, m: Machine, perSection = 4) {
  const chunks: Uint8Array[] = [];
  const w = new MigrationStreamWriter((c) => chunks.push(c.slice()));
  const ram = new RamPageWriter(m, w, perSection);
  write(ram);
  ram.flush();
  w.end();
  const pages = new Map<number, Uint8Array>();
  for (const s of decodeStream(concatBytes(chunks))) {
    const dv = new DataView(s.payload.buffer, s.payload.byteOffset);
    const n = dv.getUint32(8, true);
    for (let k = 0; k < n; k++) {
      const at = 12 + k * (4 + PAGE_SIZE);
      pages.set(dv.getUint32(at, true), s.payload.slice(at + 4, at + 4 + PAGE_SIZE));
    }
  }
  return { pages, ram };
}

describe("the sending path: RAM pages read from the VMM's mapping, zero pages found by a word scan", () => {
  it('a page with one non-zero byte at either end is sent; all-zero and never-touched pages are left out on a first pass only', async () => {
    const m = await machine();
    const base = 16_000;
    const at = (i: number) => m.ramHva + (base + i) * PAGE_SIZE;
    m.mm.copyToUser(at(0), Uint8Array.of(1)); // first byte
    m.mm.copyToUser(at(1) + PAGE_SIZE - 1, Uint8Array.of(0x80)); // last byte
    m.mm.copyToUser(at(2) + 2049, Uint8Array.of(7)); // mid-page, unaligned
    m.mm.copyToUser(at(3), new Uint8Array(PAGE_SIZE)); // touched, all zero
    // page 4 never touched
    const full = randomBytes(PAGE_SIZE);
    m.mm.copyToUser(at(5), full);
    const first = sentPages((ram) => {
      for (let i = 0; i <= 5; i++) ram.add(base + i, true);
    }, m);
    expect([...first.pages.keys()]).toEqual([base, base + 1, base + 2, base + 5]);
    expect(first.ram.normal).toBe(4);
    expect(first.ram.duplicate).toBe(2);
    const one = new Uint8Array(PAGE_SIZE);
    one[0] = 1;
    expect(first.pages.get(base)).toEqual(one);
    expect(first.pages.get(base + 1)![PAGE_SIZE - 1]).toBe(0x80);
    expect(first.pages.get(base + 2)![2049]).toBe(7);
    expect(first.pages.get(base + 5)).toEqual(new Uint8Array(full));
    // A later pass sends zero pages too: the destination's copy may not be zero any more.
    const later = sentPages((ram) => {
      for (let i = 3; i <= 4; i++) ram.add(base + i, false);
    }, m);
    expect([...later.pages.keys()]).toEqual([base + 3, base + 4]);
    expect(later.pages.get(base + 4)).toEqual(new Uint8Array(PAGE_SIZE));
  });

  it('a section buffer the sink is done with is used again for the next section, not before', async () => {
    const m = await machine();
    m.mm.copyToUser(m.ramHva + 16_000 * PAGE_SIZE, randomBytes(4 * PAGE_SIZE));
    const out: Uint8Array[] = [];
    const w = new MigrationStreamWriter((c) => out.push(c));
    const ram = new RamPageWriter(m, w, 2);
    ram.add(16_000, true);
    ram.add(16_001, true);
    ram.add(16_002, true);
    ram.add(16_003, true);
    // Two sections, two buffers: nothing was recycled yet.
    const [, s1, s2] = out;
    expect(s1!.buffer).not.toBe(s2!.buffer);
    const copy = s1!.slice();
    ram.recycle(s1!);
    ram.add(16_000, true);
    ram.add(16_001, true);
    expect(out[3]!.buffer).toBe(s1!.buffer);
    // Same pages, so the same payload (between the 17-byte head, whose instance differs, and the CRC).
    const payloadOf = (c: Uint8Array) => Uint8Array.from(c.subarray(17, c.length - 4));
    expect(payloadOf(out[3]!)).toEqual(payloadOf(copy));
    expect(out[3]!.length).toBe(copy.length);
    // A chunk of another size (a device section) is not taken.
    ram.recycle(new Uint8Array(100));
    ram.add(16_002, true);
    ram.add(16_003, true);
    expect(out[4]!.buffer).not.toBe(s1!.buffer);
  });

  it('a RAM section with a page index beyond RAM is EINVAL and writes none of its pages', async () => {
    const m = await machine();
    const page = randomBytes(PAGE_SIZE);
    const payload = new Uint8Array(12 + 2 * (4 + PAGE_SIZE));
    const dv = new DataView(payload.buffer);
    dv.setBigUint64(0, BigInt(m.opts.mem), true);
    dv.setUint32(8, 2, true);
    dv.setUint32(12, 16_000, true);
    payload.set(page, 16);
    dv.setUint32(16 + PAGE_SIZE, m.opts.mem / PAGE_SIZE, true);
    const s = { id: 'ram', instance: 0, version: 1, payload };
    expect(errnoOf(() => ramSection.load(m, s, { runState: 'running' }))).toBe('EINVAL');
    const got = new Uint8Array(PAGE_SIZE);
    m.mm.copyFromUser(m.ramHva + 16_000 * PAGE_SIZE, got);
    expect(got).toEqual(new Uint8Array(PAGE_SIZE));
  });
});

describe('crc32Combine (zlib crc32_combine()): the stream CRC from the sections', () => {
  it('matches crc32 of the joined bytes for empty, short and long pieces', () => {
    for (const [a, b] of [
      [0, 0],
      [7, 0],
      [0, 5],
      [1, 1],
      [13, 4099],
      [4096, 1 << 20],
      [3, (1 << 20) + 17],
    ] as const) {
      const A = randomBytes(a);
      const B = randomBytes(b);
      expect(crc32Combine(crc32(A), crc32(B), b)).toBe(crc32(Buffer.concat([A, B])));
    }
  });
});
