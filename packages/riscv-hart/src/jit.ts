import { blockAmo, blockCsr, blockFpMem, blockFpOp, blockLoad, blockStore } from './jit-calls.ts';
import { div32, div64, mulh64, mulhsu64, mulhu32, mulhu64 } from './muldiv.ts';
import { decodeAt } from './rvc.ts';
import { TLB_INVALID, TLB_MASK } from './tlb.ts';

// The block compiler: a run of guest instructions, from a block head up to
// and including its first branch or jump, becomes one JavaScript function
// (`new Function`), so the hot loop pays fetch, decode and dispatch once per
// block instead of once per instruction. The generated code shares the
// interpreter's state shape (the hart's Int32Array register pairs and its
// TLB arrays) and semantics: it is the interpreter's case bodies with the
// decoded fields folded in as constants. Integer ALU, M, loads, stores,
// branches and jumps are inline; FENCE is nothing; CSR accesses, LR/SC and
// AMOs, and F/D are calls to the interpreter's code for them (jit-calls.ts).
// A block ends before the privileged instructions (ecall, sret, wfi, the TLB
// fences), HLV/HSV and FENCE.I, which the interpreter then executes, and
// after a CSR write (it may enable an interrupt). A direct
// jump within the page is followed, and a block whose branch goes back to its
// own head runs as a loop inside one call.
//
// Faults: a load or store that misses the TLB (or is misaligned) calls the
// interpreter's slow path (blockLoad/blockStore), which reports an exception
// as a status rather than throwing through the block: the block then returns
// BLOCK_TRAP. Before that call the block stores the index of the instruction
// in `h.jitIndex`, so the interpreter knows the faulting pc and how many
// instructions of the block retired.
//
// Code is cached by (pc, host location of the instruction bytes). FENCE.I
// (RISC-V requires it before executing modified code, and a remote FENCE.I
// through SBI for other harts; the interpreter's fetch is coherent anyway),
// restore and Hart.flushCodeCache() start a new code epoch: a block is
// checked against its bytes once per epoch (sameCode) and recompiled only if
// they changed.

/** Arguments of a compiled block, in order. */
const PARAMS = [
  'x',
  'rTagLo',
  'rTagHi',
  'rBase',
  'rMem',
  'wTagLo',
  'wTagHi',
  'wBase',
  'wMem',
  'wHpa',
  'resv',
  'h',
  'lib',
  'left',
] as const;

/**
 * A compiled block. `left` is the instruction budget left in the chunk: a
 * block that branches back to its own head loops inside while whole
 * iterations fit, and reports the iterations it completed in `h.jitLoops`.
 * It returns BLOCK_OK with its next pc in `h.pcNum`, or BLOCK_TRAP. The pc
 * goes through the hart's field (a double stored in place) rather than as
 * the result: pcs are above 2^30, so a returned pc would be a new HeapNumber
 * per block call.
 */
export type BlockFn = (
  x: Int32Array,
  rTagLo: Int32Array,
  rTagHi: Int32Array,
  rBase: Float64Array,
  rMem: unknown[],
  wTagLo: Int32Array,
  wTagHi: Int32Array,
  wBase: Float64Array,
  wMem: unknown[],
  wHpa: Float64Array,
  resv: unknown,
  h: unknown,
  lib: JitLib,
  left: number,
) => number;

export interface JitLib {
  div32: typeof div32;
  div64: typeof div64;
  mulhu32: typeof mulhu32;
  mulh64: typeof mulh64;
  mulhsu64: typeof mulhsu64;
  mulhu64: typeof mulhu64;
  blockLoad: typeof blockLoad;
  blockStore: typeof blockStore;
  blockAmo: typeof blockAmo;
  blockFpMem: typeof blockFpMem;
  blockFpOp: typeof blockFpOp;
  blockCsr: typeof blockCsr;
}
export const JIT_LIB: JitLib = {
  div32,
  div64,
  mulhu32,
  mulh64,
  mulhsu64,
  mulhu64,
  blockLoad,
  blockStore,
  blockAmo,
  blockFpMem,
  blockFpOp,
  blockCsr,
};

