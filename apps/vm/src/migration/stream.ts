import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter, concatBytes } from './byte-io.ts';
import { crc32Combine } from './crc32-combine.ts';

/**
 * The migration stream, shaped as QEMU's (migration/savevm.c): a header with
 * a magic and a version, then one section per device state, each with its
 * id string, instance and version (QEMU_VM_SECTION_FULL), and an end marker
 * (QEMU_VM_EOF). Unlike QEMU, each section carries a CRC32 of itself and the
 * end marker a CRC32 of the whole stream and the section count, so a
 * corrupted byte, a dropped section or a cut file is always refused.
 *
 * Written through a sink of chunks so the same writer can feed a file now
 * and a socket for live migration later.
 */

/** "TSVM": this VMM's stream (QEMU's is "QEVM", QEMU_VM_FILE_MAGIC). */
export const MIGRATION_MAGIC = 0x4d56_5354;
/** The stream format's version (QEMU_VM_FILE_VERSION is 3); bumped when the framing changes. */
export const MIGRATION_VERSION = 1;
/** QEMU's section type bytes. */
export const QEMU_VM_EOF = 0x02;
export const QEMU_VM_SECTION_FULL = 0x04;

const HEADER_SIZE = 8;
/** One encoder for the section ids (made once: the writer encodes one per section). */
const UTF8 = new TextEncoder();

/** Bytes of a section's head: type, id length, id, instance, version, payload length. */
export function sectionHeadLength(id: string): number {
  const n = UTF8.encode(id).length;
  if (n > 255) throw new RangeError(`string too long for the stream: ${id}`);
  return 2 + n + 12;
}

/** Why a stream cannot be loaded: one line, for the VMM's exit-2 message or a QMP error. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export interface Section {
  id: string;
  instance: number;
  version: number;
  payload: Uint8Array;
}

/** Writes sections to a sink as they are produced; `end()` writes the end marker. */
export class MigrationStreamWriter {
  private crc = 0;
  private sections = 0;
  private ended = false;

  constructor(private readonly sink: (chunk: Uint8Array) => void) {
    this.emit(new ByteWriter().u32(MIGRATION_MAGIC).u32(MIGRATION_VERSION).finish());
  }

  private emit(chunk: Uint8Array): void {
    this.crc = crc32(chunk, this.crc);
    this.sink(chunk);
  }

  section(id: string, instance: number, version: number, payload: Uint8Array): void {
    const headLen = sectionHeadLength(id);
    const buf = new Uint8Array(headLen + payload.length + 4);
    buf.set(payload, headLen);
    this.sectionInPlace(buf, id, instance, version);
  }

  /**
   * A section laid out by the caller in one buffer: `sectionHeadLength(id)`
   * bytes left for the head, the payload, 4 bytes left for the CRC. The head
   * and CRC are filled in here, the bytes read once (the stream's CRC is
   * combined from the section's) and given to the sink in one piece, which
   * then owns the buffer: how RAM goes without a copy per page.
   */
  sectionInPlace(buf: Uint8Array, id: string, instance: number, version: number): void {
    if (this.ended) throw new Error('migration stream already ended');
    const headLen = sectionHeadLength(id);
    const len = buf.length - headLen - 4;
    if (len < 0) throw new RangeError('section buffer shorter than its head and CRC');
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const name = UTF8.encode(id);
    buf[0] = QEMU_VM_SECTION_FULL;
    buf[1] = name.length;
    buf.set(name, 2);
    dv.setUint32(2 + name.length, instance >>> 0, true);
    dv.setUint32(6 + name.length, version >>> 0, true);
    dv.setUint32(10 + name.length, len, true);
    const sum = crc32(buf.subarray(0, headLen + len));
    dv.setUint32(headLen + len, sum, true);
    this.crc = crc32(buf.subarray(headLen + len), crc32Combine(this.crc, sum, headLen + len));
    this.sink(buf);
    this.sections++;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    const eof = new ByteWriter().u8(QEMU_VM_EOF).u32(this.sections).finish();
    this.emit(eof);
    this.sink(new ByteWriter().u32(this.crc).finish());
  }
}

