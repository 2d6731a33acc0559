import { runSuite } from '@tsvirt/bench-harness';
import {
  add,
  addi,
  and,
  andi,
  bne,
  div,
  lbu,
  ld,
  li,
  lwu,
  mulh,
  mulhu,
  sd,
  slli,
  srli,
  xor,
} from '@tsvirt/test-utils/riscv-asm';
import { type Hart, WasmArena } from '../src/index.ts';
import { bareHart, RAM } from '../test/setup.ts';
import { twoStageHart, VA } from '../test/two-stage.ts';

const PER_ITER = 2_000_000;

// The hot integer loop: 4 instructions, a counter that never reaches zero.
const hotLoop = [...li(1, 1n << 40n), addi(1, 1, -1), add(2, 2, 1), xor(3, 3, 2), bne(1, 0, -12)];
// Memory-heavy: load, add, store over a 64 KiB array (16 pages), 7 instructions.
const memLoop = [
  ...li(7, 0xfff8n),
  addi(8, 8, 8),
  and(8, 8, 7),
  add(6, 9, 8),
  ld(5, 6, 0),
  addi(5, 5, 1),
  sd(5, 6, 0),
  bne(7, 0, -24),
];
const mulLoop = [
  ...li(5, 0x1234_5678_9abc_def1n),
  ...li(6, 0x0fed_cba9_8765_4321n),
  mulh(7, 5, 6),
  mulhu(8, 5, 6),
  add(5, 5, 7),
  bne(6, 0, -12),
];
const divLoop = [...li(5, 0x7_1234_5678n), ...li(6, 12345n), div(7, 5, 6), addi(5, 5, 3), bne(6, 0, -8)];
// Table-driven CRC-32, one byte per iteration (U-Boot's crc32 inner loop):
// x9 the buffer (wrapping at 64 KiB), x10 the 1 KiB table just past it, x5 the crc.
const crcLoop = [
  ...li(7, 0xffffn),
  lbu(11, 6, 0),
  xor(11, 11, 5),
  andi(11, 11, 0xff),
  slli(11, 11, 2),
  add(11, 11, 10),
  lwu(11, 11, 0),
  srli(5, 5, 8),
  xor(5, 5, 11),
  addi(8, 8, 1),
  and(8, 8, 7),
  add(6, 9, 8),
  bne(7, 0, -44),
];

/** How a case runs: the interpreter, JavaScript blocks, or wasm blocks (memory in a wasm arena). */
type Tier = 'interp' | 'js' | 'wasm';
const arenaFor = (tier: Tier) => (tier === 'wasm' ? WasmArena.create(64 << 20) : undefined);

function bare(code: number[], tier: Tier): Hart {
  const { hart, mem } = bareHart(2048, { jit: tier !== 'interp' }, arenaFor(tier));
  mem.code(RAM, code);
  hart.setX(9, BigInt(RAM + 0x10_0000));
  hart.setX(6, BigInt(RAM + 0x10_0000));
  hart.setX(10, BigInt(RAM + 0x11_0000));
  return hart;
}

function twoStage(code: number[], tier: Tier): Hart {
  const arena = arenaFor(tier);
  const { hart, mem, host } = twoStageHart({
    hart: { jit: tier !== 'interp' },
    ...(arena ? { arena } : { arena: undefined }),
  });
  mem.code(host(VA), code);
  hart.setX(9, BigInt.asUintN(64, BigInt(VA + 0x10_0000)));
  return hart;
}

function runCase(name: string, make: () => Hart, perIter: number, baseline?: string) {
  let hart: Hart;
  return {
    name,
    setup: () => {
      hart = make();
    },
    fn: () => {
      const e = hart.run(perIter);
      if (e.kind !== 'budget') throw new Error(`${name}: unexpected exit ${e.kind}`);
    },
    work: { count: perIter, unit: 'instr' },
    ...(baseline ? { baseline } : {}),
  };
}

