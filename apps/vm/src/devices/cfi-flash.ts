import { type BusDevice, fail } from '@tsvirt/core-bus';
import { ByteReader, ByteWriter } from '../migration/byte-io.ts';

// A NOR flash bank with the Intel/Sharp command set (CFI primary command set
// 0x0001), one 32-bit-wide device per bank, as the `cfi-flash` banks of
// QEMU's virt board are seen by firmware: read array, read identifier, CFI
// query, read/clear status, word and buffered program, block erase, block
// lock/unlock, and suspend/resume (operations finish at once, so those only
// acknowledge). Facts from the CFI specification (JESD68) and Intel's
// command-set definition; programming can only clear bits, erase sets a
// whole block to 0xff, and a locked block refuses both with the status bits
// the command set defines.

/** Block (sector) size and count: 128 x 256 KiB = 32 MiB, the size of each virt bank. */
export const CFI_BLOCK_SIZE = 0x4_0000;
export const CFI_BLOCKS = 128;
export const CFI_BANK_SIZE = CFI_BLOCK_SIZE * CFI_BLOCKS;
/** The device's bus width in bytes (x32): commands, status and query data are per 32-bit word. */
const WIDTH = 4;
/** Manufacturer and device codes of read identifier (Intel's manufacturer code; an x32 part of this model). */
export const CFI_MANUFACTURER = 0x89;
export const CFI_DEVICE = 0x001d;
/** Bytes a buffered program takes at most (CFI offset 0x2a: 2^6). */
export const CFI_WRITE_BUFFER = 64;

// Commands (the low byte of a bus write).
const CMD_READ_ARRAY = 0xff;
const CMD_READ_ID = 0x90;
const CMD_CFI_QUERY = 0x98;
const CMD_READ_STATUS = 0x70;
const CMD_CLEAR_STATUS = 0x50;
const CMD_PROGRAM = 0x40;
const CMD_PROGRAM_ALT = 0x10;
const CMD_BUFFERED_PROGRAM = 0xe8;
const CMD_ERASE_SETUP = 0x20;
const CMD_CONFIRM = 0xd0;
const CMD_LOCK_SETUP = 0x60;
const CMD_LOCK_SET = 0x01;
const CMD_SUSPEND = 0xb0;

// Status register bits.
export const SR_READY = 0x80;
export const SR_ERASE_ERROR = 0x20;
export const SR_PROGRAM_ERROR = 0x10;
export const SR_LOCKED = 0x02;

/** The CFI query table by byte offset (each byte read at word offset n of the bank in query mode). */
const QUERY = (() => {
  const q = new Uint8Array(0x48);
  q.set([0x51, 0x52, 0x59], 0x10); // "QRY"
  q.set([0x01, 0x00], 0x13); // primary command set: Intel/Sharp extended
  q.set([0x31, 0x00], 0x15); // primary extended table at 0x31
  q.set([0x27, 0x36, 0x00, 0x00], 0x1b); // Vcc 2.7-3.6 V, no Vpp
  q.set([0x07, 0x07, 0x0a, 0x00], 0x1f); // typical: word 128 us, buffer 128 us, block erase 1 s, no chip erase
  q.set([0x04, 0x04, 0x04, 0x00], 0x23); // maximum: 16x typical
  q[0x27] = Math.log2(CFI_BANK_SIZE); // device size 2^25
  q.set([0x03, 0x00], 0x28); // interface: x32
  q.set([Math.log2(CFI_WRITE_BUFFER), 0x00], 0x2a);
  q[0x2c] = 1; // one erase block region
  q.set([(CFI_BLOCKS - 1) & 0xff, (CFI_BLOCKS - 1) >> 8], 0x2d);
  q.set([(CFI_BLOCK_SIZE >> 8) & 0xff, CFI_BLOCK_SIZE >> 16], 0x2f);
  // Primary extended query: "PRI" 1.0, no optional features, block status bit 0 = locked, Vcc 3.3 V.
  q.set([0x50, 0x52, 0x49, 0x31, 0x30, 0, 0, 0, 0, 0, 0x01, 0x00, 0x33, 0x00], 0x31);
  return q;
})();

type Mode = 'array' | 'status' | 'id' | 'query';
type Pending =
  | { kind: 'none' }
  | { kind: 'program' }
  | { kind: 'erase' }
  | { kind: 'lock' }
  | { kind: 'buffer-count'; block: number }
  | { kind: 'buffer-data'; block: number; left: number; words: [number, Uint8Array][] }
  | { kind: 'buffer-confirm'; block: number; words: [number, Uint8Array][] };

const MODES: readonly Mode[] = ['array', 'status', 'id', 'query'];
const PENDING_KINDS: readonly Pending['kind'][] = [
  'none',
  'program',
  'erase',
  'lock',
  'buffer-count',
  'buffer-data',
  'buffer-confirm',
];

export class CfiFlash implements BusDevice {
  /** Blocks written since power-on; an absent block is erased (all 0xff). */
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly locked = new Uint8Array(CFI_BLOCKS);
  private mode: Mode = 'array';
  private pending: Pending = { kind: 'none' };
  private status = SR_READY;

