import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import {
  clearBlockFunctionCache,
  type Hart,
  JIT_COMPILE_CHARGE,
  JIT_HOT,
  TRAP_CHARGE,
  WASM_HOT,
} from '../src/index.ts';
import { bareHart, RAM } from './setup.ts';
import { WASM_TIER } from './support/tier.ts';

// The block compiler against the interpreter: the same program on two harts,
// one with `jit: false`, must leave the same registers, memory, pc and
// instret; faults inside compiled blocks must be as precise as the
// interpreter's; FENCE.I must make modified code visible.

const DATA = RAM + 0x10_0000; // x31 points here: 4 KiB of data the programs load and store
const LOOPS = 600; // well past the compile threshold the tests use, so every loop body runs compiled
const THRESHOLD = 16;

// mulberry32: the low bits of a plain LCG repeat too soon for picking opcodes.
let seed = 0x9e3779b9;
function rnd(n: number): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
}
function rnd64(): bigint {
  let v = 0n;
  for (let k = 0; k < 4; k++) v = (v << 16n) | BigInt(rnd(0x10000));
  return BigInt.asIntN(64, v);
}

const rr = [A.add, A.sub, A.sll, A.slt, A.sltu, A.xor, A.srl, A.sra, A.or, A.and];
const rrW = [A.addw, A.subw, A.sllw, A.srlw, A.sraw];
const md = [
  A.mul,
  A.mulh,
  A.mulhsu,
  A.mulhu,
  A.div,
  A.divu,
  A.rem,
  A.remu,
  A.mulw,
  A.divw,
  A.divuw,
  A.remw,
  A.remuw,
];
const ri = [A.addi, A.slti, A.sltiu, A.xori, A.ori, A.andi];
const sh = [A.slli, A.srli, A.srai];
const shW = [A.slliw, A.srliw, A.sraiw];
const loads: [(d: number, b: number, o: number) => number, number][] = [
  [A.lb, 1],
  [A.lbu, 1],
  [A.lh, 2],
  [A.lhu, 2],
  [A.lw, 4],
  [A.lwu, 4],
  [A.ld, 8],
];
const stores: [(s: number, b: number, o: number) => number, number][] = [
  [A.sb, 1],
  [A.sh, 2],
  [A.sw, 4],
  [A.sd, 8],
];
const branches = [A.beq, A.bne, A.blt, A.bge, A.bltu, A.bgeu];

const reg = () => 1 + rnd(29); // x1..x29; x30 counts the loop, x31 is the data base
const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;

/** A random loop body: ALU, M, immediates, shifts, aligned loads/stores at x31, and forward branches. */
function randomBody(len: number): number[] {
  const out: number[] = [];
  while (out.length < len) {
    switch (rnd(10)) {
      case 0:
      case 1:
        out.push(pick(rr)(reg(), reg(), reg()));
        break;
      case 2:
        out.push(pick(rrW)(reg(), reg(), reg()));
        break;
      case 3:
        out.push(pick(md)(reg(), reg(), reg()));
        break;
      case 4:
        out.push(pick(ri)(reg(), reg(), rnd(4096) - 2048));
        break;
      case 5:
        out.push(rnd(2) ? pick(sh)(reg(), reg(), rnd(64)) : pick(shW)(reg(), reg(), rnd(32)));
        break;
      case 6: {
        const [op, size] = pick(loads);
        out.push(op(reg(), 31, rnd(2048 / size) * size));
        break;
      }
      case 7: {
        const [op, size] = pick(stores);
        out.push(op(reg(), 31, rnd(2048 / size) * size));
        break;
      }
      case 8:
        // skip the next instruction when taken
        out.push(pick(branches)(reg(), reg(), 8), A.addi(reg(), reg(), rnd(100)));
        break;
      default:
        out.push(rnd(2) ? A.lui(reg(), rnd(1 << 20)) : A.auipc(reg(), rnd(1 << 20)));
    }
  }
  return out;
}

/** The body in a counted loop, then ecall. */
function program(body: number[], loops = LOOPS): number[] {
  const back = -4 * (body.length + 1);
  return [...A.li(30, BigInt(loops)), ...body, A.addi(30, 30, -1), A.bne(30, 0, back), A.ECALL];
}