/** What a block returns when it ran to its end: its next pc is in h.pcNum. */
export const BLOCK_OK = 0;
/**
 * What a block returns when an instruction in it took an exception
 * (h.jitIndex names it; h.pending holds the trap).
 */
export const BLOCK_TRAP = -1;

/** Entries of a hart's front table for the block map (Hart.frontPc). */
export const FRONT_SLOTS = 1 << 12;
export const FRONT_MASK = FRONT_SLOTS - 1;

/** A block's exit to the pc expression `pc`: h.pcNum, then BLOCK_OK. */
function leave(pc: string | number): string {
  return `h.pcNum=${pc};return ${BLOCK_OK};`;
}

export interface JitBlock {
  readonly fn: BlockFn;
  /** The block's index in the wasm tier's table (jit-wasm.ts), WASM_PENDING before that, or -1: a JavaScript block (fn). */
  wasm: number;
  /** Instructions in the block (one pass; all retire when it returns, times h.jitLoops for a loop). */
  readonly n: number;
  /** The block ends in a branch back to its own head and runs as a loop. */
  readonly loop: boolean;
  /** The pc of each instruction, for a fault in the middle. */
  readonly pcs: readonly number[];
  /** Where the bytes were: the fetch view and the byte offset of the first instruction in it. */
  readonly u16: Uint16Array;
  readonly hoff: number;
  /** The halfwords the block was compiled from: their indices in u16 and their values. */
  readonly at: Int32Array;
  readonly was: Uint16Array;
  /** The hart's code epoch the block was last checked against (see sameCode). */
  epoch: number;
}

/**
 * A block's `at` and `was`: the halfword indices (into its u16) its
 * instructions came from, and their values now, for sameCode().
 */
export function codeSnapshot(u16: Uint16Array, halves: readonly number[]): Pick<JitBlock, 'at' | 'was'> {
  const at = Int32Array.from(halves);
  return { at, was: Uint16Array.from(at, (k) => u16[k]!) };
}

/**
 * Whether the block's instruction bytes are still what it was compiled from.
 * FENCE.I (and a host flush) only start a new epoch: a block is checked once
 * per epoch when next reached, and kept if its bytes are unchanged (running
 * it is then exactly running what a fresh fetch would see), so the many
 * FENCE.Is of a Linux boot (text patching, module loading) drop only code
 * that did change.
 */
export function sameCode(b: JitBlock): boolean {
  const u16 = b.u16;
  const at = b.at;
  const was = b.was;
  for (let k = 0; k < at.length; k++) if (u16[at[k]!] !== was[k]) return false;
  return true;
}

/**
 * Block heads are counted in a table indexed by a hash of the pc (a typed-array
 * increment per head, no map); a slot that reaches the threshold stays marked
 * HEAD_HOT, and only then is the block map consulted. Two heads sharing a slot
 * share a count: at worst a head is compiled a little early.
 */
export const HEAD_SLOTS = 1 << 16;
export const HEAD_HOT = 0xffff;

/** The most instructions in one block. */
export const MAX_BLOCK = 256;
const TWO32 = 4294967296;

/** A 64-bit constant as the (lo, hi) int32 pair the registers hold. */
function pair(v: number): [number, number] {
  return [v | 0, Math.floor(v / TWO32) | 0];
}

// Registers live in locals inside a block (r5l/r5h for x5's low and high
// words): loaded from the hart's array at entry, written back at every exit
// and before every call into the interpreter (which reads and writes the
// array, and may trap). FLUSH marks those places until the set of written
// registers is known.
const FLUSH = '@F@';
/** Instructions of the block's earlier passes, for a CSR read of instret inside a loop: `it*n+` or nothing. */
const PASSES = '@P@';
/**
 * Before a call that may trap inside a loop: `h.jitLoops=it;` (the passes
 * completed, which the interpreter needs only when the block returns
 * BLOCK_TRAP), or nothing. Storing it there rather than at the top of every
 * pass keeps the loop free of stores to the hart.
 */
