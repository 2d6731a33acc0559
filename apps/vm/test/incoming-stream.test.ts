import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { IncomingLoader } from '../src/migration/incoming-socket.ts';
import { snapshotVm } from '../src/migration/snapshot.ts';
import { decodeStream, encodeStream, MigrationStreamReader, type Section } from '../src/migration/stream.ts';

/** Feed `bytes` to a fresh reader in pieces of the given sizes (cycled); the sections, or the refusal's line. */
function incremental(bytes: Uint8Array, sizes: readonly number[]): Section[] | string {
  const r = new MigrationStreamReader();
  const out: Section[] = [];
  try {
    let k = 0;
    for (let o = 0; o < bytes.length; k++) {
      const n = sizes[k % sizes.length]!;
      out.push(...r.push(bytes.subarray(o, o + n)));
      o += n;
    }
    r.finish();
  } catch (e) {
    return (e as Error).message;
  }
  return out;
}

function whole(bytes: Uint8Array): Section[] | string {
  try {
    return decodeStream(bytes);
  } catch (e) {
    return (e as Error).message;
  }
}

// Payloads by digest: a whole VM's RAM compared as arrays would take the test's time.
const plain = (x: Section[] | string) =>
  typeof x === 'string'
    ? x
    : x.map((s) => ({ ...s, payload: createHash('sha256').update(s.payload).digest('hex') }));

const small = encodeStream((w) => {
  w.section('configuration', 0, 1, Uint8Array.of(1, 2, 3));
  w.section(
    'ram',
    0,
    1,
    new Uint8Array(40).map((_, i) => i * 7),
  );
  w.section('ram', 1, 1, new Uint8Array(0));
  w.section('uart', 0, 1, Uint8Array.of(9, 8, 7, 6, 5));
});

async function machine(args: string[], restore?: boolean) {
  const opts = parseArgs(args);
  const kernel = opts.kernel ?? DEFAULT_GUEST;
  return Machine.create(
    restore ? { ...opts, incoming: { kind: 'unix', path: '/nonexistent' } } : opts,
    kernel,
    restore ? new Uint8Array(0) : readFileSync(kernel),
    () => {},
  );
}

describe('a stream read into one reused buffer', () => {
  it('with compact() after each piece, gives what decodeStream gives, though the buffer is overwritten', async () => {
    const stream = snapshotVm(await machine([]));
    const want = plain(whole(stream));
    for (const size of [1000, 65536, 1 << 20]) {
      const r = new MigrationStreamReader();
      const buf = new Uint8Array(size);
      const got: unknown[] = [];
      for (let o = 0; o < stream.length; o += size) {
        const n = Math.min(size, stream.length - o);
        buf.set(stream.subarray(o, o + n));
        // Each section is used before the next piece overwrites the buffer (as the loader does).
        for (const s of r.sections(buf.subarray(0, n), 'ram')) got.push(...(plain([s]) as unknown[]));
        r.compact();
        buf.fill(0xee);
      }
      r.finish();
      expect(got).toEqual(want);
    }
  });

  it('refuses a corrupted byte in a section put together across reads of the reused buffer', async () => {
    const stream = snapshotVm(await machine([]));
    // A byte in the middle of the first 'ram' section's pages (past its head), which spans many reads.
    const bad = stream.slice();
    const at = stream.length >> 1;
    bad[at]! ^= 0x41;
    const want = whole(bad);
    expect(typeof want).toBe('string');
    for (const size of [1000, 65536]) {
      const r = new MigrationStreamReader();
      const buf = new Uint8Array(size);
      let got: string | undefined;
      try {
        for (let o = 0; o < bad.length; o += size) {
          const n = Math.min(size, bad.length - o);
          buf.set(bad.subarray(o, o + n));
          for (const _ of r.sections(buf.subarray(0, n), 'ram'));
          r.compact();
          buf.fill(0xee);
        }
        r.finish();
      } catch (e) {
        got = (e as Error).message;
      }
      expect(got).toBe(want);
    }
  });
});