/** Write a whole stream to one buffer (a snapshot file). */
export function encodeStream(write: (w: MigrationStreamWriter) => void): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new MigrationStreamWriter((c) => chunks.push(c));
  write(w);
  w.end();
  return concatBytes(chunks);
}

/**
 * Parse and check a whole stream before anything is built from it: magic,
 * version, every section's framing and CRC, the end marker, the section
 * count and the stream CRC, and nothing after it. Which sections are known
 * is for the loader to say.
 */
export function decodeStream(bytes: Uint8Array): Section[] {
  if (bytes.length < HEADER_SIZE) throw new MigrationError('not a migration stream (truncated header)');
  const r = new ByteReader(bytes, 'stream');
  const magic = r.u32();
  if (magic !== MIGRATION_MAGIC)
    throw new MigrationError(`not a migration stream (magic 0x${magic.toString(16).padStart(8, '0')})`);
  const version = r.u32();
  if (version !== MIGRATION_VERSION)
    throw new MigrationError(
      `stream version ${version} is not supported (this VMM reads ${MIGRATION_VERSION})`,
    );
  const sections: Section[] = [];
  for (;;) {
    if (r.left < 1) throw new MigrationError('stream is truncated (no end marker)');
    const at = r.pos;
    const type = r.u8();
    if (type === QEMU_VM_EOF) {
      if (r.left < 8) throw new MigrationError('stream is truncated (in the end marker)');
      const count = r.u32();
      const want = crc32(bytes.subarray(0, r.pos));
      const got = r.u32();
      if (got !== want) throw new MigrationError('stream checksum mismatch (CRC32 over the whole stream)');
      if (count !== sections.length)
        throw new MigrationError(
          `stream ends after ${sections.length} sections, its end marker says ${count}`,
        );
      if (r.left !== 0) throw new MigrationError(`${r.left} bytes after the end marker`);
      return sections;
    }
    if (type !== QEMU_VM_SECTION_FULL)
      throw new MigrationError(`unknown section type 0x${type.toString(16)} at offset ${at}`);
    let id: string;
    let instance: number;
    let sversion: number;
    let payload: Uint8Array;
    try {
      id = r.str();
      instance = r.u32();
      sversion = r.u32();
      payload = r.bytes(r.u32());
      const want = crc32(bytes.subarray(at, r.pos));
      if (r.u32() !== want)
        throw new MigrationError(`section '${id}' instance ${instance}: checksum mismatch (CRC32)`);
    } catch (e) {
      if (e instanceof MigrationError) throw e;
      throw new MigrationError(`stream is truncated (in the section at offset ${at})`);
    }
    sections.push({ id, instance, version: sversion, payload });
  }
}

/** The largest section `compact` makes room for ahead of its bytes (a 4 MiB VFIO blob fits). */
const ASSEMBLE_MAX = 16 << 20;

/**
 * The same stream parsed as it arrives (QEMU's destination reads the
 * QEMUFile as the socket fills it, qemu_loadvm_state_main()): `push` gives
 * each section once all of its bytes are in and its own CRC32 matched,
 * and keeps the whole-stream CRC32 as it goes; `finish`, at the end of
 * input, refuses what `decodeStream` refuses for a stream cut short or
 * with bytes after the end marker. A refusal is the same one line.
 */
export class MigrationStreamReader {
  private chunks: Uint8Array[] = [];
  /** The first chunk not wholly consumed, and how much of it is. */
  private first = 0;
  private skip = 0;
  private buffered = 0;
  /** Stream offset of the next unconsumed byte. */
  private offset = 0;
  private crc = 0;
  private count = 0;
  private state: 'header' | 'sections' | 'ended' = 'header';
  private trailing = 0;
  /** The head of the section being received, parsed once. */
  private pendingHead:
    | { headLen: number; id: string; instance: number; version: number; len: number }
    | undefined;

  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Two buffers `compact` copies into in turn (the one not holding what is buffered now). */
  private carry: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  private carryIdx = 0;
  /**
   * After `compact`, the carry buffer holding the start of a section whose
   * head is known, with room for the whole section: the next chunks' bytes
   * of that section are appended there, so it completes in one piece.
   */
  private assembling: Uint8Array | undefined;

