import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import {
  arenaOf,
  Hart,
  WASM_EARLY_BLOCKS,
  WASM_HOT,
  WASM_WARM_HOT,
  WasmArena,
  WasmTier,
} from '../src/index.ts';
import { WASM_PENDING } from '../src/jit-wasm.ts';
import { FakeMem } from './fake-mem.ts';
import { RAM } from './setup.ts';

// The WebAssembly block tier (jit-wasm.ts) with an arena given explicitly,
// whatever TSVIRT_HART_TIER says: the arena, sharing, the dispatcher's chains
// and the stops that hand an instruction back to the interpreter. The rest of
// the block tests run against this tier too in the riscv-hart-wasm project.

const DATA = RAM + 0x10_0000;

/** Guest memory in `arena` (or ordinary memory), and a hart with or without the arena. */
function arenaHart(
  arena: WasmArena | undefined,
  opts: { jit?: boolean; jitThreshold?: number | undefined; memOutside?: boolean } = {},
) {
  const pages = 512;
  const bytes = (opts.memOutside ? undefined : arena?.chunk(pages * 4096)) ?? new Uint8Array(pages * 4096);
  const mem = {
    frame: (pfn: number) => {
      const i = pfn - RAM / 4096;
      return i >= 0 && i < pages ? bytes.subarray(i * 4096, i * 4096 + 4096) : undefined;
    },
  };
  // jitThreshold 1 unless given; given as undefined: the hart's default.
  const threshold = 'jitThreshold' in opts ? opts.jitThreshold : 1;
  const hart = new Hart({
    mem,
    ...(arena ? { arena } : {}),
    ...(opts.jit === undefined ? {} : { jit: opts.jit }),
    ...(threshold === undefined ? {} : { jitThreshold: threshold }),
  });
  hart.pc = BigInt(RAM);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = (insns: number[]) => {
    for (const [k, w] of insns.entries()) dv.setUint32(k * 4, w >>> 0, true);
    hart.flushCodeCache();
  };
  const r64 = (pa: number) => dv.getBigUint64(pa - RAM, true);
  return { hart, bytes, code, r64 };
}

/** A loop over loads, stores, M and a call into a helper block, ending in ecall. */
function loopProgram(): number[] {
  return [
    ...A.li(31, BigInt(DATA)),
    ...A.li(30, 300n),
    // loop: (at RAM + 4 * li lengths)
    A.ld(5, 31, 0),
    A.addi(5, 5, 3),
    A.mul(6, 5, 5),
    A.mulhu(7, 6, 30),
    A.sd(6, 31, 8),
    A.sw(7, 31, 16),
    A.lbu(8, 31, 9),
    A.add(9, 9, 8),
    A.divu(10, 9, 30),
    A.sd(5, 31, 0),
    A.addi(30, 30, -1),
    A.bne(30, 0, -44),
    A.ECALL,
  ];
}

function run(arena: WasmArena | undefined, jit = true, memOutside = false) {
  const h = arenaHart(arena, { jit, memOutside });
  h.code(loopProgram());
  const exit = h.hart.run(1_000_000);
  return {
    kind: exit.kind,
    regs: Array.from({ length: 32 }, (_, i) => h.hart.getX(i)),
    data: [0, 8, 16].map((o) => h.r64(DATA + o)),
    instret: h.hart.instret,
    hart: h.hart,
  };
}