function twoHarts(code: number[], init: (h: Hart) => void = () => {}) {
  return [true, false].map((jit) => {
    const { hart, mem } = bareHart(2048, { jit, jitThreshold: THRESHOLD });
    mem.code(RAM, code);
    for (let i = 0; i < 4096; i += 8) mem.w64(DATA + i, BigInt(i) * 0x0101_0101_0101n);
    init(hart);
    hart.setX(31, BigInt(DATA));
    return { hart, mem };
  });
}

function state(h: Hart, mem: { r64(pa: number): bigint }) {
  const regs = Array.from({ length: 32 }, (_, i) => h.getX(i));
  const data = Array.from({ length: 512 }, (_, i) => mem.r64(DATA + 8 * i));
  return { regs, data, pc: h.pc, instret: h.instret };
}

describe('compiled blocks agree with the interpreter', () => {
  it('40 random loop bodies leave identical registers, memory, pc and instret', () => {
    for (let t = 0; t < 40; t++) {
      const body = randomBody(4 + rnd(40));
      const regs = Array.from({ length: 30 }, () => rnd64());
      const [j, interp] = twoHarts(program(body), (h) => {
        for (const [i, v] of regs.entries()) if (i > 0) h.setX(i, v);
      });
      const ej = j!.hart.run(10_000_000);
      const ei = interp!.hart.run(10_000_000);
      expect(ej.kind, `body ${t}`).toBe(ei.kind);
      expect(state(j!.hart, j!.mem), `body ${t}`).toEqual(state(interp!.hart, interp!.mem));
      expect(j!.hart.compiledBlocks, `body ${t}`).toBeGreaterThan(0);
      expect(interp!.hart.compiledBlocks).toBe(0);
    }
  });

  it('run(budget) stops at exactly the budget with blocks running (compiles count against it)', () => {
    const body = randomBody(30);
    for (const budget of [997, 4096 + 13, 50_001]) {
      const [j, interp] = twoHarts(program(body, 100_000));
      const ej = j!.hart.run(budget);
      expect(ej.kind).toBe('budget');
      const compiles = j!.hart.compiledBlocks;
      // Compiles are charged as they happen, so run() may stop short of the budget by their charge.
      expect(ej.charged).toBe(ej.retired + compiles * JIT_COMPILE_CHARGE);
      expect(ej.charged).toBeGreaterThanOrEqual(budget);
      expect(ej.retired).toBeLessThanOrEqual(budget);
      if (compiles === 0) expect(ej.retired).toBe(budget);
      const ei = interp!.hart.run(ej.retired);
      expect(ei.retired).toBe(ej.retired);
      expect(state(j!.hart, j!.mem)).toEqual(state(interp!.hart, interp!.mem));
      // Warm: with every block already compiled, run() stops at exactly the budget.
      const warm = j!.hart.run(budget);
      expect(j!.hart.compiledBlocks).toBe(compiles);
      expect(warm).toMatchObject({ kind: 'budget', retired: budget, charged: budget });
      interp!.hart.run(budget);
      expect(state(j!.hart, j!.mem)).toEqual(state(interp!.hart, interp!.mem));
    }
  });
});

describe('loads in a compiled loop', () => {
  it('a load whose page changes every pass, one that is misaligned and one after a store agree with the interpreter', () => {
    // A loop's load keeps its last translation in locals: x7 alternates between two
    // pages holding different data, the lw at 4094(x31) is misaligned (the slow path,
    // which may change the TLB, then runs every pass), and the sd writes what the next
    // pass's ld of the same page must see.
    const body = [
      A.ld(6, 7, 8),
      A.add(5, 5, 6),
      A.xor(7, 7, 9),
      A.lw(10, 31, 4094),
      A.add(5, 5, 10),
      A.sd(5, 31, 16),
      A.ld(11, 31, 16),
      A.add(12, 12, 11),
    ];
    const far = DATA + 0x3000;
    const [j, interp] = twoHarts(program(body), (h) => {
      h.setX(7, BigInt(DATA));
      h.setX(9, BigInt(DATA ^ far));
    });
    for (const { mem } of [j!, interp!]) mem.w64(far + 8, 0x1234_5678_9abc_def0n);
    const ej = j!.hart.run(10_000_000);
    const ei = interp!.hart.run(10_000_000);
    expect(ej.kind).toBe(ei.kind);
    expect(j!.hart.compiledBlocks).toBeGreaterThan(0);
    expect(state(j!.hart, j!.mem)).toEqual(state(interp!.hart, interp!.mem));
    // Half the passes read each page (LOOPS is even): 0x0808..08 from DATA+8, the pattern from far+8.
    expect(j!.hart.getX(7)).toBe(BigInt(DATA));
    expect(j!.hart.getX(11)).toBe(j!.hart.getX(5));
  });
});

