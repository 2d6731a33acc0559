import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter, concatBytes } from './byte-io.ts';

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
    if (this.ended) throw new Error('migration stream already ended');
    const head = new ByteWriter()
      .u8(QEMU_VM_SECTION_FULL)
      .str(id)
      .u32(instance)
      .u32(version)
      .u32(payload.length)
      .finish();
    const sum = new ByteWriter().u32(crc32(payload, crc32(head))).finish();
    this.emit(head);
    this.emit(payload);
    this.emit(sum);
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