describe('the wasm block tier', () => {
  it('a hart given an arena keeps its registers there and runs its blocks in wasm, agreeing with the interpreter', () => {
    const arena = WasmArena.create(16 << 20)!;
    const w = run(arena);
    const interp = run(undefined, false);
    expect(w.hart.wasmTier).toBeDefined();
    expect(arenaOf(w.hart.x.buffer)).toBe(arena);
    expect(WasmTier.of(arena).installed).toBeGreaterThan(0);
    expect(w.kind).toBe('ecall');
    expect({ ...w, hart: 0 }).toEqual({ ...interp, hart: 0 });
  });

  it('harts of one arena share a block by its code; other code gets its own index', () => {
    const arena = WasmArena.create(16 << 20)!;
    const a = run(arena);
    const b = run(arena);
    const idx = (h: Hart) =>
      [...h.blocks.values()].flatMap((blk) => (blk && blk.wasm >= 0 ? [blk.wasm] : []));
    expect(idx(a.hart).length).toBeGreaterThan(0);
    expect(idx(b.hart)).toEqual(idx(a.hart));
    const c = arenaHart(arena);
    c.code([A.addi(5, 5, 7), A.ECALL]);
    expect(c.hart.run(100).kind).toBe('ecall');
    const other = idx(c.hart);
    expect(other.length).toBe(1);
    expect(idx(a.hart)).not.toContain(other[0]);
  });

  it('a load that misses the TLB stops the block: the interpreter runs it, fills the TLB, and the result is the same', () => {
    // The first pass of every block misses (a fresh TLB): under jitThreshold 1 each load is a stop first.
    const arena = WasmArena.create(16 << 20)!;
    const h = arenaHart(arena);
    h.code([...A.li(31, BigInt(DATA)), A.ld(5, 31, 0), A.addi(6, 5, 1), A.sd(6, 31, 8), A.ECALL]);
    new DataView(h.bytes.buffer, h.bytes.byteOffset).setBigUint64(DATA - RAM, 41n, true);
    expect(h.hart.run(100).kind).toBe('ecall');
    expect(h.hart.getX(6)).toBe(42n);
    expect(h.r64(DATA + 8)).toBe(42n);
  });

  it('a misaligned load inside a compiled block is done by the interpreter, bytewise, as without blocks', () => {
    const arena = WasmArena.create(16 << 20)!;
    const out = [arena, undefined].map((ar) => {
      const h = arenaHart(ar, { jit: ar !== undefined });
      h.code([
        ...A.li(31, BigInt(DATA + 3)),
        ...A.li(30, 50n),
        A.ld(5, 31, 0),
        A.add(6, 6, 5),
        A.addi(30, 30, -1),
        A.bne(30, 0, -12),
        A.ECALL,
      ]);
      const dv = new DataView(h.bytes.buffer, h.bytes.byteOffset);
      for (let k = 0; k < 16; k++) dv.setUint8(DATA - RAM + k, 0x11 * k);
      expect(h.hart.run(10_000).kind).toBe('ecall');
      return [h.hart.getX(6), h.hart.instret];
    });
    expect(out[0]).toEqual(out[1]);
  });

  it('the default threshold is WASM_HOT until a hart knows WASM_EARLY_BLOCKS heads, then WASM_WARM_HOT; a given one stays', () => {
    // 600 heads (each addi after an always-taken beq), passed WASM_HOT + 1 times.
    const heads = 600;
    const body: number[] = [];
    for (let k = 0; k < heads; k++) body.push(A.addi(5, 5, 1), A.beq(0, 0, 4));
    const code = [
      ...A.li(30, BigInt(WASM_HOT + 1)),
      ...body,
      A.addi(30, 30, -1),
      // Back with jal: the loop is longer than a branch reaches.
      A.beq(30, 0, 8),
      A.jal(0, -4 * (body.length + 2)),
      A.ECALL,
    ];
    const arena = WasmArena.create(16 << 20)!;
    const byDefault = arenaHart(arena, { jitThreshold: undefined });
    const given = arenaHart(arena, { jitThreshold: 1024 });
    for (const h of [byDefault, given]) {
      h.code(code);
      expect(h.hart.jitThreshold).toBe(WASM_HOT);
      expect(h.hart.run(10_000_000).kind).toBe('ecall');
      expect(h.hart.getX(5)).toBe(BigInt(heads * (WASM_HOT + 1)));
    }
    expect(byDefault.hart.blocks.size).toBeGreaterThanOrEqual(WASM_EARLY_BLOCKS);
    expect(byDefault.hart.jitThreshold).toBe(WASM_WARM_HOT);
    expect(given.hart.jitThreshold).toBe(1024);
  });

  it('guest memory outside the arena (past its size): every load and store is handed to the interpreter, with the same results', () => {
    const arena = WasmArena.create(16 << 20)!;
    const outside = run(arena, true, true);
    const interp = run(undefined, false);
    expect(outside.hart.wasmTier).toBeDefined();
    expect(outside.hart.compiledBlocks).toBeGreaterThan(0);
    expect({ ...outside, hart: 0 }).toEqual({ ...interp, hart: 0 });
  });

  it('a guest writing new code without end does not grow the table past its bound: the tier starts over, the results stay right', () => {
    // Each pass writes `addi x5, x5, pass` at L, FENCE.Is and calls it: a new block (new bytes) per pass.
    const passes = 400;
    const L = RAM + 0x2000;
    const code = [
      ...A.li(31, BigInt(L)),
      ...A.li(30, BigInt(passes)),
      ...A.li(29, 0x0002_8293n), // addi x5, x5, 0
      A.slli(28, 30, 20),
      A.or(28, 28, 29),
      A.sw(28, 31, 0),
      A.FENCE_I,
      A.jalr(1, 31, 0),
      A.addi(30, 30, -1),
      A.bne(30, 0, -24),
      A.ECALL,
    ];
    const arena = WasmArena.create(16 << 20)!;
    const tier = WasmTier.of(arena);
    // Above one batch (64 blocks), below what the passes compile.
    tier.tableMax = 128;
    const h = arenaHart(arena);
    h.code(code);
    new DataView(h.bytes.buffer, h.bytes.byteOffset).setUint32(L - RAM + 4, A.jalr(0, 1, 0), true);
    expect(h.hart.run(1_000_000).kind).toBe('ecall');
    expect(h.hart.getX(5)).toBe(BigInt((passes * (passes + 1)) / 2));
    expect(tier.restarts).toBeGreaterThan(0);
    expect(tier.installed).toBeLessThanOrEqual(128);
  });

  it('a module the engine refuses leaves its blocks interpreted: the guest still runs, and the tier counts it', () => {
    const wa = (globalThis as unknown as { WebAssembly: { Module: unknown } }).WebAssembly;
    const arena = WasmArena.create(16 << 20)!;
    const h = arenaHart(arena);
    const Module = wa.Module;
    wa.Module = () => {
      throw new RangeError('out of memory');
    };
    try {
      h.code(loopProgram());
      expect(h.hart.run(1_000_000).kind).toBe('ecall');
    } finally {
      wa.Module = Module;
    }
    expect(WasmTier.of(arena).failures).toBeGreaterThan(0);
    expect(WasmTier.of(arena).installed).toBe(0);
    expect(h.hart.getX(30)).toBe(0n);
    expect({ ...run(undefined, false), hart: 0 }.regs).toEqual(
      Array.from({ length: 32 }, (_, i) => h.hart.getX(i)),
    );
  });

  it('with the default threshold a few blocks wait for company (16, or 8 runs) before their module; a chosen threshold submits every run', () => {
    const arena = WasmArena.create(16 << 20)!;
    const states = (h: Hart) => [...h.blocks.values()].flatMap((b) => (b ? [b.wasm] : []));
    const lazy = arenaHart(arena, { jitThreshold: undefined });
    const eager = arenaHart(arena, { jitThreshold: WASM_HOT });
    for (const h of [lazy, eager]) {
      // One head (a two-instruction loop), hot after WASM_HOT passes: 2 * WASM_HOT + 100 instructions in the first run.
      h.code([...A.li(30, 1_000_000n), A.addi(30, 30, -1), A.bne(30, 0, -4), A.ECALL]);
      h.hart.run(2 * WASM_HOT + 100);
    }
    expect(states(lazy.hart)).toEqual([WASM_PENDING]);
    expect(states(eager.hart)[0]).toBeGreaterThanOrEqual(0);
    // The first run was the first of the 8 it may wait.
    for (let k = 0; k < 6; k++) lazy.hart.run(100);
    expect(states(lazy.hart)).toEqual([WASM_PENDING]);
    lazy.hart.run(100);
    expect(states(lazy.hart)[0]).toBeGreaterThanOrEqual(0);
  });

  it('without room in the arena the hart keeps JavaScript blocks', () => {
    const arena = WasmArena.create(65536)!;
    expect(arena.alloc(65536 - 128)).toBeDefined();
    const full = new Hart({ mem: { frame: () => undefined }, arena });
    expect(full.wasmTier).toBeUndefined();
    // Its registers are its own, not in the arena.
    expect(arenaOf(full.x.buffer)).toBeUndefined();
  });

  it('an arena refuses what does not fit and never hands out address 0', () => {
    const arena = WasmArena.create(1 << 20)!;
    const first = arena.alloc(8)!;
    expect(first).toBeGreaterThan(0);
    expect(arena.alloc(2 << 20)).toBeUndefined();
    expect(arena.chunk(2 << 20)).toBeUndefined();
    const c = arena.chunk(4096)!;
    expect(c.byteOffset % 4096).toBe(0);
    expect(arenaOf(c.buffer)).toBe(arena);
    expect(arenaOf(new ArrayBuffer(8))).toBeUndefined();
  });
});

describe('the wasm tier with FakeMem', () => {
  it('FakeMem puts its frames in an arena only under TSVIRT_HART_TIER=wasm', () => {
    const m = new FakeMem(RAM / 4096, 4);
    expect(m.arena === undefined).toBe(process.env.TSVIRT_HART_TIER !== 'wasm');
  });
});
