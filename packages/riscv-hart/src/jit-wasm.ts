import type { Hart } from './hart.ts';
import type { JitBlock } from './jit.ts';
import { codeSnapshot, MAX_BLOCK } from './jit.ts';
import { blockAmo, blockCsr, blockFpMem, blockFpOp } from './jit-calls.ts';
import { decodeAt } from './rvc.ts';
import { TLB_MASK, TLB_WAY_STRIDE } from './tlb.ts';
import { Wasm } from './wasm-api.ts';
import type { WasmArena } from './wasm-arena.ts';

// The WebAssembly block tier: a block (the same run of instructions jit.ts
// compiles: from a head to its first branch or jump, direct jumps within the
// page followed, a branch back to the head run as a loop) becomes one wasm
// function. Registers are i64 locals, loaded from and written back to the
// hart's x array, which lives in the arena's memory beside guest RAM and the
// TLB tags, so loads and stores hit the TLB and touch guest memory without
// leaving wasm. Integer ALU, M, loads, stores, branches and jumps compile;
// a block ends before anything else (CSRs, A, F/D, SYSTEM, FENCE.I, pause),
// which the interpreter then runs.
//
// A load or store that misses the TLB, is misaligned, or (a store) could
// break an LR/SC reservation does not run in wasm: the block writes its
// registers back and returns the index of that instruction, which the
// interpreter then executes (filling the TLB, taking the fault or the MMIO
// exit), exactly as it would have without the block.
//
// Calls: JavaScript calls one exported dispatcher, `enter(index, ...)`,
// whose call_indirect reaches the block through a table shared by every
// block module of the arena (one call target for V8, however many blocks).

// A hart's block in the arena: x0..x31, then the control words below, then
// its chain table. Byte offsets from the block's start (Hart.wasmRegs).
/** The next pc (an f64) a block or the dispatcher leaves. */
export const WASM_PC = 256;
/** Instructions retired by the blocks of the last enter() (an i32). */
export const WASM_RETIRED = 264;
/** The wasm addresses of the current TLB set's read, write and exec ways (i32 each). */
export const WASM_RW = 268;
export const WASM_WW = 272;
export const WASM_XW = 276;
/** Nonzero while LR/SC reservations are held: stores stop (i32). */
export const WASM_RESV = 280;
/**
 * The chain table: by (pc >>> 1) & CHAIN_MASK, 16-byte entries of the head
 * pc (i64), the wasm address of its first instruction (i32) and the block
 * (table index * 512 + instruction count). exec() fills an entry when it runs
 * a block it has checked in the current code epoch; the dispatcher follows
 * a block's next pc through it without returning to JavaScript.
 */
export const WASM_CHAIN = 512;
export const CHAIN_SLOTS = 16384;
export const CHAIN_MASK = CHAIN_SLOTS - 1;
/** Bytes of a hart's block in the arena. */
export const WASM_REGS_BYTES = WASM_CHAIN + CHAIN_SLOTS * 16;
/** Instructions the blocks before the current one in this enter() retired (the dispatcher's total, an i32). */
export const WASM_BASE = 284;
/** What enter() returns when the last block stopped before an instruction the interpreter must run (at WASM_PC). */
export const WASM_STOP = 1;
/** ... when an instruction the block called out for took an exception (pending in the hart; its pc at WASM_PC). */
export const WASM_TRAP = 2;
/** ... when a CSR write set Hart.jitStop: the run loop must end the chunk (at WASM_PC, after the write). */
export const WASM_END = 3;

/** Runs blocks from table index idx: (x address, idx, budget left, hart) -> 0 or a WASM_* status. */
export type WasmEnter = (x: number, idx: number, left: number, h: Hart) => number;

// ---- a minimal wasm binary writer ----