describe('the destination reads the stream as it arrives', () => {
  it('fed byte by byte or in odd pieces, gives what decodeStream gives', async () => {
    const src = await machine([]);
    const big = snapshotVm(src);
    // Byte by byte for the small stream; the whole VM's in odd pieces (every chunk boundary kind).
    for (const sizes of [[3, 4093], [65_537], [1_000_003], [big.length]])
      expect(plain(incremental(big, sizes))).toEqual(plain(decodeStream(big)));
    for (const sizes of [[1], [2, 5], [11]])
      expect(plain(incremental(small, sizes))).toEqual(plain(whole(small)));
  });

  it('refuses every corrupted byte, every cut and any trailing byte with the line decodeStream gives', () => {
    const cases: Uint8Array[] = [];
    for (let i = 0; i < small.length; i++) {
      const bad = small.slice();
      bad[i]! ^= 0x41;
      cases.push(bad);
      cases.push(small.subarray(0, i));
    }
    cases.push(Uint8Array.of(...small, 0, 0, 0));
    for (const bad of cases) {
      const want = whole(bad);
      expect(typeof want).toBe('string');
      for (const sizes of [[1], [3, 8], [bad.length || 1]]) expect(incremental(bad, sizes)).toBe(want);
    }
  });

  it("puts each 'ram' section into guest memory before the end marker, device state only after it", async () => {
    const src = await machine([]);
    const stream = snapshotVm(src);
    const dst = await machine([], true);
    const loader = new IncomingLoader(dst.opts, dst);
    // Everything but the end marker (type, count, CRC: 9 bytes).
    loader.push(stream.subarray(0, stream.length - 9));
    expect(loader.ramLoaded).toBeGreaterThan(0);
    // The first page the source's first 'ram' section carries (after the RAM size and the count).
    const ram0 = decodeStream(stream).find((s) => s.id === 'ram')!.payload;
    const at = new DataView(ram0.buffer, ram0.byteOffset).getUint32(12, true) * PAGE_SIZE;
    const page = (m: Machine) => {
      const b = new Uint8Array(PAGE_SIZE);
      m.mm.copyFromUser(m.ramHva + at, b);
      return b;
    };
    expect(page(src).some((b) => b !== 0)).toBe(true);
    expect(page(dst)).toEqual(page(src));
    // Cut here: refused, though RAM is in.
    expect(() => loader.finish()).toThrow('stream is truncated (no end marker)');
    loader.push(stream.subarray(stream.length - 9));
    expect(loader.finish()).toEqual({ machine: dst, runState: 'running' });
  });

  it('loads a chunk within push and refuses a bad one by throwing', async () => {
    const src = await machine([]);
    const stream = snapshotVm(src);
    const dst = await machine([], true);
    const loader = new IncomingLoader(dst.opts, dst);
    loader.push(stream.subarray(0, 4096));
    loader.push(stream.subarray(4096, stream.length - 9));
    expect(loader.ramLoaded).toBeGreaterThan(0);
    const end = stream.slice(stream.length - 9);
    end[8]! ^= 0x41;
    expect(() => loader.push(end)).toThrow('stream checksum mismatch (CRC32 over the whole stream)');
  });

  it('refuses another --mem at the configuration section, before anything is loaded into the VM', async () => {
    const src = await machine([]);
    const stream = snapshotVm(src);
    const dst = await machine(['--mem', '512M'], true);
    const loader = new IncomingLoader(dst.opts, dst);
    expect(() => loader.push(stream)).toThrow(/^RAM size 256M does not match --mem 512M$/);
    expect(loader.ramLoaded).toBe(0);
    expect(dst.guestTouchedBytes()).toBe(0);
  });

  it("refuses a corrupted 'ram' section on arrival, and a stream without the device sections at the end", async () => {
    const src = await machine([]);
    const sections = decodeStream(snapshotVm(src));
    const firstRam = sections.findIndex((s) => s.id === 'ram');
    const reencode = (list: Section[]) =>
      encodeStream((w) => {
        for (const s of list) w.section(s.id, s.instance, s.version, s.payload);
      });
    // Flip a byte inside the first ram section's payload, after its framing was written.
    const good = reencode(sections);
    const before = reencode(sections.slice(0, firstRam)).length - 9;
    const bad = good.slice();
    bad[before + 40]! ^= 1;
    const dst = await machine([], true);
    const l1 = new IncomingLoader(dst.opts, dst);
    expect(() => l1.push(bad)).toThrow("section 'ram' instance 0: checksum mismatch (CRC32)");
    const l2 = new IncomingLoader(dst.opts, dst);
    l2.push(reencode(sections.filter((s) => s.id !== 'plic')));
    expect(() => l2.finish()).toThrow("stream has no 'plic' section");
  });
});