// Each workload three times: the interpreter alone (`jit: false`), then with
// JavaScript blocks and with wasm blocks (the hart given a wasm arena holding
// its memory), whose ratios are against the interpreter in the same run.
const workloads: [string, (tier: Tier) => Hart][] = [
  ['hot loop, bare translation', (j) => bare(hotLoop, j)],
  ['hot loop, Sv39 over Sv39x4', (j) => twoStage(hotLoop, j)],
  ['load/add/store loop, bare', (j) => bare(memLoop, j)],
  ['load/add/store loop, Sv39 over Sv39x4', (j) => twoStage(memLoop, j)],
  ['crc32 byte loop (lbu/lwu table), bare', (j) => bare(crcLoop, j)],
  ['mulh+mulhu loop (64-bit operands)', (j) => bare(mulLoop, j)],
  ['div loop (35-bit dividend)', (j) => bare(divLoop, j)],
];
const cases: [string, () => Hart, string?][] = workloads.flatMap(
  ([name, make]): [string, () => Hart, string?][] => [
    [`${name}: interpreter`, () => make('interp')],
    [`${name}: JavaScript blocks`, () => make('js'), `${name}: interpreter`],
    [`${name}: wasm blocks`, () => make('wasm'), `${name}: interpreter`],
  ],
);

await runSuite(
  'riscv-hart: MIPS (VS-mode), interpreter vs JavaScript and wasm blocks',
  cases.map(([name, make, base]) => runCase(name, make, PER_ITER, base)),
);

// 64-bit add/xor on BigInt64Array elements against (lo, hi) int32 limbs. In
// this isolated loop V8 lowers the BigInt ops to 64-bit machine ops and they
// win; inside the interpreter's dispatch switch they did not (hot loop: 35-51
// MIPS with BigInt ALU ops vs about 70 with limbs, measured in CPU time), so
// exec() computes on the Int32Array view. This table keeps the comparison honest.
const REG_OPS = 1_000_000;
const big = new BigInt64Array(32);
const limbs = new Int32Array(big.buffer);
await runSuite('riscv-hart: register file representation (x2 = x2 + x1; x3 ^= x2)', [
  {
    name: 'BigInt64Array arithmetic',
    fn: () => {
      big[1] = 0x1_0000_0001n;
      for (let i = 0; i < REG_OPS; i++) {
        big[2] = big[2]! + big[1]!;
        big[3] = big[3]! ^ big[2]!;
      }
    },
    work: { count: REG_OPS, unit: 'op pairs' },
  },
  {
    name: 'Int32Array limbs',
    fn: () => {
      limbs[2] = 1;
      limbs[3] = 1;
      for (let i = 0; i < REG_OPS; i++) {
        const alo = limbs[4]!;
        const lo = (alo + limbs[2]!) | 0;
        limbs[5] = (limbs[5]! + limbs[3]! + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
        limbs[4] = lo;
        limbs[6] = limbs[6]! ^ lo;
        limbs[7] = limbs[7]! ^ limbs[5]!;
      }
    },
    work: { count: REG_OPS, unit: 'op pairs' },
    baseline: 'BigInt64Array arithmetic',
  },
]);

// The machine is shared: wall-clock rates swing with other load. Instructions
// per second of this process's own CPU time are steadier; print those too.
const quick = process.env.BENCH_QUICK === '1';
const lines = ['', '## riscv-hart: MIPS per CPU-second (process CPU time, steadier on a shared machine)'];
for (const [name, make] of cases) {
  const hart = make();
  hart.run(PER_ITER); // warm up
  const t0 = process.cpuUsage();
  let n = 0;
  const rounds = quick ? 1 : 10;
  for (let r = 0; r < rounds; r++) n += hart.run(PER_ITER).retired;
  const d = process.cpuUsage(t0);
  const sec = (d.user + d.system) / 1e6;
  lines.push(`| ${name.padEnd(56)} | ${(n / sec / 1e6).toFixed(1).padStart(6)} MIPS |`);
}
console.log(lines.join('\n'));

// The F/D extension's own table (bench/fpu.ts), so one bench run covers it.
await import('./fpu.ts');