  /**
   * Copy what is still buffered (a section not yet whole) out of the
   * chunks given so far, which the caller is then free to overwrite: how a
   * socket read into one reused buffer is fed. Sections already given out
   * keep referring to those chunks. When the section's head is known, the
   * copy has room for all of it and the rest is appended as it arrives
   * (each byte of a section that spans reads is copied once, not once per
   * read and again to join the pieces).
   */
  compact(): void {
    // Still assembling, nothing else buffered: the bytes are already out of the caller's chunks.
    if (this.assembling !== undefined && this.chunks.length === 1 && this.first === 0 && this.skip === 0)
      return;
    this.assembling = undefined;
    if (this.buffered === 0) {
      this.chunks = [];
      this.first = 0;
      this.skip = 0;
      return;
    }
    const pending = this.pendingHead;
    // A length beyond ASSEMBLE_MAX (a corrupted one, say) gets no room made ahead of its bytes.
    const head =
      pending !== undefined && pending.headLen + pending.len + 4 <= ASSEMBLE_MAX ? pending : undefined;
    const whole = head === undefined ? this.buffered : Math.max(this.buffered, head.headLen + head.len + 4);
    const idx = this.carryIdx ^ 1;
    if (this.carry[idx]!.length < whole)
      this.carry[idx] = new Uint8Array(Math.max(whole, 2 * this.carry[idx]!.length));
    const out = this.carry[idx]!.subarray(0, this.buffered);
    let o = 0;
    let skip = this.skip;
    for (let k = this.first; k < this.chunks.length; k++) {
      const part = this.chunks[k]!.subarray(skip);
      out.set(part, o);
      o += part.length;
      skip = 0;
    }
    this.chunks = [out];
    this.first = 0;
    this.skip = 0;
    this.carryIdx = idx;
    if (head !== undefined) this.assembling = this.carry[idx]!.subarray(0, whole);
  }

  /** Take a chunk; returns the sections it completed, in stream order. */
  push(chunk: Uint8Array): Section[] {
    return [...this.sections(chunk)];
  }

