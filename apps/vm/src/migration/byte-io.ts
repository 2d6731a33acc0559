import { fail } from '@tsvirt/core-bus';

/** One decoder for every id string (made once: a stream reads one per section head). */
const UTF8 = new TextDecoder('utf-8', { fatal: false });

/** A growable little-endian byte buffer: how every section payload is written. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private dv = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.dv.setUint32(this.length, v >>> 0, true);
    this.length += 4;
    return this;
  }

  u64(v: number | bigint): this {
    this.room(8);
    this.dv.setBigUint64(this.length, BigInt.asUintN(64, BigInt(v)), true);
    this.length += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** A u32 length, then the bytes. */
  blob(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }

  /** A u8 length, then the UTF-8 bytes (QEMU's idstr is the same shape). */
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    if (b.length > 255) throw new RangeError(`string too long for the stream: ${s}`);
    return this.u8(b.length).bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * Reads what ByteWriter wrote; running past the end is EINVAL "truncated",
 * so a short section never reads garbage.
 */
export class ByteReader {
  private readonly dv: DataView;
  pos = 0;

  constructor(
    readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) fail('EINVAL', `${this.what} is truncated`);
  }

  get left(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A u64 that must be an exact JavaScript number. */
  num(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('EINVAL', `${this.what}: value ${v} out of range`);
    return Number(v);
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  blob(): Uint8Array {
    return this.bytes(this.u32());
  }

  str(): string {
    return UTF8.decode(this.bytes(this.u8()));
  }

  /** The payload must be used up exactly: trailing bytes mean a format this build does not know. */
  end(): void {
    if (this.left !== 0) fail('EINVAL', `${this.what} has ${this.left} unexpected trailing bytes`);
  }
}

/** Chunks joined into one plain Uint8Array (not a Buffer, whose slice() would share memory). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