  /**
   * The written blocks (an absent block is erased), lock bits, mode,
   * status and any command in progress (a buffered program half-way
   * included), for a snapshot (QEMU's vmstate_pflash plus the contents).
   */
  saveState(): Uint8Array {
    const w = new ByteWriter().u8(MODES.indexOf(this.mode)).u8(this.status).bytes(this.locked);
    const p = this.pending;
    w.u8(PENDING_KINDS.indexOf(p.kind));
    if (p.kind === 'buffer-count' || p.kind === 'buffer-data' || p.kind === 'buffer-confirm') w.u32(p.block);
    if (p.kind === 'buffer-data') w.u32(p.left);
    if (p.kind === 'buffer-data' || p.kind === 'buffer-confirm') {
      w.u32(p.words.length);
      for (const [off, data] of p.words) w.u32(off).blob(data);
    }
    w.u32(this.blocks.size);
    for (const [n, b] of this.blocks) w.u32(n).bytes(b);
    return w.finish();
  }

  /** Load saveState()'s bytes; EINVAL (and nothing changed) for a bad one. */
  loadState(bytes: Uint8Array): void {
    const r = new ByteReader(bytes, 'cfi-flash state');
    const mode = MODES[r.u8()];
    const status = r.u8();
    const locked = r.bytes(CFI_BLOCKS).slice();
    const kind = PENDING_KINDS[r.u8()];
    if (mode === undefined || kind === undefined || locked.some((b) => b > 1))
      fail('EINVAL', 'bad cfi-flash state');
    const block = kind.startsWith('buffer') ? r.u32() : 0;
    const left = kind === 'buffer-data' ? r.u32() : 0;
    const words: [number, Uint8Array][] = [];
    if (kind === 'buffer-data' || kind === 'buffer-confirm') {
      const n = r.u32();
      if (n > CFI_WRITE_BUFFER) fail('EINVAL', 'bad cfi-flash write buffer');
      for (let i = 0; i < n; i++) words.push([r.u32(), r.blob().slice()]);
    }
    const nblocks = r.u32();
    if (nblocks > CFI_BLOCKS) fail('EINVAL', 'bad cfi-flash block count');
    const blocks = new Map<number, Uint8Array>();
    for (let i = 0; i < nblocks; i++) {
      const n = r.u32();
      if (n >= CFI_BLOCKS) fail('EINVAL', 'bad cfi-flash block number');
      blocks.set(n, r.bytes(CFI_BLOCK_SIZE).slice());
    }
    r.end();
    if (block >= CFI_BLOCKS || left > CFI_WRITE_BUFFER) fail('EINVAL', 'bad cfi-flash pending command');
    this.mode = mode;
    this.status = status;
    this.locked.set(locked);
    this.pending =
      kind === 'buffer-count'
        ? { kind, block }
        : kind === 'buffer-data'
          ? { kind, block, left, words }
          : kind === 'buffer-confirm'
            ? { kind, block, words }
            : { kind };
    this.blocks.clear();
    for (const [n, b] of blocks) this.blocks.set(n, b);
  }

  /** The bank's contents at `offset` (for tests and snapshots). */
  peek(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.byte(offset + i);
    return out;
  }

  /** Load an image at power-on (a firmware or environment file), as `-drive if=pflash` does. */
  load(image: Uint8Array, offset = 0): void {
    if (offset < 0 || offset + image.length > CFI_BANK_SIZE)
      throw new RangeError('image does not fit the bank');
    for (let i = 0; i < image.length; i++) this.setByte(offset + i, image[i]!);
  }

  isLocked(block: number): boolean {
    return this.locked[block] === 1;
  }

  read(offset: number, data: Uint8Array): void {
    if (this.mode === 'array') {
      for (let i = 0; i < data.length; i++) data[i] = this.byte(offset + i);
      return;
    }
    // Status, identifier and query data answer per 32-bit word (a byte, or the 16-bit device code).
    for (let i = 0; i < data.length; i++) {
      const a = offset + i;
      data[i] = (this.wordValue(a) >>> (8 * (a % WIDTH))) & 0xff;
    }
  }