  /**
   * Take a chunk and give the sections it completes one at a time, each
   * parsed only when the consumer asks for the next. With `scratch`, the
   * payload of a section whose id it names is assembled (when it spans
   * socket reads) in one buffer reused for every such section: valid only
   * until the next is asked for, so the consumer must be done with it
   * (the destination loads each 'ram' section at once).
   */
  *sections(chunk: Uint8Array, scratch?: string): Generator<Section> {
    if (this.state === 'ended') {
      this.trailing += chunk.length;
      return;
    }
    if (chunk.length === 0) return;
    const into = this.assembling;
    if (into !== undefined) {
      // The section `compact` began to assemble: append its next bytes to it.
      this.assembling = undefined;
      const at = this.chunks[0]!.length;
      const n = Math.min(into.length - at, chunk.length);
      into.set(chunk.subarray(0, n), at);
      this.chunks[0] = into.subarray(0, at + n);
      this.buffered += n;
      if (at + n < into.length) this.assembling = into;
      chunk = chunk.subarray(n);
    }
    if (chunk.length !== 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.state === 'header') {
        if (this.buffered < HEADER_SIZE) break;
        const r = new ByteReader(this.take(HEADER_SIZE), 'stream');
        const magic = r.u32();
        if (magic !== MIGRATION_MAGIC)
          throw new MigrationError(`not a migration stream (magic 0x${magic.toString(16).padStart(8, '0')})`);
        const version = r.u32();
        if (version !== MIGRATION_VERSION)
          throw new MigrationError(
            `stream version ${version} is not supported (this VMM reads ${MIGRATION_VERSION})`,
          );
        this.state = 'sections';
        continue;
      }
      if (this.state === 'ended') {
        this.trailing += this.buffered;
        this.chunks = [];
        this.first = 0;
        this.skip = 0;
        this.buffered = 0;
        break;
      }
      // A section whose head was read while its payload was still arriving: only its length is
      // checked again (a 1 MiB section comes in sixteen socket reads).
      let head = this.pendingHead;
      if (head === undefined) {
        if (this.buffered < 1) break;
        const at = this.offset;
        const type = this.peek(1)[0]!;
        if (type === QEMU_VM_EOF) {
          if (this.buffered < 9) break;
          const r = new ByteReader(this.take(5), 'stream');
          r.u8();
          const count = r.u32();
          const want = this.crc;
          const got = new ByteReader(this.take(4), 'stream').u32();
          if (got !== want)
            throw new MigrationError('stream checksum mismatch (CRC32 over the whole stream)');
          if (count !== this.count)
            throw new MigrationError(
              `stream ends after ${this.count} sections, its end marker says ${count}`,
            );
          this.state = 'ended';
          continue;
        }
        if (type !== QEMU_VM_SECTION_FULL)
          throw new MigrationError(`unknown section type 0x${type.toString(16)} at offset ${at}`);
        // type, id length, id, instance, version, payload length; then the payload and its CRC.
        if (this.buffered < 2) break;
        const idLen = this.peek(2)[1]!;
        const headLen = 2 + idLen + 12;
        if (this.buffered < headLen) break;
        const hr = new ByteReader(this.peek(headLen), 'stream');
        hr.u8();
        head = { headLen, id: hr.str(), instance: hr.u32(), version: hr.u32(), len: hr.u32() };
        this.pendingHead = head;
      }
      const { headLen, id, instance, version, len } = head;
      if (this.buffered < headLen + len + 4) break;
      this.pendingHead = undefined;
      // The section's CRC is read once; the stream's is combined from it.
      const headBytes = this.take(headLen, false);
      const payload = this.take(len, false, id === scratch);
      const want = crc32(payload, crc32(headBytes));
      this.crc = crc32Combine(this.crc, want, headLen + len);
      if (new ByteReader(this.take(4), 'stream').u32() !== want)
        throw new MigrationError(`section '${id}' instance ${instance}: checksum mismatch (CRC32)`);
      this.count++;
      yield { id, instance, version, payload };
    }
  }

  /** The input ended: refuse a stream without its end marker, or with bytes after it. */
  finish(): void {
    if (this.state === 'header') throw new MigrationError('not a migration stream (truncated header)');
    if (this.state === 'sections') {
      if (this.buffered === 0) throw new MigrationError('stream is truncated (no end marker)');
      if (this.peek(1)[0] === QEMU_VM_EOF)
        throw new MigrationError('stream is truncated (in the end marker)');
      throw new MigrationError(`stream is truncated (in the section at offset ${this.offset})`);
    }
    if (this.trailing !== 0) throw new MigrationError(`${this.trailing} bytes after the end marker`);
  }

  /** The reused buffer for `scratch` payloads. */
  private scratchBuf = new Uint8Array(0);

  /** The next n buffered bytes, not consumed (a copy only when they span chunks: into scratch if asked). */
  private peek(n: number, reuse = false): Uint8Array {
    const head = this.chunks[this.first]!;
    if (head.length - this.skip >= n) return head.subarray(this.skip, this.skip + n);
    if (reuse && this.scratchBuf.length < n) this.scratchBuf = new Uint8Array(n);
    const out = reuse ? this.scratchBuf.subarray(0, n) : new Uint8Array(n);
    let o = 0;
    let skip = this.skip;
    for (let k = this.first; k < this.chunks.length; k++) {
      const part = this.chunks[k]!.subarray(skip, skip + (n - o));
      out.set(part, o);
      o += part.length;
      skip = 0;
      if (o === n) break;
    }
    return out;
  }

  /** Consume n buffered bytes, adding them to the whole-stream CRC unless the caller combines it. */
  private take(n: number, sum = true, reuse = false): Uint8Array {
    const out = this.peek(n, reuse);
    let left = n;
    while (left > 0) {
      const avail = this.chunks[this.first]!.length - this.skip;
      if (avail > left) {
        this.skip += left;
        left = 0;
      } else {
        left -= avail;
        this.first++;
        this.skip = 0;
      }
    }
    // Drop consumed chunks now and then, so a stream fed in tiny pieces stays linear.
    if (this.first > 1024 || this.first === this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    this.buffered -= n;
    this.offset += n;
    if (sum) this.crc = crc32(out, this.crc);
    return out;
  }
}