describe('faults inside a compiled block', () => {
  it('a load past RAM in the middle of a hot block traps at its own pc, with the instructions before it retired', () => {
    // x7 walks up by 4 KiB per iteration until it leaves RAM (8 MiB): the ld faults on iteration 2049.
    const body = [A.addi(5, 5, 1), A.ld(6, 7, 0), A.addi(8, 8, 1), A.add(7, 7, 9)];
    const code = program(body, 100_000);
    const [j, interp] = twoHarts(code, (h) => {
      h.setX(7, BigInt(RAM));
      h.setX(9, 4096n);
    });
    const ej = j!.hart.run(10_000_000);
    const ei = interp!.hart.run(10_000_000);
    expect(ej.kind).not.toBe('budget');
    // The same exit, but for the compiles the compiling hart was charged (both were charged the trap).
    expect({ ...ej, charged: 0 }).toEqual({ ...ei, charged: 0 });
    expect(ei.charged).toBe(ei.retired + TRAP_CHARGE);
    expect(ej.charged - ej.retired).toBe(j!.hart.compiledBlocks * JIT_COMPILE_CHARGE + TRAP_CHARGE);
    expect(j!.hart.compiledBlocks).toBeGreaterThan(0);
    // the ld's pc: after li (its length varies) and the first addi
    const ldPc = BigInt(RAM + 4 * A.li(30, 100_000n).length + 4);
    expect(j!.hart.pc).toBe(ldPc);
    expect(j!.hart.getX(5)).toBe(j!.hart.getX(8) + 1n); // the addi before the ld ran, the one after did not
    expect(state(j!.hart, j!.mem)).toEqual(state(interp!.hart, interp!.mem));
  });
});

describe('faults inside a compiled block (stores)', () => {
  it('a store past RAM in a looping block traps at its own pc after whole passes, as the interpreter does', () => {
    // As above with sd: the block reports the fault as a status (BLOCK_TRAP), not a throw through it.
    const body = [A.addi(5, 5, 1), A.sd(5, 7, 0), A.addi(8, 8, 1), A.add(7, 7, 9)];
    const code = program(body, 100_000);
    const [j, interp] = twoHarts(code, (h) => {
      h.setX(7, BigInt(RAM + 0x40_0000));
      h.setX(9, 4096n);
    });
    const ej = j!.hart.run(10_000_000);
    const ei = interp!.hart.run(10_000_000);
    expect(ej.kind).not.toBe('budget');
    expect({ ...ej, charged: 0 }).toEqual({ ...ei, charged: 0 });
    expect(j!.hart.compiledBlocks).toBeGreaterThan(0);
    expect(j!.hart.pc).toBe(BigInt(RAM + 4 * A.li(30, 100_000n).length + 4));
    expect(j!.hart.getX(5)).toBe(j!.hart.getX(8) + 1n);
    expect(state(j!.hart, j!.mem)).toEqual(state(interp!.hart, interp!.mem));
  });
});

