/**
 * Flattened device tree (DTB) writing and reading, per the Devicetree
 * Specification v0.4 chapter 5: a header, the memory reservation block,
 * the structure block of tokens and the strings block, all big-endian.
 */

export const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const HEADER_SIZE = 40;

/**
 * A property value: a string or string list, one u32 cell, a list of u32
 * cells, a u64 as two cells, raw bytes, or `null` for an empty (boolean)
 * property.
 */
export type FdtValue = string | string[] | number | number[] | bigint | Uint8Array | null;

/** A device tree node: named properties (encoded big-endian as in a DTB) and child nodes. */
export class FdtNode {
  /** Properties by name, values encoded as in a DTB. */
  readonly props = new Map<string, Uint8Array>();
  /** Child nodes, in order. */
  readonly children: FdtNode[] = [];

  constructor(
    /** Node name (with unit address), '' for the root. */
    readonly name: string,
  ) {}

  /** Set a property; returns this node so calls chain. */
  prop(name: string, value: FdtValue): this {
    this.props.set(name, encodeValue(value));
    return this;
  }

  /** Add and return a child node; a duplicate name is an error, as dtc reports. */
  child(name: string): FdtNode {
    if (this.children.some((c) => c.name === name)) throw new Error(`fdt: duplicate node ${name}`);
    const c = new FdtNode(name);
    this.children.push(c);
    return c;
  }

  /** The descendant at a '/'-separated path, if any. */
  find(path: string): FdtNode | undefined {
    let n: FdtNode | undefined = this;
    for (const part of path.split('/').filter(Boolean)) n = n?.children.find((c) => c.name === part);
    return n;
  }

  /** A property as u32 cells. */
  cells(name: string): number[] | undefined {
    const v = this.props.get(name);
    if (v === undefined) return undefined;
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    return Array.from({ length: v.length >> 2 }, (_, i) => dv.getUint32(i * 4));
  }

  /** A property as a list of NUL-terminated strings. */
  strings(name: string): string[] | undefined {
    const v = this.props.get(name);
    if (v === undefined) return undefined;
    return new TextDecoder().decode(v).split('\0').slice(0, -1);
  }
}

function encodeValue(value: FdtValue): Uint8Array {
  if (value === null) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value.slice();
  if (typeof value === 'string') value = [value];
  if (Array.isArray(value) && (value.length === 0 || typeof value[0] === 'string')) {
    return new TextEncoder().encode((value as string[]).map((s) => `${s}\0`).join(''));
  }
  if (typeof value === 'bigint') value = [Number(value >> 32n), Number(value & 0xffff_ffffn)];
  if (typeof value === 'number') value = [value];
  const cells = value as number[];
  const out = new Uint8Array(cells.length * 4);
  const dv = new DataView(out.buffer);
  for (const [i, c] of cells.entries()) {
    if (!Number.isInteger(c) || c < 0 || c > 0xffff_ffff) throw new RangeError(`fdt: cell ${c} is not a u32`);
    dv.setUint32(i * 4, c);
  }
  return out;
}

/** Split a u64 address or size into cells for #address-cells/#size-cells = 2. */
export function u64Cells(v: number | bigint): [number, number] {
  const b = BigInt(v);
  return [Number(b >> 32n), Number(b & 0xffff_ffffn)];
}