const LOOPS = '@L@';

/** The registers a block reads and writes (by number), filled while it is emitted. */
interface RegUse {
  used: Set<number>;
  written: Set<number>;
}
let regs: RegUse = { used: new Set(), written: new Set() };

// Loads in a loop keep the last translation each one used in locals (its
// page's tag, the frame's views and byte offset): the next pass's access to
// the same page then skips the TLB arrays, whose loads (tag, views, base,
// then the view's elements) lie on the loop's critical path when a loaded
// value feeds the next address (a table lookup). A local copy is a TLB hit
// made earlier in the same call: any call into the interpreter may fill or
// flush the TLB, so every call forgets them (INVALIDATE). Outside loops the
// markers vanish and a load is the plain TLB lookup.
/** Load sites of the block being compiled: index -> the fast access (reads m and p). */
let loadSites = new Map<number, string>();
/** At a load site: `@A<k>@` the cached hit ("if (...) {...} else"), `@B<k>@` the cache refill. */
const CACHE_HIT = (k: number) => `@A${k}@`;
const CACHE_FILL = (k: number) => `@B${k}@`;
/** After a call into the interpreter: every load site's cached translation is forgotten. */
const INVALIDATE = '@I@';

/** The low / high word of the register at Int32Array index i (= 2 * number). */
function rl(i: number): string {
  if (i === 0) return '0';
  regs.used.add(i >> 1);
  return `r${i >> 1}l`;
}
function rh(i: number): string {
  if (i === 0) return '0';
  regs.used.add(i >> 1);
  return `r${i >> 1}h`;
}

/** Write (l, hh) into register rd (x0 discards). */
function put(rd: number, l: string, hh: string): string {
  if (rd === 0) return '';
  regs.used.add(rd);
  regs.written.add(rd);
  return `r${rd}l=${l};r${rd}h=${hh};`;
}

/** After the interpreter wrote register rd in the array: reload its locals. */
function reload(rd: number): string {
  if (rd === 0) return '';
  regs.used.add(rd);
  return `r${rd}l=x[${rd << 1}];r${rd}h=x[${(rd << 1) + 1}];`;
}

/** The effective address of rs1 + imm as vlo/vhi (the interpreter's carry rule). */
function ea(r1: number, imm: number): string {
  // No offset: the address is the register itself (no carry into the high word).
  if (imm === 0) return `const vlo=${rl(r1)};const vhi=${rh(r1)};`;
  return `const a=${rl(r1)};const vlo=(a+${imm})|0;const vhi=(${rh(r1)}+${imm >> 31}+(vlo>>>0<a>>>0?1:0))|0;`;
}

/**
 * Compile the block at `pc`, whose first instruction is the halfword at
 * byte `hoff` of `u16`; `pageOff` is pc's offset in its 4 KiB page (the block
 * stays within the page). Returns undefined when the first instruction is
 * not one this compiler handles.
 */