function uleb(out: number[], v: number): void {
  let n = v >>> 0;
  for (;;) {
    const b = n & 0x7f;
    n >>>= 7;
    if (n === 0) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function sleb32(out: number[], v: number): void {
  let n = v | 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function sleb64(out: number[], v: bigint): void {
  let n = BigInt.asIntN(64, v);
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

const f64Bytes = new Uint8Array(8);
const f64View = new DataView(f64Bytes.buffer);

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  for (const b of body) out.push(b);
}

function str(out: number[], s: string): void {
  uleb(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const I32 = 0x7f;
const I64 = 0x7e;
const F64 = 0x7c;
const EXTERNREF = 0x6f;
/** The block type: (x, left, hart) -> 0 or a WASM_* status. */
const BLOCK_TYPE = [0x60, 3, I32, I32, EXTERNREF, 1, I32];
/** The types of what blocks call out to (WASM_IMPORTS): (hart, insn, raw, len), (hart, insn, raw), the CSR call. */
const CALL_TYPES = [
  [0x60, 4, EXTERNREF, I32, I32, I32, 1, I32],
  [0x60, 3, EXTERNREF, I32, I32, 1, I32],
  [0x60, 6, EXTERNREF, I32, I32, F64, I32, I32, 1, I32],
];
/**
 * What blocks call out to, by slot of the tier's call-out table (and the
 * order of WASM_IMPORTS), with each one's type index in a block module.
 * Blocks reach them by call_indirect through that small table rather than
 * importing them: V8 compiles an import wrapper per imported function for
 * every module (with TurboFan), which made most of a block module's compile
 * and instantiation cost (about 0.4 ms of each).
 */
const CALL_AMO = 0;
const CALL_FP_MEM = 1;
const CALL_FP_OP = 2;
const CALL_CSR = 3;
const CALLS = 4;
const CALL_TYPE_OF = [1, 1, 2, 3];
const CALL_NAMES = ['amo', 'fpMem', 'fpOp', 'csr'] as const;
// Opcodes used.
const OP = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  callIndirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  get: 0x20,
  set: 0x21,
  tee: 0x22,
  i32Load: 0x28,
  f64Load: 0x2b,
  i64Load: 0x29,
  i64Load8s: 0x30,
  i64Load8u: 0x31,
  i64Load16s: 0x32,
  i64Load16u: 0x33,
  i64Load32s: 0x34,
  i64Load32u: 0x35,
  i32Store: 0x36,
  i64Store: 0x37,
  f64Store: 0x39,
  i64Store8: 0x3c,
  i64Store16: 0x3d,
  i64Store32: 0x3e,
  i32Const: 0x41,
  i64Const: 0x42,
  f64Const: 0x44,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LeS: 0x4c,
  i64Eqz: 0x50,
  i64Eq: 0x51,
  i64Ne: 0x52,
  i64LtS: 0x53,
  i64LtU: 0x54,
  i64GeS: 0x59,
  i64GeU: 0x5a,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32DivS: 0x6d,
  i32DivU: 0x6e,
  i32RemS: 0x6f,
  i32RemU: 0x70,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64DivS: 0x7f,
  i64DivU: 0x80,
  i64RemS: 0x81,
  i64RemU: 0x82,
  i64And: 0x83,
  i64Or: 0x84,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i32WrapI64: 0xa7,
  i64ExtendI32S: 0xac,
  i64ExtendI32U: 0xad,
  f64ConvertI64S: 0xb9,
  /** 0xfc prefix: i64.trunc_sat_f64_s is 0xfc 0x06. */
  prefix: 0xfc,
} as const;

/** The import of e.m, a shared memory of at most 65536 pages: any arena's memory matches. */
function memoryImport(imp: number[]): void {
  str(imp, 'e');
  str(imp, 'm');
  imp.push(0x02, 0x03, 0x00);
  uleb(imp, 65536);
}

/**
 * The dispatcher: enter(x, idx, left) calls block idx, then follows each
 * next pc through the hart's chain table and the exec TLB (the block must
 * start at the same wasm address it was checked at) while the budget allows;
 * it returns to JavaScript at the first head it cannot follow.
 */
function dispatcherModule(): Uint8Array {
  const out = [...MAGIC];
  section(out, 1, [2, ...BLOCK_TYPE, 0x60, 4, I32, I32, I32, EXTERNREF, 1, I32]);
  const imp: number[] = [2];
  str(imp, 'e');
  str(imp, 't');
  imp.push(0x01, 0x70, 0x00, 0x00);
  memoryImport(imp);
  section(out, 2, imp);
  section(out, 3, [1, 1]);
  const exp: number[] = [1];
  str(exp, 'enter');
  exp.push(0x00, 0x00);
  section(out, 7, exp);
  // Params: 0 x, 1 idx, 2 left, 3 h. Locals: 4 total, 5 st, 6 lo, 7 e, 8 host, 9 c, 10 v (i32); 11 pc (i64).
  const X = 0;
  const IDX = 1;
  const LEFT = 2;
  const H = 3;
  const TOTAL = 4;
  const ST = 5;
  const LO = 6;
  const E = 7;
  const HOST = 8;
  const C = 9;
  const V = 10;
  const PC = 11;
  const b: number[] = [2, 7, I32, 1, I64];
  const i32 = (v: number) => {
    b.push(OP.i32Const);
    sleb32(b, v);
  };
  const mem = (op: number, off: number) => {
    b.push(op, 0);
    uleb(b, off);
  };
  // The body: block $out { loop $next { ...; br_if $out (cannot follow); br $next } }
  b.push(OP.block, 0x40, OP.loop, 0x40);
  // base = total; st = table[idx](x, left - total, h); total += retired
  b.push(OP.get, X, OP.get, TOTAL);
  mem(OP.i32Store, WASM_BASE);
  b.push(
    OP.get,
    X,
    OP.get,
    LEFT,
    OP.get,
    TOTAL,
    OP.i32Sub,
    OP.get,
    H,
    OP.get,
    IDX,
    OP.callIndirect,
    0,
    0,
    OP.set,
    ST,
  );
  b.push(OP.get, TOTAL, OP.get, X);
  mem(OP.i32Load, WASM_RETIRED);
  b.push(OP.i32Add, OP.set, TOTAL);
  b.push(OP.get, ST, OP.brIf, 1);
  // pc, its low word and page offset (a head at 4094 crosses the page: JavaScript's)
  b.push(OP.get, X);
  mem(OP.f64Load, WASM_PC);
  b.push(OP.prefix, 0x06, OP.tee, PC, OP.i32WrapI64, OP.tee, LO);
  i32(4095);
  b.push(OP.i32And);
  i32(4094);
  b.push(0x4f /* i32.ge_u */, OP.brIf, 1);
  // exec TLB: tags must match and the frame be in the arena
  b.push(OP.get, LO);
  i32(12);
  b.push(OP.i32ShrU);
  i32(TLB_MASK);
  b.push(OP.i32And);
  i32(2);
  b.push(OP.i32Shl, OP.get, X);
  mem(OP.i32Load, WASM_XW);
  b.push(OP.i32Add, OP.tee, E);
  mem(OP.i32Load, 0);
  b.push(OP.get, LO);
  i32(-4096);
  b.push(OP.i32And, OP.i32Ne);
  b.push(OP.get, E);
  mem(OP.i32Load, TLB_WAY_STRIDE);
  b.push(OP.get, PC, OP.i64Const, 32, OP.i64ShrU, OP.i32WrapI64, OP.i32Ne, OP.i32Or);
  b.push(OP.get, E);
  mem(OP.i32Load, 2 * TLB_WAY_STRIDE);
  b.push(OP.tee, HOST);
  i32(0);
  b.push(OP.i32LtS, OP.i32Or, OP.brIf, 1);
  // host = frame + offset; the chain entry must name this pc at this host address
  b.push(OP.get, HOST, OP.get, LO);
  i32(4095);
  b.push(OP.i32And, OP.i32Add, OP.set, HOST);
  b.push(OP.get, LO);
  i32(1);
  b.push(OP.i32ShrU);
  i32(CHAIN_MASK);
  b.push(OP.i32And);
  i32(4);
  b.push(OP.i32Shl, OP.get, X, OP.i32Add, OP.tee, C);
  mem(OP.i64Load, WASM_CHAIN);
  b.push(OP.get, PC, OP.i64Ne, OP.get, C);
  mem(OP.i32Load, WASM_CHAIN + 8);
  b.push(OP.get, HOST, OP.i32Ne, OP.i32Or, OP.brIf, 1);
  // v = idx * 512 + n: follow while total + n <= left
  b.push(OP.get, C);
  mem(OP.i32Load, WASM_CHAIN + 12);
  b.push(OP.tee, V);
  i32(511);
  b.push(OP.i32And, OP.get, TOTAL, OP.i32Add, OP.get, LEFT, 0x4a /* i32.gt_s */, OP.brIf, 1);
  b.push(OP.get, V);
  i32(9);
  b.push(OP.i32ShrU, OP.set, IDX, OP.br, 0, OP.end, OP.end);
  // out: the retired total for JavaScript, and the last block's status
  b.push(OP.get, X, OP.get, TOTAL);
  mem(OP.i32Store, WASM_RETIRED);
  b.push(OP.get, ST, OP.end);
  const code: number[] = [1];
  uleb(code, b.length);
  code.push(...b);
  section(out, 10, code);
  return new Uint8Array(out);
}

/** The import of e.c, the call-out table (CALLS funcref slots). */
function callTableImport(imp: number[]): void {
  str(imp, 'e');
  str(imp, 'c');
  imp.push(0x01, 0x70, 0x01, CALLS, CALLS);
}

/**
 * The module that makes the call-out table's entries: it imports what blocks
 * call out to (WASM_IMPORTS, in CALL_* order) and exports each as "0".."3",
 * so that each import wrapper is compiled once per tier.
 */
function callOutModule(): Uint8Array {
  const out = [...MAGIC];
  section(out, 1, [CALL_TYPES.length, ...CALL_TYPES.flat()]);
  const imp: number[] = [CALLS];
  for (const [k, name] of CALL_NAMES.entries()) {
    str(imp, 'e');
    str(imp, name);
    imp.push(0x00, CALL_TYPE_OF[k]! - 1);
  }
  section(out, 2, imp);
  const exp: number[] = [CALLS];
  for (let k = 0; k < CALLS; k++) {
    str(exp, String(k));
    exp.push(0x00, k);
  }
  section(out, 7, exp);
  return new Uint8Array(out);
}

/** A module of block functions (each its locals and body), exported as "0", "1", ..., over the arena's memory. */
function blockModule(fns: readonly Uint8Array[]): Uint8Array {
  const head = [...MAGIC];
  section(head, 1, [1 + CALL_TYPES.length, ...BLOCK_TYPE, ...CALL_TYPES.flat()]);
  const imp: number[] = [2];
  memoryImport(imp);
  callTableImport(imp);
  section(head, 2, imp);
  const funcs: number[] = [];
  uleb(funcs, fns.length);
  for (let i = 0; i < fns.length; i++) funcs.push(0);
  section(head, 3, funcs);
  const exp: number[] = [];
  uleb(exp, fns.length);
  for (let i = 0; i < fns.length; i++) {
    str(exp, String(i));
    exp.push(0x00);
    uleb(exp, i);
  }
  section(head, 7, exp);
  // The code section, written in place: its functions are most of the module.
  const sizes: number[] = [];
  uleb(sizes, fns.length);
  let bodies = sizes.length;
  const fnSizes = fns.map((f) => {
    const l: number[] = [];
    uleb(l, f.length);
    bodies += l.length + f.length;
    return l;
  });
  const secLen: number[] = [];
  uleb(secLen, bodies);
  const out = new Uint8Array(head.length + 1 + secLen.length + bodies);
  out.set(head, 0);
  let at = head.length;
  out[at++] = 10;
  out.set(secLen, at);
  at += secLen.length;
  out.set(sizes, at);
  at += sizes.length;
  for (let i = 0; i < fns.length; i++) {
    out.set(fnSizes[i]!, at);
    at += fnSizes[i]!.length;
    out.set(fns[i]!, at);
    at += fns[i]!.length;
  }
  return out;
}

/**
 * The wasm tier of one arena: the table every block of the arena's harts is
 * installed in, and the dispatcher. Blocks are kept by their bytes, so the
 * harts of a machine share each one.
 */
export class WasmTier {
  readonly enter: WasmEnter;
  private readonly table;
  private readonly byIndex = new Map<string, number>();
  /** Table entries in use (diagnostics): blocks installed since the tier (re)started. */
  installed = 0;
  /** Modules the engine refused (their blocks stay interpreted). */
  failures = 0;
  /** Table entries before startOver() (WASM_TABLE_MAX; lower only to test it). */
  tableMax = WASM_TABLE_MAX;
  /** Times the table started over. */
  restarts = 0;
  /** The harts whose blocks and chain tables name this tier's table indices. */
  private readonly users = new Set<{ dropBlocks(): void }>();

  /** The call-out table every block module imports (CALL_* slots). */
  private readonly calls;

  private constructor(private readonly arena: WasmArena) {
    this.table = new Wasm.Table({ element: 'anyfunc', initial: 256 });
    const d = new Wasm.Instance(new Wasm.Module(dispatcherModule()), {
      e: { t: this.table, m: arena.memory },
    });
    this.enter = d.exports.enter as WasmEnter;
    this.calls = new Wasm.Table({ element: 'anyfunc', initial: CALLS, maximum: CALLS });
    const c = new Wasm.Instance(new Wasm.Module(callOutModule()), { e: WASM_IMPORTS });
    for (let k = 0; k < CALLS; k++) this.calls.set(k, c.exports[String(k)]);
  }

  /** The tier of `arena`, made on first use. */
  static of(arena: WasmArena): WasmTier {
    let t = tiers.get(arena);
    if (t === undefined) {
      t = new WasmTier(arena);
      tiers.set(arena, t);
    }
    return t;
  }

  /** A hart that will hold this tier's table indices (startOver() drops its blocks). */
  register(hart: { dropBlocks(): void }): void {
    this.users.add(hart);
  }

  /**
   * Start the table over: every registered hart forgets its blocks and chain
   * table (their indices are about to name other functions), and the slots
   * are reused; the old modules go when nothing references them.
   */
  private startOver(): void {
    for (const h of this.users) h.dropBlocks();
    this.byIndex.clear();
    this.installed = 0;
    this.restarts++;
  }

  /**
   * Give each block its table index: a function seen before (by its bytes,
   * from any hart of the arena) at once; the others compiled together, as
   * one module, and installed.
   */
  submit(blocks: readonly JitBlock[], fns: readonly Uint8Array[]): void {
    const fresh = new Map<string, { fn: Uint8Array; blocks: JitBlock[] }>();
    for (let i = 0; i < blocks.length; i++) {
      const key = String.fromCharCode.apply(null, fns[i] as unknown as number[]);
      const idx = this.byIndex.get(key);
      if (idx !== undefined) {
        blocks[i]!.wasm = idx;
        continue;
      }
      let f = fresh.get(key);
      if (f === undefined) {
        f = { fn: fns[i]!, blocks: [] };
        fresh.set(key, f);
      }
      f.blocks.push(blocks[i]!);
    }
    if (fresh.size === 0) return;
    if (this.installed + fresh.size > this.tableMax) this.startOver();
    const list = [...fresh];
    let inst: { exports: Record<string, unknown> };
    try {
      const mod = new Wasm.Module(blockModule(list.map(([, f]) => f.fn)));
      inst = new Wasm.Instance(mod, { e: { m: this.arena.memory, c: this.calls } });
    } catch {
      // The engine refused (out of memory, or a compiler bug): the blocks stay
      // WASM_PENDING and their code interpreted, rather than the VMM failing.
      this.failures++;
      return;
    }
    for (let j = 0; j < list.length; j++) {
      const [key, f] = list[j]!;
      const idx = this.installed++;
      while (idx >= this.table.length) this.table.grow(this.table.length);
      this.table.set(idx, inst.exports[String(j)]);
      this.byIndex.set(key, idx);
      for (const b of f.blocks) b.wasm = idx;
    }
  }
}

const tiers = new WeakMap<WasmArena, WasmTier>();
/**
 * Table entries before the tier starts over: a guest that keeps writing new
 * code (and FENCE.I-ing it) must not grow the table, and the modules it
 * keeps alive, without end (jit.ts bounds its function cache the same way).
 */
export const WASM_TABLE_MAX = 1 << 16;

// ---- the block compiler ----

/** One decoded instruction of a block. */
interface Insn {
  insn: number;
  /** The instruction as fetched (compressed: its 16 bits). */
  raw: number;
  pc: number;
  len: number;
  /** A JAL within the page that compilation followed: only its link is written. */
  followed: boolean;
}

// Locals: params (x, left), the TLB ways and reservations from the control
// words, i32 temps, then i64 temps, then one i64 per register.
const P_X = 0;
const P_LEFT = 1;
const P_H = 2;
const P_RW = 3;
const P_WW = 4;
const P_RESV = 5;
const L_LO = 6;
const L_E = 7;
const L_P = 8;
const L_IT = 9;
/** The shared exit's instruction index, status and pc (set where a block stops or traps). */
const L_K = 10;
const L_ST = 11;
const L_PC = 12;
const L_T = 13;
const L_U = 14;
const L_V = 15;
const L_W = 16;
const FIRST_REG = 17;
/** i32 locals after the params (RW .. ST), then L_PC (f64). */
const I32_LOCALS = 9;

/** Whether this tier compiles `insn` (anything else ends the block before it). */
function compiles(insn: number): boolean {
  const f3 = (insn >> 12) & 7;
  const f7 = insn >>> 25;
  switch (insn & 0x7f) {
    case 0x13:
      if (f3 === 1) return insn >>> 26 === 0;
      if (f3 === 5) return insn >>> 26 === 0 || insn >>> 26 === 0x10;
      return true;
    case 0x33:
      return f7 === 0 || f7 === 1 || (f7 === 0x20 && (f3 === 0 || f3 === 5));
    case 0x1b:
      return f3 === 0 || (f3 === 1 && f7 === 0) || (f3 === 5 && (f7 === 0 || f7 === 0x20));
    case 0x3b:
      return (
        (f7 === 0 && (f3 === 0 || f3 === 1 || f3 === 5)) ||
        (f7 === 0x20 && (f3 === 0 || f3 === 5)) ||
        (f7 === 1 && (f3 === 0 || f3 >= 4))
      );
    case 0x37:
    case 0x17:
    case 0x6f:
      return true;
    case 0x67:
      return f3 === 0;
    case 0x63:
      return f3 !== 2 && f3 !== 3;
    case 0x03:
      return f3 !== 7;
    case 0x23:
      return f3 <= 3;
    case 0x0f:
      return f3 === 0 && insn !== 0x0100000f;
    case 0x2f:
    case 0x07:
    case 0x27:
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
    case 0x53:
      return true;
    case 0x73:
      // CSR accesses; the privileged instructions and HLV/HSV end the block.
      return f3 !== 0 && f3 !== 4;
    default:
      return false;
  }
}

/** A CSR instruction that writes (not CSRRS/CSRRC with rs1 = x0): it ends its block, as in jit.ts. */
function csrWrites(insn: number): boolean {
  const f3 = (insn >> 12) & 7;
  return (insn & 0x7f) === 0x73 && f3 !== 0 && f3 !== 4 && !((f3 & 3) !== 1 && ((insn >> 15) & 31) === 0);
}

function jalOffset(insn: number): number {
  return (
    ((insn >> 31) << 20) |
    (((insn >>> 12) & 0xff) << 12) |
    (((insn >>> 20) & 1) << 11) |
    (((insn >>> 21) & 0x3ff) << 1)
  );
}

function branchOffset(insn: number): number {
  return (
    ((insn >> 31) << 12) |
    (((insn >>> 7) & 1) << 11) |
    (((insn >>> 25) & 0x3f) << 5) |
    (((insn >>> 8) & 0xf) << 1)
  );
}

/** Emits one block's function body. */
class BlockEmitter {
  readonly b: number[] = [];
  private readonly regLocal = new Map<number, number>();
  /**
   * In a loop: each load/store site's last translation (its page, as an i64
   * local, and the frame's wasm address, an i32 local), so the next pass's
   * access to the same page skips the TLB. Valid within one call: only the
   * calls out may touch the TLB, and each forgets them (as jit.ts's loops).
   */
  private readonly caches: { tag: number; base: number }[] = [];
  constructor(
    private readonly written: readonly number[],
    private readonly loop: boolean,
    /** Instructions in the block (one pass). */
    private readonly n: number,
    /** A dry run's registers, in order (so cache locals can follow them), and its memory sites. */
    preset?: { regs: readonly number[]; sites: number },
  ) {
    for (const r of written) this.local(r);
    if (preset !== undefined) {
      for (const r of preset.regs) this.local(r);
      const first = FIRST_REG + this.regLocal.size;
      for (let j = 0; j < preset.sites; j++)
        this.caches.push({ tag: first + j, base: first + preset.sites + j });
    }
  }

  /** Registers in local order, and the memory sites seen (for a second, cached, emission). */
  shape(): { regs: number[]; sites: number } {
    return { regs: [...this.regLocal.keys()], sites: this.sites };
  }
  private sites = 0;

  /** The local of register r (1..31). */
  local(r: number): number {
    let l = this.regLocal.get(r);
    if (l === undefined) {
      if (this.caches.length > 0) throw new Error(`register x${r} not in the dry run`);
      l = FIRST_REG + this.regLocal.size;
      this.regLocal.set(r, l);
    }
    return l;
  }

  /** Push x[r] (x0 is 0). */
  reg(r: number): void {
    if (r === 0) this.b.push(OP.i64Const, 0);
    else this.b.push(OP.get, this.local(r));
  }

  /** Pop into x[rd] (x0: dropped). */
  setReg(rd: number): void {
    if (rd === 0) this.b.push(OP.drop);
    else this.b.push(OP.set, this.local(rd));
  }

  i64(v: bigint | number): void {
    this.b.push(OP.i64Const);
    // The same LEB128 whatever the width: int32 values without BigInt (most constants).
    if (typeof v === 'number' && v === (v | 0)) sleb32(this.b, v);
    else sleb64(this.b, BigInt(v));
  }

  i32(v: number): void {
    this.b.push(OP.i32Const);
    sleb32(this.b, v);
  }

  get(l: number): void {
    this.b.push(OP.get, l);
  }

  set(l: number): void {
    this.b.push(OP.set, l);
  }

  mem(op: number, offset: number): void {
    this.b.push(op, 0);
    uleb(this.b, offset);
  }

  /** Write every register the block writes back to the x array. */
  writeBack(): void {
    for (const r of this.written) {
      this.get(P_X);
      this.get(this.local(r));
      this.mem(OP.i64Store, r * 8);
    }
  }

  /** Store the instructions retired: passes * n + k in a loop, else k. */
  retired(k: number): void {
    this.get(P_X);
    if (this.loop) {
      this.get(L_IT);
      this.i32(this.n);
      this.b.push(OP.i32Mul);
      if (k !== 0) {
        this.i32(k);
        this.b.push(OP.i32Add);
      }
    } else this.i32(k);
    this.mem(OP.i32Store, WASM_RETIRED);
  }

  /** Store a constant pc. */
  pcConst(pc: number): void {
    this.get(P_X);
    f64View.setFloat64(0, pc, true);
    this.b.push(OP.f64Const, ...f64Bytes);
    this.mem(OP.f64Store, WASM_PC);
  }

  /**
   * Leave through the shared exit (after the body) with status `st` before
   * instruction k at pc: WASM_STOP (k did not run; the interpreter will) or
   * WASM_TRAP. Called directly inside one `if` of the body (or of its loop).
   */
  exitAt(k: number, pc: number, st: number, nest = 0): void {
    this.i32(k);
    this.set(L_K);
    f64View.setFloat64(0, pc, true);
    this.b.push(OP.f64Const, ...f64Bytes);
    this.set(L_PC);
    this.i32(st);
    this.set(L_ST);
    this.b.push(OP.br, (this.loop ? 2 : 1) + nest);
  }

  /** The shared exit: registers back, retired = passes * n + K, pc, status. */
  sharedExit(): void {
    this.writeBack();
    this.get(P_X);
    this.get(L_K);
    if (this.loop) {
      this.get(L_IT);
      this.i32(this.n);
      this.b.push(OP.i32Mul, OP.i32Add);
    }
    this.mem(OP.i32Store, WASM_RETIRED);
    this.get(P_X);
    this.get(L_PC);
    this.mem(OP.f64Store, WASM_PC);
    this.get(L_ST);
    this.b.push(OP.return);
  }

  /**
   * Call out to JavaScript (WASM_IMPORTS) for instruction k at pc: registers
   * written back first (the call reads and writes the x array); args()
   * pushes the arguments after the hart. The status is left in L_E; an
   * exception (status 1) leaves the block as WASM_TRAP.
   */
  callOut(k: number, pc: number, fn: number, args: () => void): void {
    const b = this.b;
    this.writeBack();
    this.get(P_H);
    args();
    this.i32(fn);
    b.push(OP.callIndirect, CALL_TYPE_OF[fn]!, 0, OP.tee, L_E);
    this.i32(1);
    b.push(OP.i32Eq, OP.if, 0x40);
    this.exitAt(k, pc, WASM_TRAP);
    b.push(OP.end);
    this.forgetCaches();
  }

  /** After a call out wrote x[rd] in the array: reload its local. */
  reload(rd: number): void {
    if (rd === 0) return;
    this.get(P_X);
    this.mem(OP.i64Load, rd * 8);
    this.set(this.local(rd));
  }

  /** Push the instructions retired in this enter() before instruction k: base + passes * n + k. */
  retiredSoFar(k: number): void {
    this.get(P_X);
    this.mem(OP.i32Load, WASM_BASE);
    if (this.loop) {
      this.get(L_IT);
      this.i32(this.n);
      this.b.push(OP.i32Mul, OP.i32Add);
    }
    this.i32(k);
    this.b.push(OP.i32Add);
  }

  /** Leave to a constant pc with the status in L_E (0, or WASM_END after a CSR write that set jitStop). */
  leaveWithStatus(pc: number): void {
    this.writeBack();
    this.retired(this.loop ? 0 : this.n);
    this.pcConst(pc);
    this.get(L_E);
    this.b.push(OP.return);
  }

  /** Leave with the i64 on the stack as the next pc, every instruction retired (a loop: its passes). */
  leaveDynamic(): void {
    this.set(L_U);
    this.writeBack();
    this.retired(this.loop ? 0 : this.n);
    this.get(P_X);
    this.get(L_U);
    this.b.push(OP.f64ConvertI64S);
    this.mem(OP.f64Store, WASM_PC);
    this.i32(0);
    this.b.push(OP.return);
  }

  /** Leave to a constant pc, every instruction retired (a loop: its passes). */
  leave(pc: number): void {
    this.writeBack();
    this.retired(this.loop ? 0 : this.n);
    this.pcConst(pc);
    this.i32(0);
    this.b.push(OP.return);
  }

  /** T = x[r1] + imm; LO = low word of T. */
  address(r1: number, imm: number): void {
    this.reg(r1);
    if (imm !== 0) {
      this.i64(imm);
      this.b.push(OP.i64Add);
    }
    this.b.push(OP.tee, L_T, OP.i32WrapI64);
    this.set(L_LO);
  }

  /**
   * The TLB check of `way` for the address in T/LO, inline (a call per
   * access halved a loop's speed: V8 does not inline wasm calls): the
   * frame's wasm address plus the page offset in P; on a miss, a
   * misalignment or (a store) held reservations, stop before instruction k.
   */
  tlbCheck(way: number, size: number, k: number, pc: number, store: boolean): void {
    const b = this.b;
    const c = this.caches[this.sites++];
    if (c !== undefined) {
      // The site's last page: P = base + offset, when aligned (and no reservations, for a store).
      this.get(L_T);
      this.i64(-4096);
      b.push(OP.i64And);
      this.get(c.tag);
      b.push(OP.i64Eq);
      if (size > 1) {
        this.get(L_LO);
        this.i32(size - 1);
        b.push(OP.i32And, OP.i32Eqz, OP.i32And);
      }
      if (store) {
        this.get(P_RESV);
        b.push(OP.i32Eqz, OP.i32And);
      }
      b.push(OP.if, 0x40);
      this.get(c.base);
      this.get(L_LO);
      this.i32(4095);
      b.push(OP.i32And, OP.i32Add);
      this.set(L_P);
      b.push(OP.else);
      this.tlbLookup(way, size, k, pc, store, 1);
      // Keep this page for the next pass.
      this.get(L_T);
      this.i64(-4096);
      b.push(OP.i64And);
      this.set(c.tag);
      this.get(L_P);
      this.get(L_LO);
      this.i32(4095);
      b.push(OP.i32And, OP.i32Sub);
      this.set(c.base);
      b.push(OP.end);
      return;
    }
    this.tlbLookup(way, size, k, pc, store, 0);
  }

  /** Forget the cached translations (after a call out, which may change the TLB). */
  forgetCaches(): void {
    for (const c of this.caches) {
      this.i64(1);
      this.set(c.tag);
    }
  }

  /** The TLB lookup proper; `nest` is how many blocks enclose it inside the body (for the exit's br). */
  private tlbLookup(way: number, size: number, k: number, pc: number, store: boolean, nest: number): void {
    const b = this.b;
    // E = way + ((LO >>> 12) & mask) * 4
    this.get(L_LO);
    this.i32(12);
    b.push(OP.i32ShrU);
    this.i32(TLB_MASK);
    b.push(OP.i32And);
    this.i32(2);
    b.push(OP.i32Shl);
    this.get(way);
    b.push(OP.i32Add, OP.tee, L_E);
    this.mem(OP.i32Load, 0);
    this.get(L_LO);
    this.i32(-4096);
    b.push(OP.i32And, OP.i32Ne);
    this.get(L_E);
    this.mem(OP.i32Load, TLB_WAY_STRIDE);
    this.get(L_T);
    this.i64(32);
    b.push(OP.i64ShrU, OP.i32WrapI64, OP.i32Ne, OP.i32Or);
    this.get(L_E);
    this.mem(OP.i32Load, 2 * TLB_WAY_STRIDE);
    b.push(OP.tee, L_P);
    this.i32(0);
    b.push(OP.i32LtS, OP.i32Or);
    if (size > 1) {
      this.get(L_LO);
      this.i32(size - 1);
      b.push(OP.i32And, OP.i32Or);
    }
    if (store) {
      this.get(P_RESV);
      b.push(OP.i32Or);
    }
    b.push(OP.if, 0x40);
    this.exitAt(k, pc, WASM_STOP, nest);
    b.push(OP.end);
    // P = frame + page offset
    this.get(L_P);
    this.get(L_LO);
    this.i32(4095);
    b.push(OP.i32And, OP.i32Add);
    this.set(L_P);
  }

  /** RISC-V division of the two i64 operands in T (dividend) and U (divisor), per funct3 (4..7). */
  div64(f3: number): void {
    const b = this.b;
    this.get(L_U);
    b.push(OP.i64Eqz, OP.if, I64);
    // By zero: DIV/DIVU give all ones, REM/REMU the dividend.
    if (f3 < 6) this.i64(-1);
    else this.get(L_T);
    b.push(OP.else);
    if (f3 === 4 || f3 === 6) {
      // Overflow (most negative / -1): DIV gives the dividend, REM 0.
      this.get(L_T);
      this.i64(-(2n ** 63n));
      b.push(OP.i64Eq);
      this.get(L_U);
      this.i64(-1);
      b.push(OP.i64Eq, OP.i32And, OP.if, I64);
      if (f3 === 4) this.get(L_T);
      else this.i64(0);
      b.push(OP.else);
      this.get(L_T);
      this.get(L_U);
      b.push(f3 === 4 ? OP.i64DivS : OP.i64RemS, OP.end);
    } else {
      this.get(L_T);
      this.get(L_U);
      b.push(f3 === 5 ? OP.i64DivU : OP.i64RemU);
    }
    b.push(OP.end);
  }

  /**
   * The high 64 bits of T * U (MULH f3 1, MULHSU 2, MULHU 3): the unsigned
   * product from 32-bit halves, then the signed operands' corrections
   * (for a negative signed operand, subtract the other operand).
   */
  mulHigh(f3: number): void {
    const b = this.b;
    const half = (l: number, high: boolean) => {
      this.get(l);
      if (high) {
        this.i64(32);
        b.push(OP.i64ShrU);
      } else {
        this.i64(0xffffffff);
        b.push(OP.i64And);
      }
    };
    // V = lo(T) * hi(U), W = hi(T) * lo(U)
    half(L_T, false);
    half(L_U, true);
    b.push(OP.i64Mul, OP.set, L_V);
    half(L_T, true);
    half(L_U, false);
    b.push(OP.i64Mul, OP.set, L_W);
    // hi(T) * hi(U) + hi(V) + hi(W) + hi(hi(lo(T) * lo(U)) + lo(V) + lo(W))
    half(L_T, true);
    half(L_U, true);
    b.push(OP.i64Mul);
    half(L_V, true);
    b.push(OP.i64Add);
    half(L_W, true);
    b.push(OP.i64Add);
    half(L_T, false);
    half(L_U, false);
    b.push(OP.i64Mul);
    this.i64(32);
    b.push(OP.i64ShrU);
    half(L_V, false);
    b.push(OP.i64Add);
    half(L_W, false);
    b.push(OP.i64Add);
    this.i64(32);
    b.push(OP.i64ShrU, OP.i64Add);
    if (f3 === 1 || f3 === 2) {
      // rs1 signed: minus (T < 0 ? U : 0)
      this.get(L_U);
      this.i64(0);
      this.get(L_T);
      this.i64(0);
      b.push(OP.i64LtS, OP.select, OP.i64Sub);
    }
    if (f3 === 1) {
      // rs2 signed too: minus (U < 0 ? T : 0)
      this.get(L_T);
      this.i64(0);
      this.get(L_U);
      this.i64(0);
      b.push(OP.i64LtS, OP.select, OP.i64Sub);
    }
  }

  /** The 32-bit version on the low words of T and U, sign-extended to 64. */
  div32(f3: number): void {
    const b = this.b;
    const lo = (l: number) => {
      this.get(l);
      b.push(OP.i32WrapI64);
    };
    lo(L_U);
    b.push(OP.i32Eqz, OP.if, I32);
    if (f3 < 6) this.i32(-1);
    else lo(L_T);
    b.push(OP.else);
    if (f3 === 4 || f3 === 6) {
      lo(L_T);
      this.i32(-0x80000000);
      b.push(OP.i32Eq);
      lo(L_U);
      this.i32(-1);
      b.push(OP.i32Eq, OP.i32And, OP.if, I32);
      if (f3 === 4) lo(L_T);
      else this.i32(0);
      b.push(OP.else);
      lo(L_T);
      lo(L_U);
      b.push(f3 === 4 ? OP.i32DivS : OP.i32RemS, OP.end);
    } else {
      lo(L_T);
      lo(L_U);
      b.push(f3 === 5 ? OP.i32DivU : OP.i32RemU);
    }
    b.push(OP.end, OP.i64ExtendI32S);
  }

  /** The locals declaration: i32 temps, the exit's pc, then i64 temps and registers. */
  localsDecl(): number[] {
    const n = this.caches.length;
    const out: number[] = [n > 0 ? 4 : 3, I32_LOCALS, I32, 1, F64];
    uleb(out, 4 + this.regLocal.size + n);
    out.push(I64);
    if (n > 0) {
      uleb(out, n);
      out.push(I32);
    }
    return out;
  }

  /** Load the TLB ways, the reservation flag and every register local. */
  prologue(): number[] {
    const out: number[] = [];
    for (const [l, at] of [
      [P_RW, WASM_RW],
      [P_WW, WASM_WW],
      [P_RESV, WASM_RESV],
    ] as const) {
      out.push(OP.get, P_X, OP.i32Load, 0);
      uleb(out, at);
      out.push(OP.set, l);
    }
    for (const [r, l] of this.regLocal) {
      out.push(OP.get, P_X, OP.i64Load, 0);
      uleb(out, r * 8);
      out.push(OP.set, l);
    }
    // No cached page yet (1 is never a page address; locals start at 0, which is one).
    for (const c of this.caches) out.push(OP.i64Const, 1, OP.set, c.tag);
    return out;
  }
}

/** A block compiled for the wasm tier: a JitBlock whose `wasm` is its table index. */
export interface WasmBlockCode {
  /** The function: its locals and body, for blockModule(). */
  fn: Uint8Array;
  insns: Insn[];
  loop: boolean;
  halves: number[];
}

/**
 * Decode the block at `pc` (first instruction at byte `hoff` of `u16`, pc's
 * page offset `pageOff`) and emit its module; undefined when its first
 * instruction does not compile.
 */
export function wasmBlockCode(
  u16: Uint16Array,
  hoff: number,
  pc: number,
  pageOff: number,
  rvc: Int32Array,
): WasmBlockCode | undefined {
  const insns: Insn[] = [];
  const halves: number[] = [];
  const pageBase = pc - pageOff;
  let off = pageOff;
  let at = hoff;
  let cur = pc;
  let ended = false;
  while (insns.length < MAX_BLOCK && off < 4094 && !ended) {
    const d = decodeAt(u16, at, rvc);
    if (d === undefined || !compiles(d.insn)) break;
    const { insn, raw, len } = d;
    halves.push(at >>> 1);
    if (len === 4) halves.push((at >>> 1) + 1);
    const op = insn & 0x7f;
    if (op === 0x6f) {
      const jt = cur + jalOffset(insn);
      if (jt - pageBase >= 0 && jt - pageBase < 4094 && !insns.some((i) => i.pc === jt) && jt !== cur) {
        insns.push({ insn, raw, pc: cur, len, followed: true });
        off = jt - pageBase;
        at = hoff + (jt - pc);
        cur = jt;
        continue;
      }
    }
    insns.push({ insn, raw, pc: cur, len, followed: false });
    ended = op === 0x6f || op === 0x67 || op === 0x63 || csrWrites(insn);
    off += len;
    at += len;
    cur += len;
  }
  if (insns.length === 0) return undefined;
  const last = insns[insns.length - 1]!;
  const loop = ended && (last.insn & 0x7f) === 0x63 && last.pc + branchOffset(last.insn) === pc;
  const written = new Set<number>();
  for (const i of insns) {
    const op = i.insn & 0x7f;
    const rd = (i.insn >> 7) & 31;
    // Not branches, stores, fences, or FP ops whose rd is an f register.
    if (rd !== 0 && ![0x63, 0x23, 0x0f, 0x07, 0x27, 0x43, 0x47, 0x4b, 0x4f].includes(op)) written.add(rd);
  }
  const emitAll = (e: BlockEmitter) => {
    // block $exit { [loop] body [end] } shared exit: the body's paths return, or branch to $exit.
    e.b.push(OP.block, 0x40);
    if (loop) e.b.push(OP.loop, 0x40);
    for (let k = 0; k < insns.length; k++) emitInsn(e, insns[k]!, k, loop ? pc : Number.NaN, insns.length);
    if (!ended) e.leave(cur);
    if (loop) e.b.push(OP.end);
    e.b.push(OP.unreachable, OP.end);
    e.sharedExit();
    e.b.push(OP.end);
    return e;
  };
  let e = emitAll(new BlockEmitter([...written], loop, insns.length));
  // A loop with loads or stores: again, with a translation cache per site (its locals after the registers).
  if (loop && e.shape().sites > 0) e = emitAll(new BlockEmitter([...written], loop, insns.length, e.shape()));
  const locals = e.localsDecl();
  const prologue = e.prologue();
  const fn = new Uint8Array(locals.length + prologue.length + e.b.length);
  fn.set(locals, 0);
  fn.set(prologue, locals.length);
  fn.set(e.b, locals.length + prologue.length);
  return { fn, insns, loop, halves };
}

/** Emit instruction k; `head` is the loop's head pc (NaN when the block is not a loop), n its length. */
function emitInsn(e: BlockEmitter, i: Insn, k: number, head: number, n: number): void {
  const { insn, pc, len } = i;
  const b = e.b;
  const rd = (insn >> 7) & 31;
  const r1 = (insn >> 15) & 31;
  const r2 = (insn >> 20) & 31;
  const f3 = (insn >> 12) & 7;
  const f7 = insn >>> 25;
  const npc = pc + len;
  switch (insn & 0x7f) {
    case 0x13: {
      if (rd === 0) return;
      const imm = insn >> 20;
      e.reg(r1);
      switch (f3) {
        case 0:
          e.i64(imm);
          b.push(OP.i64Add);
          break;
        case 1:
          e.i64(imm & 63);
          b.push(OP.i64Shl);
          break;
        case 2:
          e.i64(imm);
          b.push(OP.i64LtS, OP.i64ExtendI32U);
          break;
        case 3:
          e.i64(imm);
          b.push(OP.i64LtU, OP.i64ExtendI32U);
          break;
        case 4:
          e.i64(imm);
          b.push(OP.i64Xor);
          break;
        case 5:
          e.i64(imm & 63);
          b.push(insn >>> 26 === 0 ? OP.i64ShrU : OP.i64ShrS);
          break;
        case 6:
          e.i64(imm);
          b.push(OP.i64Or);
          break;
        default:
          e.i64(imm);
          b.push(OP.i64And);
      }
      e.setReg(rd);
      return;
    }
    case 0x33: {
      if (rd === 0) return;
      if (f7 === 1 && f3 !== 0) {
        e.reg(r1);
        e.set(L_T);
        e.reg(r2);
        e.set(L_U);
        if (f3 >= 4) e.div64(f3);
        else e.mulHigh(f3);
        e.setReg(rd);
        return;
      }
      e.reg(r1);
      e.reg(r2);
      if (f7 === 1) b.push(OP.i64Mul);
      else if (f7 === 0x20) b.push(f3 === 0 ? OP.i64Sub : OP.i64ShrS);
      else {
        switch (f3) {
          case 0:
            b.push(OP.i64Add);
            break;
          case 1:
            b.push(OP.i64Shl);
            break;
          case 2:
            b.push(OP.i64LtS, OP.i64ExtendI32U);
            break;
          case 3:
            b.push(OP.i64LtU, OP.i64ExtendI32U);
            break;
          case 4:
            b.push(OP.i64Xor);
            break;
          case 5:
            b.push(OP.i64ShrU);
            break;
          case 6:
            b.push(OP.i64Or);
            break;
          default:
            b.push(OP.i64And);
        }
      }
      e.setReg(rd);
      return;
    }
    case 0x1b: {
      if (rd === 0) return;
      e.reg(r1);
      b.push(OP.i32WrapI64);
      const sh = (insn >> 20) & 31;
      if (f3 === 0) {
        e.i32(insn >> 20);
        b.push(OP.i32Add);
      } else {
        e.i32(sh);
        b.push(f3 === 1 ? OP.i32Shl : f7 === 0 ? OP.i32ShrU : OP.i32ShrS);
      }
      b.push(OP.i64ExtendI32S);
      e.setReg(rd);
      return;
    }
    case 0x3b: {
      if (rd === 0) return;
      if (f7 === 1 && f3 >= 4) {
        e.reg(r1);
        e.set(L_T);
        e.reg(r2);
        e.set(L_U);
        e.div32(f3);
        e.setReg(rd);
        return;
      }
      e.reg(r1);
      b.push(OP.i32WrapI64);
      e.reg(r2);
      b.push(OP.i32WrapI64);
      if (f7 === 1) b.push(OP.i32Mul);
      else if (f7 === 0x20) b.push(f3 === 0 ? OP.i32Sub : OP.i32ShrS);
      else b.push(f3 === 0 ? OP.i32Add : f3 === 1 ? OP.i32Shl : OP.i32ShrU);
      b.push(OP.i64ExtendI32S);
      e.setReg(rd);
      return;
    }
    case 0x37:
      if (rd === 0) return;
      e.i64(insn & 0xfffff000);
      e.setReg(rd);
      return;
    case 0x17:
      if (rd === 0) return;
      e.i64(BigInt(pc) + BigInt(insn & 0xfffff000));
      e.setReg(rd);
      return;
    case 0x6f: {
      if (rd !== 0) {
        e.i64(BigInt(npc));
        e.setReg(rd);
      }
      if (!i.followed) e.leave(pc + jalOffset(insn));
      return;
    }
    case 0x67: {
      // The target first: rd may be rs1.
      e.reg(r1);
      e.i64(insn >> 20);
      b.push(OP.i64Add);
      e.i64(-2);
      b.push(OP.i64And, OP.set, L_T);
      if (rd !== 0) {
        e.i64(BigInt(npc));
        e.setReg(rd);
      }
      e.get(L_T);
      e.leaveDynamic();
      return;
    }
    case 0x63: {
      e.reg(r1);
      e.reg(r2);
      switch (f3) {
        case 0:
          b.push(OP.i64Eq);
          break;
        case 1:
          b.push(OP.i64Ne);
          break;
        case 4:
          b.push(OP.i64LtS);
          break;
        case 5:
          b.push(OP.i64GeS);
          break;
        case 6:
          b.push(OP.i64LtU);
          break;
        default:
          b.push(OP.i64GeU);
      }
      const target = pc + branchOffset(insn);
      b.push(OP.if, 0x40);
      if (target === head) {
        // Another pass while a whole one fits the budget: it += 1; (it + 1) * n <= left.
        e.get(L_IT);
        e.i32(1);
        b.push(OP.i32Add, OP.tee, L_IT);
        e.i32(1);
        b.push(OP.i32Add);
        e.i32(n);
        b.push(OP.i32Mul);
        e.get(P_LEFT);
        b.push(OP.i32LeS, OP.brIf, 1);
        e.leave(target);
        b.push(OP.end);
        // Fell through: this pass completed too.
        e.get(L_IT);
        e.i32(1);
        b.push(OP.i32Add);
        e.set(L_IT);
        e.leave(npc);
        return;
      }
      e.leave(target);
      b.push(OP.end);
      e.leave(npc);
      return;
    }
    case 0x03: {
      const size = 1 << (f3 & 3);
      e.address(r1, insn >> 20);
      e.tlbCheck(P_RW, size, k, pc, false);
      e.get(L_P);
      const op = [
        OP.i64Load8s,
        OP.i64Load16s,
        OP.i64Load32s,
        OP.i64Load,
        OP.i64Load8u,
        OP.i64Load16u,
        OP.i64Load32u,
      ][f3]!;
      e.mem(op, 0);
      e.setReg(rd);
      return;
    }
    case 0x23: {
      const imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
      e.address(r1, imm);
      e.tlbCheck(P_WW, 1 << f3, k, pc, true);
      e.get(L_P);
      e.reg(r2);
      e.mem([OP.i64Store8, OP.i64Store16, OP.i64Store32, OP.i64Store][f3]!, 0);
      return;
    }
    case 0x2f:
      // LR/SC and the AMOs; then the reservation flag may have changed.
      e.callOut(k, pc, CALL_AMO, () => {
        e.i32(insn);
        e.i32(i.raw);
        e.i32(len);
      });
      e.reload(rd);
      e.get(P_X);
      e.mem(OP.i32Load, WASM_RESV);
      e.set(P_RESV);
      return;
    case 0x07:
    case 0x27:
      e.callOut(k, pc, CALL_FP_MEM, () => {
        e.i32(insn);
        e.i32(i.raw);
        e.i32(len);
      });
      return;
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
    case 0x53:
      e.callOut(k, pc, CALL_FP_OP, () => {
        e.i32(insn);
        e.i32(i.raw);
      });
      // FMV.X.*, FCVT to integer, compares and FCLASS write rd in the x array.
      if ((insn & 0x7f) === 0x53) e.reload(rd);
      return;
    case 0x73: {
      e.callOut(k, pc, CALL_CSR, () => {
        e.i32(insn);
        e.i32(i.raw);
        f64View.setFloat64(0, pc, true);
        b.push(OP.f64Const, ...f64Bytes);
        e.i32(len);
        e.retiredSoFar(k);
      });
      e.reload(rd);
      // A write may change what the run loop must see (interrupt enables, the context): the block ends.
      if (csrWrites(insn)) e.leaveWithStatus(npc);
      return;
    }
    default:
      // FENCE: orders nothing here (harts run one at a time).
      return;
  }
}

/**
 * What blocks call out to: the interpreter's code for the instruction (the
 * same as jit.ts's calls), the status 0 (done) or 1 (an exception, pending
 * in the hart). The AMO call refreshes the reservation flag the blocks read;
 * the CSR call answers WASM_END when the write set Hart.jitStop.
 */
const WASM_IMPORTS = {
  amo(h: Hart, insn: number, raw: number, len: number): number {
    const r = blockAmo(h, insn, raw, len);
    h.wasmCtl[WASM_RESV >>> 2] = h.reservations.active;
    return r;
  },
  fpMem: blockFpMem,
  fpOp: blockFpOp,
  csr(h: Hart, insn: number, raw: number, pc: number, len: number, retired: number): number {
    const r = blockCsr(h, insn, raw, pc, len, retired);
    return r !== 0 ? r : h.jitStop ? WASM_END : 0;
  },
};

/**
 * A batch is submitted at the end of a run() once it holds WASM_BATCH_MIN
 * blocks, or its oldest block has waited WASM_BATCH_RUNS runs. In a fresh
 * process a module costs about a millisecond whatever its size (V8 caches
 * modules by their bytes, so a second boot in the same process hardly pays
 * it): a Linux boot compiled 285 modules in 119-130 ms when each run() sent
 * its batch, 130 modules in 69-78 ms with these values. The first Linux
 * boot in a process went from 1169-1223 to 973-1067 ms, later ones from
 * 807-944 to 741-877; U-Boot's prompt and crc32 were unchanged. With a
 * threshold the caller chose (tests, --jit-threshold) every run() submits.
 * (Most of that fixed cost was the import wrappers, gone with the call-out
 * table: a one-block module now costs about 85 us to compile and instantiate
 * against 420. Smaller batches, 4 or 8 blocks after 2 or 4 runs, measured
 * no better since, within the machine's noise.)
 */
const WASM_BATCH_MIN = 16;
/** Blocks in one module at most: a batch this large is submitted at once. */
const WASM_BATCH_MAX = 64;
const WASM_BATCH_RUNS = 8;

/** What a wasm block's `wasm` is until its batch is installed (WasmBatch.flush): exec() interprets it. */
export const WASM_PENDING = -2;

/**
 * Blocks compiled since the last flush, installed together: one module per
 * batch rather than per block (a module's fixed cost is most of a small
 * block's compile). Until then a block is WASM_PENDING and its code is
 * interpreted.
 */
export class WasmBatch {
  private readonly blocks: JitBlock[] = [];
  private readonly fns: Uint8Array[] = [];
  constructor(
    private readonly tier: WasmTier,
    /** Submit at every run()'s end (a threshold the caller chose: compile when it says). */
    private readonly eager = false,
  ) {}

  /** The block at pc, WASM_PENDING until flush(); undefined when its first instruction does not compile. */
  compile(
    u16: Uint16Array,
    hoff: number,
    pc: number,
    pageOff: number,
    rvc: Int32Array,
    epoch: number,
  ): JitBlock | undefined {
    const code = wasmBlockCode(u16, hoff, pc, pageOff, rvc);
    if (code === undefined) return undefined;
    const b: JitBlock = {
      fn: notJs,
      wasm: WASM_PENDING,
      n: code.insns.length,
      loop: code.loop,
      pcs: code.insns.map((i) => i.pc),
      u16,
      hoff,
      ...codeSnapshot(u16, code.halves),
      epoch,
    };
    this.blocks.push(b);
    this.fns.push(code.fn);
    if (this.blocks.length >= WASM_BATCH_MAX) this.flush();
    return b;
  }

  /** Runs since the oldest waiting block was compiled. */
  private waited = 0;

  /** The end of a run(): submit the batch once it is worth a module of its own (WASM_BATCH_MIN). */
  endOfRun(): void {
    if (this.blocks.length === 0) return;
    if (this.eager || this.blocks.length >= WASM_BATCH_MIN || ++this.waited >= WASM_BATCH_RUNS) this.flush();
  }

  /** Submit every waiting block to the tier (WasmTier.submit). */
  flush(): void {
    if (this.blocks.length === 0) return;
    this.tier.submit(this.blocks, this.fns);
    this.waited = 0;
    this.blocks.length = 0;
    this.fns.length = 0;
  }
}

/** The `fn` of a wasm block: never called (exec() enters wasm blocks through the tier). */
function notJs(): number {
  throw new Error('a wasm block has no JavaScript function');
}