class ByteWriter {
  buf = new Uint8Array(1024);
  len = 0;
  private grow(n: number) {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u32(v: number) {
    this.grow(4);
    new DataView(this.buf.buffer).setUint32(this.len, v);
    this.len += 4;
  }
  bytes(b: Uint8Array) {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  align4() {
    while (this.len & 3) this.bytes(Uint8Array.of(0));
  }
}

/** Header fields and reservations for `toDtb()`: boot_cpuid_phys and the memory reservation block. */
export interface DtbOptions {
  /** boot_cpuid_phys header field. */
  bootCpuidPhys?: number;
  /** Memory reservation entries (address, size). */
  reserve?: [bigint, bigint][];
}

/** Serialise a tree to a DTB blob (version 17). */
export function toDtb(root: FdtNode, opts: DtbOptions = {}): Uint8Array {
  const strings = new ByteWriter();
  const stringOffsets = new Map<string, number>();
  const nameOff = (name: string) => {
    let off = stringOffsets.get(name);
    if (off === undefined) {
      off = strings.len;
      strings.bytes(new TextEncoder().encode(`${name}\0`));
      stringOffsets.set(name, off);
    }
    return off;
  };
  const struct = new ByteWriter();
  const emit = (n: FdtNode) => {
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(new TextEncoder().encode(`${n.name}\0`));
    struct.align4();
    for (const [name, v] of n.props) {
      struct.u32(FDT_PROP);
      struct.u32(v.length);
      struct.u32(nameOff(name));
      struct.bytes(v);
      struct.align4();
    }
    for (const c of n.children) emit(c);
    struct.u32(FDT_END_NODE);
  };
  emit(root);
  struct.u32(FDT_END);

  const rsv = new ByteWriter();
  for (const [a, s] of opts.reserve ?? []) {
    for (const v of [a, s]) {
      rsv.u32(Number(v >> 32n));
      rsv.u32(Number(v & 0xffff_ffffn));
    }
  }
  for (let i = 0; i < 4; i++) rsv.u32(0);

  const offRsv = HEADER_SIZE; // 8-aligned
  const offStruct = offRsv + rsv.len;
  const offStrings = offStruct + struct.len;
  const total = offStrings + strings.len;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const header = [
    FDT_MAGIC,
    total,
    offStruct,
    offStrings,
    offRsv,
    FDT_VERSION,
    FDT_LAST_COMP_VERSION,
    opts.bootCpuidPhys ?? 0,
    strings.len,
    struct.len,
  ];
  for (const [i, v] of header.entries()) dv.setUint32(i * 4, v);
  out.set(rsv.buf.subarray(0, rsv.len), offRsv);
  out.set(struct.buf.subarray(0, struct.len), offStruct);
  out.set(strings.buf.subarray(0, strings.len), offStrings);
  return out;
}

/** Parse a DTB back into a tree; throws on a malformed blob. */
export function fromDtb(blob: Uint8Array): FdtNode {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (blob.length < HEADER_SIZE || dv.getUint32(0) !== FDT_MAGIC) throw new Error('fdt: bad magic');
  const total = dv.getUint32(4);
  if (total > blob.length) throw new Error('fdt: truncated');
  const offStruct = dv.getUint32(8);
  const offStrings = dv.getUint32(12);
  const strAt = (off: number) => {
    let end = off;
    while (blob[end] !== 0) end++;
    return new TextDecoder().decode(blob.subarray(off, end));
  };
  let p = offStruct;
  const stack: FdtNode[] = [];
  let root: FdtNode | undefined;
  for (;;) {
    const tok = dv.getUint32(p);
    p += 4;
    if (tok === FDT_BEGIN_NODE) {
      const name = strAt(p);
      p += (name.length + 1 + 3) & ~3;
      const node = stack.length ? stack.at(-1)!.child(name) : new FdtNode(name);
      root ??= node;
      stack.push(node);
    } else if (tok === FDT_PROP) {
      const len = dv.getUint32(p);
      const name = strAt(offStrings + dv.getUint32(p + 4));
      p += 8;
      stack.at(-1)!.props.set(name, blob.slice(p, p + len));
      p += (len + 3) & ~3;
    } else if (tok === FDT_END_NODE) {
      stack.pop();
    } else if (tok === FDT_NOP) {
      // skip
    } else if (tok === FDT_END) {
      break;
    } else {
      throw new Error(`fdt: bad token ${tok} at ${p - 4}`);
    }
  }
  if (root === undefined || stack.length !== 0) throw new Error('fdt: unbalanced structure block');
  return root;
}