export function compileBlock(
  u16: Uint16Array,
  hoff: number,
  pc: number,
  pageOff: number,
  rvc: Int32Array,
  epoch: number,
): JitBlock | undefined {
  regs = { used: new Set(), written: new Set() };
  loadSites = new Map();
  const pcs: number[] = [];
  const halves: number[] = [];
  const pageBase = pc - pageOff;
  let body = '';
  let off = pageOff;
  let at = hoff;
  let cur = pc;
  let ended = false;
  let last: Emitted | undefined;
  while (pcs.length < MAX_BLOCK && off < 4094 && !ended) {
    const d = decodeAt(u16, at, rvc);
    if (d === undefined) break;
    const { insn, raw, len } = d;
    const code = emit(insn, raw, len, cur, pcs.length);
    if (code === undefined) break;
    pcs.push(cur);
    halves.push(at >>> 1);
    if (len === 4) halves.push((at >>> 1) + 1);
    const jt = code.jump?.target;
    if (jt !== undefined && jt - pageBase >= 0 && jt - pageBase < 4094 && !pcs.includes(jt)) {
      // A direct jump within the page: write the link and go on compiling at its target.
      body += `{${code.jump!.link}}`;
      off = jt - pageBase;
      at = hoff + (jt - pc);
      cur = jt;
      continue;
    }
    last = code;
    ended = code.ends;
    if (!(ended && code.branch?.target === pc)) body += `{${code.text}}`;
    off += len;
    at += len;
    cur += len;
  }
  if (pcs.length === 0) return undefined;
  const br = ended ? last?.branch : undefined;
  const loop = br?.target === pc;
  if (loop) {
    // A loop: iterate while the branch is taken and another pass fits the budget.
    const n = pcs.length;
    body =
      `@CACHES@let it=0;for(;;){${body}{${br!.pre}` +
      `if(${br!.cond}){it++;if((it+1)*${n}<=left)continue;h.jitLoops=it;${FLUSH}${leave(pc)}}` +
      `h.jitLoops=it+1;${FLUSH}${leave(br!.fall)}}}`;
  } else if (!ended) body += `${FLUSH}${leave(cur)}`;
  const load = [...regs.used].map((r) => `let r${r}l=x[${r << 1}],r${r}h=x[${(r << 1) + 1}];`).join('');
  const flush = [...regs.written].map((r) => `x[${r << 1}]=r${r}l;x[${(r << 1) + 1}]=r${r}h;`).join('');
  let caches = '';
  for (const [k, fast] of loadSites) {
    const c = `c${k}`;
    if (loop) caches += `let ${c}l=${TLB_INVALID},${c}h=0,${c}b=0,${c}m=null;`;
    const hit = loop
      ? `if((vlo&-4096)===${c}l&&vhi===${c}h){const m=${c}m;const p=${c}b+(vlo&4095);${fast}}else `
      : '';
    // The frame's offset kept as an int32 (cheaper on the critical path): frames below 2 GiB in their buffer.
    const fill = loop
      ? `{const b=rBase[e];if(b<2147483648){${c}l=vlo&-4096;${c}h=vhi;${c}b=b|0;${c}m=m;}}`
      : '';
    body = body.replace(CACHE_HIT(k), () => hit).replace(CACHE_FILL(k), () => fill);
  }
  const forget = loop ? [...loadSites.keys()].map((k) => `c${k}l=${TLB_INVALID};`).join('') : '';
  body = body.replaceAll(INVALIDATE, forget).replace('@CACHES@', () => caches);
  body = body
    .replaceAll(PASSES, loop ? `it*${pcs.length}+` : '')
    .replaceAll(LOOPS, loop ? 'h.jitLoops=it;' : '');
  const fn = blockFunction(`"use strict";${load}${body.replaceAll(FLUSH, flush)}`);
  return { fn, wasm: -1, n: pcs.length, loop, pcs, u16, hoff, ...codeSnapshot(u16, halves), epoch };
}

/**
 * Block functions by their source text, for the whole process. The text is
 * the whole behaviour (every pc, field and constant is folded in; the state
 * comes in as arguments), so equal text is an equal function: the harts of a
 * machine, which run the same kernel, share each block, and a block compiled
 * again (another VM in the process, a guest reboot, a FENCE.I that changed
 * other code) gets back the function V8 has already optimized instead of a
 * new one that starts in V8's interpreter.
 */
const fnCache = new Map<string, BlockFn>();
/** Distinct block functions kept before the cache starts over. */
const FN_CACHE_MAX = 1 << 14;

/**
 * Forget every cached block function: the next compile of each block makes a
 * new one, as in a fresh process. For benchmarks that boot several VMs in one
 * process and must not let a boot reuse what an earlier one compiled.
 */
export function clearBlockFunctionCache(): void {
  fnCache.clear();
}

function blockFunction(src: string): BlockFn {
  let fn = fnCache.get(src);
  if (fn === undefined) {
    if (fnCache.size >= FN_CACHE_MAX) fnCache.clear();
    fn = new Function(...PARAMS, src) as BlockFn;
    fnCache.set(src, fn);
  }
  return fn;
}