  write(offset: number, data: Uint8Array): void {
    let value = 0;
    for (let i = data.length - 1; i >= 0; i--) value = value * 256 + data[i]!;
    const p = this.pending;
    switch (p.kind) {
      case 'program':
        this.pending = { kind: 'none' };
        this.mode = 'status';
        this.program(offset, data);
        return;
      case 'erase':
        this.pending = { kind: 'none' };
        this.mode = 'status';
        if ((value & 0xff) !== CMD_CONFIRM) this.status |= SR_ERASE_ERROR | SR_PROGRAM_ERROR;
        else this.erase(Math.floor(offset / CFI_BLOCK_SIZE));
        return;
      case 'lock':
        this.pending = { kind: 'none' };
        this.mode = 'status';
        if ((value & 0xff) === CMD_LOCK_SET) this.locked[Math.floor(offset / CFI_BLOCK_SIZE)] = 1;
        else if ((value & 0xff) === CMD_CONFIRM) this.locked[Math.floor(offset / CFI_BLOCK_SIZE)] = 0;
        else this.status |= SR_ERASE_ERROR | SR_PROGRAM_ERROR;
        return;
      case 'buffer-count': {
        // The count is of device words, minus one.
        const words = (value & 0xff) + 1;
        if (words * WIDTH > CFI_WRITE_BUFFER) {
          this.pending = { kind: 'none' };
          this.status |= SR_ERASE_ERROR | SR_PROGRAM_ERROR;
          return;
        }
        this.pending = { kind: 'buffer-data', block: p.block, left: words, words: [] };
        return;
      }
      case 'buffer-data': {
        p.words.push([offset, data.slice()]);
        if (--p.left === 0) this.pending = { kind: 'buffer-confirm', block: p.block, words: p.words };
        return;
      }
      case 'buffer-confirm':
        this.pending = { kind: 'none' };
        this.mode = 'status';
        if ((value & 0xff) !== CMD_CONFIRM) {
          this.status |= SR_ERASE_ERROR | SR_PROGRAM_ERROR;
          return;
        }
        if (p.words.some(([off]) => Math.floor(off / CFI_BLOCK_SIZE) !== p.block)) {
          // Buffer data outside the block the command named: a program error, nothing written.
          this.status |= SR_PROGRAM_ERROR;
          return;
        }
        if (this.locked[p.block]) {
          this.status |= SR_PROGRAM_ERROR | SR_LOCKED;
          return;
        }
        for (const [off, bytes] of p.words) this.program(off, bytes);
        return;
      case 'none':
        break;
    }
    this.command(value & 0xff, offset);
  }

  private command(cmd: number, offset: number): void {
    switch (cmd) {
      case CMD_READ_ARRAY:
        this.mode = 'array';
        return;
      case CMD_READ_ID:
        this.mode = 'id';
        return;
      case CMD_CFI_QUERY:
        this.mode = 'query';
        return;
      case CMD_READ_STATUS:
        this.mode = 'status';
        return;
      case CMD_CLEAR_STATUS:
        this.status = SR_READY;
        return;
      case CMD_PROGRAM:
      case CMD_PROGRAM_ALT:
        this.pending = { kind: 'program' };
        return;
      case CMD_ERASE_SETUP:
        this.pending = { kind: 'erase' };
        return;
      case CMD_LOCK_SETUP:
        this.pending = { kind: 'lock' };
        return;
      case CMD_BUFFERED_PROGRAM:
        // The buffer is always free at once: status reads show ready.
        this.mode = 'status';
        this.pending = { kind: 'buffer-count', block: Math.floor(offset / CFI_BLOCK_SIZE) };
        return;
      case CMD_SUSPEND:
      case CMD_CONFIRM:
        // Nothing runs long enough to suspend; resume has nothing to do.
        this.mode = 'status';
        return;
      default:
        // Other vendors' commands (0xf0 reset, unlock cycles) while firmware probes: back to read array.
        this.mode = 'array';
    }
  }

  /** Program the bytes at offset: bits can only go from 1 to 0. */
  private program(offset: number, data: Uint8Array): void {
    const block = Math.floor(offset / CFI_BLOCK_SIZE);
    if (this.locked[block]) {
      this.status |= SR_PROGRAM_ERROR | SR_LOCKED;
      return;
    }
    for (let i = 0; i < data.length; i++) this.setByte(offset + i, this.byte(offset + i) & data[i]!);
  }

  private erase(block: number): void {
    if (this.locked[block]) {
      this.status |= SR_ERASE_ERROR | SR_LOCKED;
      return;
    }
    this.blocks.delete(block);
  }

  /** What a status/identifier/query read of the word holding byte `a` returns. */
  private wordValue(a: number): number {
    const word = Math.floor(a / WIDTH);
    switch (this.mode) {
      case 'status':
        return this.status;
      case 'id': {
        // Per block: manufacturer at word 0, device at word 1, lock status at word 2 (read identifier).
        const inBlock = word % (CFI_BLOCK_SIZE / WIDTH);
        if (inBlock === 0) return CFI_MANUFACTURER;
        if (inBlock === 1) return CFI_DEVICE;
        if (inBlock === 2) return this.locked[Math.floor(a / CFI_BLOCK_SIZE)]!;
        return 0;
      }
      default:
        return word < QUERY.length ? QUERY[word]! : 0;
    }
  }

  private byte(offset: number): number {
    const b = this.blocks.get(Math.floor(offset / CFI_BLOCK_SIZE));
    return b === undefined ? 0xff : b[offset % CFI_BLOCK_SIZE]!;
  }

  private setByte(offset: number, v: number): void {
    const i = Math.floor(offset / CFI_BLOCK_SIZE);
    let b = this.blocks.get(i);
    if (b === undefined) {
      b = new Uint8Array(CFI_BLOCK_SIZE).fill(0xff);
      this.blocks.set(i, b);
    }
    b[offset % CFI_BLOCK_SIZE] = v;
  }
}