/** fadd.d rd, rs1, rs2 (round to nearest even). */
const faddD = (rd: number, rs1: number, rs2: number) =>
  ((0x01 << 25) | (rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x53) >>> 0;

describe('CSR, AMO, LR/SC, F/D and FENCE inside compiled blocks', () => {
  function fullState(h: Hart, mem: { r64(pa: number): bigint }) {
    const f = Array.from({ length: 4 }, (_, i) => h.getF(i));
    return { ...state(h, mem), f, vsscratch: h.vsscratch, fcsr: h.getCsr(C.CSR_FCSR) };
  }
  const counters = (h: Hart) => h.setCsr(C.CSR_HCOUNTEREN, 7n);

  it('a loop block reading instret and cycle between AMOs and FP ops agrees with the interpreter on every pass', () => {
    // No CSR write: the whole body is one looping block, so the instret reads see it*n+k.
    const body = [
      A.csrrs(9, C.CSR_INSTRET, 0),
      A.add(6, 6, 9),
      A.amoaddD(5, 31, 6),
      A.FENCE,
      A.fld(1, 31, 64),
      faddD(2, 2, 1),
      A.fsd(2, 31, 128),
      A.csrrs(10, C.CSR_CYCLE, 0),
      A.csrrs(11, C.CSR_FCSR, 0),
      A.xor(12, 12, 10),
    ];
    const [j, interp] = twoHarts(program(body), counters);
    expect(j!.hart.run(1_000_000).kind).toBe('ecall');
    expect(interp!.hart.run(1_000_000).kind).toBe('ecall');
    expect(j!.hart.compiledBlocks).toBeGreaterThan(0);
    expect(fullState(j!.hart, j!.mem)).toEqual(fullState(interp!.hart, interp!.mem));
  });

  it('LR/SC pairs, sscratch writes (which end a block) and FP flags agree with the interpreter', () => {
    const body = [
      A.lrD(7, 31),
      A.addi(7, 7, 3),
      A.scD(8, 31, 7),
      A.add(13, 13, 8),
      A.csrrw(0, C.CSR_SSCRATCH, 7),
      A.csrrs(14, C.CSR_SSCRATCH, 0),
      A.amoswapW(15, 31, 14),
      A.fld(1, 31, 8),
      faddD(3, 3, 1),
      A.csrrs(16, C.CSR_INSTRET, 0),
    ];
    const [j, interp] = twoHarts(program(body), counters);
    expect(j!.hart.run(1_000_000).kind).toBe('ecall');
    expect(interp!.hart.run(1_000_000).kind).toBe('ecall');
    expect(j!.hart.compiledBlocks).toBeGreaterThan(1);
    expect(fullState(j!.hart, j!.mem)).toEqual(fullState(interp!.hart, interp!.mem));
  });

  it('an interrupt a compiled CSR write enables is taken before the next instruction, as interpreted', () => {
    // VSSIP pending, delegated and enabled in hie; vsstatus.SIE is off until csrrsi sets it.
    const handler = RAM + 0x800;
    const code = [A.addi(5, 5, 1), A.csrrsi(0, C.CSR_SSTATUS, C.SR_SIE), A.addi(6, 6, 1), A.ECALL];
    const outcome = [{ jit: true, jitThreshold: 1 }, { jit: false }].map((opts) => {
      const { hart, mem } = bareHart(64, opts);
      mem.code(RAM, code);
      mem.code(handler, [A.ECALL]);
      hart.setCsr(C.CSR_HIDELEG, BigInt(C.MIP_VSSIP));
      hart.setCsr(C.CSR_HIE, BigInt(C.MIP_VSSIP));
      hart.setCsr(C.CSR_VSTVEC, BigInt(handler));
      hart.setInterrupt(C.IRQ_VS_SOFT, true);
      const e = hart.run(100_000);
      return {
        kind: e.kind,
        pc: e.pc,
        x5: hart.getX(5),
        x6: hart.getX(6),
        vsepc: hart.getCsr(C.CSR_VSEPC),
        blocks: hart.compiledBlocks,
      };
    });
    expect(outcome[0]!.blocks).toBeGreaterThan(0);
    expect(outcome[1]).toMatchObject({
      kind: 'ecall',
      pc: BigInt(handler),
      x5: 1n,
      x6: 0n,
      vsepc: BigInt(RAM + 8),
    });
    expect({ ...outcome[0], blocks: 0 }).toEqual({ ...outcome[1], blocks: 0 });
  });
});

describe('the compile threshold', () => {
  it('a head is compiled only once reached jitThreshold times; the default is JIT_HOT (WASM_HOT with the wasm tier)', () => {
    const body = [A.addi(5, 5, 1), A.addi(6, 6, 2)];
    for (const [loops, compiled] of [
      [THRESHOLD - 1, 0],
      [THRESHOLD + 1, 1],
    ] as const) {
      const { hart, mem } = bareHart(64, { jitThreshold: THRESHOLD });
      mem.code(RAM, program(body, loops));
      expect(hart.run(100_000).kind).toBe('ecall');
      expect(hart.compiledBlocks).toBe(compiled);
      expect(hart.getX(6)).toBe(BigInt(2 * loops));
    }
    const { hart, mem } = bareHart(64);
    mem.code(RAM, program(body, (WASM_TIER ? WASM_HOT : JIT_HOT) - 1));
    hart.run(1_000_000);
    expect(hart.compiledBlocks).toBe(0);
  });
});

describe('register words inside a block', () => {
  it('a logical right shift by exactly 32 compares equal to the same value held elsewhere (beq, bne, div)', () => {
    // x6 = 0xc0029073_0000_0000: shifted right by 32 its low word has bit 31 set.
    // x7 = 0x0000_0000_c002_9073 (the same value, from li); x9 = 32 for SRL.
    const body = [
      A.srli(5, 6, 32),
      A.beq(5, 7, 8),
      A.addi(10, 10, 1), // skipped when equal
      A.srl(8, 6, 9),
      A.bne(8, 7, 8),
      A.addi(11, 11, 1), // runs when equal
      A.divu(12, 5, 7), // 1 when equal
      A.add(13, 13, 12),
    ];
    const [jit, int] = twoHarts(program(body), (h) => {
      h.setX(6, 0xc002_9073_0000_0000n);
      h.setX(7, 0xc002_9073n);
      h.setX(9, 32n);
    });
    for (const { hart } of [jit!, int!]) expect(hart.run(1_000_000).kind).toBe('ecall');
    expect(int!.hart.getX(10)).toBe(0n);
    expect(int!.hart.getX(11)).toBe(BigInt(LOOPS));
    expect(state(jit!.hart, jit!.mem)).toEqual(state(int!.hart, int!.mem));
  });
});

// JavaScript block functions only: the wasm tier shares blocks by their bytes within an arena (jit-wasm.test.ts).
describe.skipIf(WASM_TIER)('block functions are shared by their source text', () => {
  it('harts running the same code share one function; other code at the same pc gets its own and its own result', () => {
    const run = (body: number[], jit: boolean) => {
      const { hart, mem } = bareHart(64, { jit, jitThreshold: THRESHOLD });
      mem.code(RAM, program(body));
      expect(hart.run(100_000).kind).toBe('ecall');
      const fns = new Map([...hart.blocks].flatMap(([pc, b]) => (b === null ? [] : [[pc, b.fn] as const])));
      return { x5: hart.getX(5), x6: hart.getX(6), fns };
    };
    const same = [A.addi(5, 5, 1), A.xor(6, 6, 5)];
    const other = [A.addi(5, 5, 3), A.xor(6, 6, 5)];
    const a = run(same, true);
    const b = run(same, true);
    const c = run(other, true);
    for (const [body, got] of [
      [same, a],
      [same, b],
      [other, c],
    ] as const) {
      const want = run(body, false);
      expect([got.x5, got.x6]).toEqual([want.x5, want.x6]);
    }
    expect(a.fns.size).toBeGreaterThan(0);
    for (const [pc, fn] of a.fns) {
      expect(b.fns.get(pc)).toBe(fn);
      if (c.fns.has(pc)) expect(c.fns.get(pc)).not.toBe(fn);
    }
  });
  it('after clearBlockFunctionCache() the same code compiles to a new function that computes the same', () => {
    const run = () => {
      const { hart, mem } = bareHart(64, { jit: true, jitThreshold: THRESHOLD });
      mem.code(RAM, program([A.addi(5, 5, 7), A.xor(6, 6, 5)]));
      expect(hart.run(100_000).kind).toBe('ecall');
      const fns = [...hart.blocks.values()].flatMap((b) => (b === null ? [] : [b.fn]));
      return { x: [hart.getX(5), hart.getX(6)], fns };
    };
    const before = run();
    clearBlockFunctionCache();
    const after = run();
    expect(after.x).toEqual(before.x);
    expect(before.fns.length).toBeGreaterThan(0);
    for (const fn of after.fns) expect(before.fns).not.toContain(fn);
  });
});

describe('FENCE.I', () => {
  it('code the guest rewrites is seen after FENCE.I, in compiled code too', () => {
    // x5 += 1 for LOOPS iterations; then the loop's addi is rewritten to add 2, FENCE.I, and the loop runs again.
    const pre = A.li(30, BigInt(LOOPS));
    const loopAt = RAM + 4 * pre.length;
    const code = [
      ...pre,
      A.addi(5, 5, 1), // loopAt: patched
      A.addi(30, 30, -1),
      A.bne(30, 0, -8),
      A.bne(11, 0, 24), // second pass done: to the ecall
      A.addi(11, 0, 1),
      A.sw(12, 13, 0), // patch loopAt with x12 (addi x5, x5, 2)
      A.FENCE_I,
      ...A.li(30, BigInt(LOOPS)).slice(0, 1), // li of a small value is one instruction
      A.jal(0, -4 * 8),
      A.ECALL,
    ];
    expect(A.li(30, BigInt(LOOPS))).toHaveLength(1);
    const outcome = [true, false].map((jit) => {
      const { hart, mem } = bareHart(2048, { jit, jitThreshold: THRESHOLD });
      mem.code(RAM, code);
      hart.setX(12, BigInt(A.addi(5, 5, 2)));
      hart.setX(13, BigInt(loopAt));
      hart.run(10_000_000);
      return hart.getX(5);
    });
    expect(outcome).toEqual([BigInt(3 * LOOPS), BigInt(3 * LOOPS)]);
  });
});

describe('compile work counts against the budget', () => {
  it('a loop that rewrites its own code and FENCE.Is under jitThreshold 1 ends run() early by JIT_COMPILE_CHARGE per compile, with instret untouched', () => {
    // addi x5 (rewritten every pass: +1, +2, +1, ...); store the next form; fence.i (the loop head's
    // bytes changed, so its block compiles again); loop.
    const a1 = A.addi(5, 5, 1);
    const a2 = A.addi(5, 5, 2);
    const code = [a1, A.sw(12, 14, 0), A.xor(12, 12, 13), A.FENCE_I, A.jal(0, -16)];
    const budget = 50_000;
    const { hart, mem } = bareHart(64, { jitThreshold: 1 });
    mem.code(RAM, code);
    hart.setX(12, BigInt(a2));
    hart.setX(13, BigInt(a1 ^ a2));
    hart.setX(14, BigInt(RAM));
    const e = hart.run(budget);
    expect(e.kind).toBe('budget');
    expect(e.charged).toBeGreaterThanOrEqual(budget);
    // Each pass retires 5 instructions and compiles one block: far fewer retire than the budget.
    const passes = Math.floor(e.retired / 5);
    expect(passes).toBeGreaterThan(1);
    expect(e.retired).toBeLessThan(budget / 100);
    expect(e.charged - e.retired).toBeGreaterThanOrEqual((passes - 1) * JIT_COMPILE_CHARGE);
    expect(hart.instret).toBe(e.retired);
  });

  it('FENCE.I over unchanged code keeps the compiled blocks: nothing is compiled again', () => {
    // x5 += 1; fence.i; loop: the blocks' bytes never change, so they are checked, not recompiled.
    const code = [A.addi(5, 5, 1), A.FENCE_I, A.jal(0, -8)];
    const budget = 50_000;
    const { hart, mem } = bareHart(64, { jitThreshold: 1 });
    mem.code(RAM, code);
    const e = hart.run(budget);
    expect(e.kind).toBe('budget');
    expect(hart.getX(5)).toBeGreaterThan(1000n);
    expect(e.charged - e.retired).toBe(hart.compiledBlocks * JIT_COMPILE_CHARGE);
    expect(hart.compiledBlocks).toBeLessThanOrEqual(2);
  });

  it('without compiles charged equals retired', () => {
    const { hart, mem } = bareHart(64, { jit: false });
    mem.code(RAM, [A.addi(5, 5, 1), A.FENCE_I, A.jal(0, -8)]);
    const e = hart.run(30_000);
    expect(e).toMatchObject({ kind: 'budget', retired: 30_000, charged: 30_000 });
  });
});