interface Emitted {
  text: string;
  /** The instruction transfers control: it leaves the next pc in h.pcNum and returns. */
  ends: boolean;
  /** A conditional branch, in parts: operand reads, the taken condition, both targets. */
  branch?: { pre: string; cond: string; target: number; fall: number };
  /** A direct jump (JAL): its link write and target, for compiling straight on. */
  jump?: { link: string; target: number };
}

/** The code for one instruction, or undefined to end the block before it. */
function emit(insn: number, raw: number, len: number, pc: number, k: number): Emitted | undefined {
  const rd = (insn >> 7) & 31;
  const r1 = (insn >> 14) & 62;
  const r2 = (insn >> 19) & 62;
  const f3 = (insn >> 12) & 7;
  const npc = pc + len;
  const alu = (text: string): Emitted => ({ text: rd === 0 ? '' : text, ends: false });
  switch (insn & 0x7f) {
    case 0x13: {
      const imm = insn >> 20;
      const ih = imm >> 31;
      const A = `const al=${rl(r1)},ah=${rh(r1)};`;
      switch (f3) {
        case 0:
          return alu(`${A}const l=(al+${imm})|0;${put(rd, 'l', `(ah+${ih}+(l>>>0<al>>>0?1:0))|0`)}`);
        case 1: {
          if (insn >>> 26 !== 0) return undefined;
          return alu(`${A}${shiftLeft(imm & 63)}${put(rd, 'l', 'hh')}`);
        }
        case 2:
          return alu(`${A}${put(rd, `(ah<${ih}||(ah===${ih}&&al>>>0<${imm >>> 0}))?1:0`, '0')}`);
        case 3:
          return alu(`${A}${put(rd, `(ah>>>0<${ih >>> 0}||(ah===${ih}&&al>>>0<${imm >>> 0}))?1:0`, '0')}`);
        case 4:
          return alu(`${A}${put(rd, `al^${imm}`, `ah^${ih}`)}`);
        case 5: {
          const top = insn >>> 26;
          if (top !== 0 && top !== 0x10) return undefined;
          return alu(`${A}${shiftRight(imm & 63, top !== 0)}${put(rd, 'l', 'hh')}`);
        }
        case 6:
          return alu(`${A}${put(rd, `al|${imm}`, `ah|${ih}`)}`);
        default:
          return alu(`${A}${put(rd, `al&${imm}`, `ah&${ih}`)}`);
      }
    }
    case 0x33: {
      const f7 = insn >>> 25;
      const A = `const al=${rl(r1)},ah=${rh(r1)},bl=${rl(r2)},bh=${rh(r2)};`;
      if (f7 === 0) {
        switch (f3) {
          case 0:
            return alu(`${A}const l=(al+bl)|0;${put(rd, 'l', '(ah+bh+(l>>>0<al>>>0?1:0))|0')}`);
          case 1:
            return alu(`${A}let l,hh;const s=bl&63;${dynShift('left', false)}${put(rd, 'l', 'hh')}`);
          case 2:
            return alu(`${A}${put(rd, '(ah<bh||(ah===bh&&al>>>0<bl>>>0))?1:0', '0')}`);
          case 3:
            return alu(`${A}${put(rd, '(ah>>>0<bh>>>0||(ah===bh&&al>>>0<bl>>>0))?1:0', '0')}`);
          case 4:
            return alu(`${A}${put(rd, 'al^bl', 'ah^bh')}`);
          case 5:
            return alu(`${A}let l,hh;const s=bl&63;${dynShift('right', false)}${put(rd, 'l', 'hh')}`);
          case 6:
            return alu(`${A}${put(rd, 'al|bl', 'ah|bh')}`);
          default:
            return alu(`${A}${put(rd, 'al&bl', 'ah&bh')}`);
        }
      }
      if (f7 === 0x20) {
        if (f3 === 0) return alu(`${A}${put(rd, '(al-bl)|0', '(ah-bh-(al>>>0<bl>>>0?1:0))|0')}`);
        if (f3 === 5)
          return alu(`${A}let l,hh;const s=bl&63;${dynShift('right', true)}${put(rd, 'l', 'hh')}`);
        return undefined;
      }
      if (f7 === 1) {
        // M on 32-bit limbs (muldiv.ts), each op its own call: no BigInt, no dispatch on funct3.
        if (f3 === 0)
          return alu(
            `${A}${put(rd, 'Math.imul(al,bl)', '(lib.mulhu32(al,bl)+Math.imul(al,bh)+Math.imul(ah,bl))|0')}`,
          );
        const call =
          f3 === 1
            ? 'lib.mulh64(al,ah,bl,bh,t)'
            : f3 === 2
              ? 'lib.mulhsu64(al,ah,bl,bh,t)'
              : f3 === 3
                ? 'lib.mulhu64(al,ah,bl,bh,t)'
                : `lib.div64(al,ah,bl,bh,${(f3 & 1) === 0},${f3 >= 6},t)`;
        return alu(`${A}const t=h.tmp;${call};${put(rd, 't[0]', 't[1]')}`);
      }
      return undefined;
    }
    case 0x1b: {
      const A = `const al=${rl(r1)};`;
      const sh = (insn >> 20) & 31;
      const top = insn >>> 25;
      let e: string;
      if (f3 === 0) e = `(al+${insn >> 20})|0`;
      else if (f3 === 1 && top === 0) e = `al<<${sh}`;
      else if (f3 === 5 && top === 0) e = `(al>>>${sh})|0`;
      else if (f3 === 5 && top === 0x20) e = `al>>${sh}`;
      else return undefined;
      return alu(`${A}const l=${e};${put(rd, 'l', 'l>>31')}`);
    }
    case 0x3b: {
      const f7 = insn >>> 25;
      const A = `const al=${rl(r1)},bl=${rl(r2)};`;
      let e: string;
      if (f7 === 0 && f3 === 0) e = '(al+bl)|0';
      else if (f7 === 0 && f3 === 1) e = 'al<<(bl&31)';
      else if (f7 === 0 && f3 === 5) e = '(al>>>(bl&31))|0';
      else if (f7 === 0x20 && f3 === 0) e = '(al-bl)|0';
      else if (f7 === 0x20 && f3 === 5) e = 'al>>(bl&31)';
      else if (f7 === 1 && f3 === 0) e = 'Math.imul(al,bl)';
      else if (f7 === 1 && f3 >= 4) e = `lib.div32(al,bl,${(f3 & 1) === 0},${f3 >= 6})`;
      else return undefined;
      return alu(`${A}const l=${e};${put(rd, 'l', 'l>>31')}`);
    }
    case 0x37: {
      const l = insn & 0xfffff000;
      return alu(put(rd, String(l), String(l >> 31)));
    }
    case 0x17: {
      const [l, hh] = pair(pc + (insn & 0xfffff000));
      return alu(put(rd, String(l), String(hh)));
    }
    case 0x6f: {
      const imm =
        ((insn >> 31) << 20) |
        (((insn >>> 12) & 0xff) << 12) |
        (((insn >>> 20) & 1) << 11) |
        (((insn >>> 21) & 0x3ff) << 1);
      const [l, hh] = pair(npc);
      const link = put(rd, String(l), String(hh));
      return { text: `${link}${FLUSH}${leave(pc + imm)}`, ends: true, jump: { link, target: pc + imm } };
    }
    case 0x67: {
      if (f3 !== 0) return undefined;
      const imm = insn >> 20;
      const [l, hh] = pair(npc);
      return {
        text:
          `const al=${rl(r1)};const tl=(al+${imm})|0;` +
          `const th=(${rh(r1)}+${imm >> 31}+(tl>>>0<al>>>0?1:0))|0;` +
          `${put(rd, String(l), String(hh))}${FLUSH}${leave(`th*${TWO32}+((tl&-2)>>>0)`)}`,
        ends: true,
      };
    }
    case 0x63: {
      let cond: string;
      switch (f3) {
        case 0:
          cond = 'al===bl&&ah===bh';
          break;
        case 1:
          cond = 'al!==bl||ah!==bh';
          break;
        case 4:
          cond = 'ah<bh||(ah===bh&&al>>>0<bl>>>0)';
          break;
        case 5:
          cond = '!(ah<bh||(ah===bh&&al>>>0<bl>>>0))';
          break;
        case 6:
          cond = 'ah>>>0<bh>>>0||(ah===bh&&al>>>0<bl>>>0)';
          break;
        case 7:
          cond = '!(ah>>>0<bh>>>0||(ah===bh&&al>>>0<bl>>>0))';
          break;
        default:
          return undefined;
      }
      const off =
        ((insn >> 31) << 12) |
        (((insn >>> 7) & 1) << 11) |
        (((insn >>> 25) & 0x3f) << 5) |
        (((insn >>> 8) & 0xf) << 1);
      const pre = `const al=${rl(r1)},ah=${rh(r1)},bl=${rl(r2)},bh=${rh(r2)};`;
      return {
        text: `${pre}${FLUSH}${leave(`(${cond})?${pc + off}:${npc}`)}`,
        ends: true,
        branch: { pre, cond, target: pc + off, fall: npc },
      };
    }
    case 0x03: {
      if (f3 === 7) return undefined;
      const slow = `${FLUSH}${LOOPS}h.jitIndex=${k};if(lib.blockLoad(h,vlo,vhi,${f3},${rd},${insn},${raw},${len})!==0)return ${BLOCK_TRAP};${INVALIDATE}${reload(rd)}`;
      let fast: string;
      switch (f3) {
        case 3:
          fast = `if((p&7)===0){${put(rd, 'm.i32[p>>>2]', 'm.i32[(p>>>2)+1]')}ok=1;}`;
          break;
        case 2:
          fast = `if((p&3)===0){const l=m.i32[p>>>2];${put(rd, 'l', 'l>>31')}ok=1;}`;
          break;
        case 6:
          fast = `if((p&3)===0){${put(rd, 'm.i32[p>>>2]', '0')}ok=1;}`;
          break;
        case 0:
          fast = `{const l=m.i8[p];${put(rd, 'l', 'l>>31')}ok=1;}`;
          break;
        case 4:
          fast = `{${put(rd, 'm.u8[p]', '0')}ok=1;}`;
          break;
        case 1:
          fast = `if((p&1)===0){const l=m.i16[p>>>1];${put(rd, 'l', 'l>>31')}ok=1;}`;
          break;
        default:
          fast = `if((p&1)===0){${put(rd, 'm.u16[p>>>1]', '0')}ok=1;}`;
          break;
      }
      loadSites.set(k, fast);
      return {
        text:
          `${ea(r1, insn >> 20)}let ok=0;${CACHE_HIT(k)}{const e=(vlo>>>12)&${TLB_MASK};` +
          `if(rTagLo[e]===(vlo&-4096)&&rTagHi[e]===vhi){const m=rMem[e];${CACHE_FILL(k)}const p=rBase[e]+(vlo&4095);${fast}}}` +
          `if(ok===0){${slow}}`,
        ends: false,
      };
    }
    case 0x23: {
      if (f3 > 3) return undefined;
      const imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
      const v = rl(r2);
      let fast: string;
      switch (f3) {
        case 3:
          fast = `if((p&7)===0){m.i32[p>>>2]=${v};m.i32[(p>>>2)+1]=${rh(r2)};ok=1;}`;
          break;
        case 2:
          fast = `if((p&3)===0){m.i32[p>>>2]=${v};ok=1;}`;
          break;
        case 1:
          fast = `if((p&1)===0){m.i16[p>>>1]=${v};ok=1;}`;
          break;
        default:
          fast = `m.u8[p]=${v};ok=1;`;
          break;
      }
      return {
        text:
          `${ea(r1, imm)}const e=(vlo>>>12)&${TLB_MASK};let ok=0;` +
          `if(wTagLo[e]===(vlo&-4096)&&wTagHi[e]===vhi){const m=wMem[e];const p=wBase[e]+(vlo&4095);${fast}` +
          `if(ok===1&&resv.active!==0)resv.store(wHpa[e]+(vlo&4095),${1 << f3});}` +
          `if(ok===0){${FLUSH}${LOOPS}h.jitIndex=${k};if(lib.blockStore(h,vlo,vhi,${f3},${r2},${insn},${raw},${len})!==0)return ${BLOCK_TRAP};${INVALIDATE}}`,
        ends: false,
      };
    }
    case 0x0f:
      // FENCE orders nothing here (harts run one at a time); FENCE.I ends the block, and so
      // does `pause` (0x0100000f), which the interpreter runs so it can end the run (Hart.pauseExits).
      return f3 === 0 && insn !== 0x0100000f ? { text: '', ends: false } : undefined;
    case 0x2f:
      return { text: `${call(k, `lib.blockAmo(h,${insn},${raw},${len})`)}${reload(rd)}`, ends: false };
    case 0x07:
    case 0x27:
      return { text: call(k, `lib.blockFpMem(h,${insn},${raw},${len})`), ends: false };
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f:
    case 0x53:
      // FMV.X.*, FCVT to integer, compares and FCLASS write rd in the x array.
      return { text: `${call(k, `lib.blockFpOp(h,${insn},${raw})`)}${reload(rd)}`, ends: false };
    case 0x73: {
      // CSR accesses; the privileged instructions and HLV/HSV end the block.
      if (f3 === 0 || f3 === 4) return undefined;
      const text = `${call(k, `lib.blockCsr(h,${insn},${raw},${pc},${len},${PASSES}${k})`)}${reload(rd)}`;
      // A read goes on; a write may change what the run loop must see
      // (interrupt enables, the translation context), so the block ends after it.
      if ((f3 & 3) !== 1 && ((insn >> 15) & 31) === 0) return { text, ends: false };
      return { text: `${text}${FLUSH}${leave(npc)}`, ends: true };
    }
    default:
      return undefined;
  }
}

/** A call into jit-calls.ts for instruction k: registers written back first; a trap leaves the block. */
function call(k: number, expr: string): string {
  return `${FLUSH}${LOOPS}h.jitIndex=${k};if(${expr}!==0)return ${BLOCK_TRAP};${INVALIDATE}`;
}

/** SLLI by a constant: l, hh from al, ah. */
function shiftLeft(sh: number): string {
  if (sh === 0) return 'const l=al,hh=ah;';
  if (sh < 32) return `const hh=(ah<<${sh})|(al>>>${32 - sh}),l=al<<${sh};`;
  return `const hh=al<<${sh - 32},l=0;`;
}

/** SRLI/SRAI by a constant. */
function shiftRight(sh: number, arith: boolean): string {
  if (sh === 0) return 'const l=al,hh=ah;';
  if (sh < 32) return `const l=(al>>>${sh})|(ah<<${32 - sh}),hh=ah${arith ? '>>' : '>>>'}${sh};`;
  // |0: locals hold int32 words; ah>>>0 (a shift by 32) would be an unsigned number and compare unequal.
  return arith ? `const l=ah>>${sh - 32},hh=ah>>31;` : `const l=(ah>>>${sh - 32})|0,hh=0;`;
}

/** SLL/SRL/SRA by s = bl & 63, into the declared l, hh. */
function dynShift(dir: 'left' | 'right', arith: boolean): string {
  if (dir === 'left')
    return 'if(s===0){l=al;hh=ah;}else if(s<32){hh=(ah<<s)|(al>>>(32-s));l=al<<s;}else{hh=al<<(s-32);l=0;}';
  if (arith)
    return 'if(s===0){l=al;hh=ah;}else if(s<32){l=(al>>>s)|(ah<<(32-s));hh=ah>>s;}else{l=ah>>(s-32);hh=ah>>31;}';
  return 'if(s===0){l=al;hh=ah;}else if(s<32){l=(al>>>s)|(ah<<(32-s));hh=ah>>>s;}else{l=(ah>>>(s-32))|0;hh=0;}';
}
