// Feasibility of a WebAssembly block tier (issue 15's "cheap first compile"), measured
// beside today's JavaScript blocks. Not part of `pnpm bench`: run it alone with
//   pnpm exec tsx bench/wasm-tier-feasibility.ts
// Random straight-line blocks of 8 RV64 ALU instructions (addi/add/xor/sub on x1-x31):
// - as riscv-hart compiles them now, one `new Function` each over the int32-limb
//   register file, called from JavaScript;
// - as wasm: registers as i64 in linear memory, every block one function of a single
//   module, dispatched inside wasm by call_indirect (what block chaining would do).
// Printed: compile cost per block and time per guest instruction after R calls of each.
// Guest loads and stores, traps and CSRs are not modelled here.

type Op = ['addi' | 'add' | 'xor' | 'sub', number, number, number, number];

// The package's TypeScript libs leave WebAssembly out (it is in lib.dom); what this script uses of it.
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

const uleb = (v: number): number[] => {
  const o: number[] = [];
  let n = v;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    o.push(b);
  } while (n);
  return o;
};
const sleb = (v: number): number[] => {
  const o: number[] = [];
  let n = BigInt(v);
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      o.push(b);
      return o;
    }
    o.push(b | 0x80);
  }
};
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

const I32_CONST = 0x41;
const I64_CONST = 0x42;
const I64_LOAD = [0x29, 0x03, 0x00];
const I64_STORE = [0x37, 0x03, 0x00];
const I64_OP = { add: 0x7c, sub: 0x7d, xor: 0x85 } as const;

/** One block: x[rd] = x[rs1] op (x[rs2] | imm), registers at byte 8 * r. */
function wasmBody(ops: Op[]): number[] {
  const b: number[] = [];
  for (const [op, rd, r1, r2, imm] of ops) {
    b.push(I32_CONST, ...sleb(rd * 8), I32_CONST, ...sleb(r1 * 8), ...I64_LOAD);
    if (op === 'addi') b.push(I64_CONST, ...sleb(imm), I64_OP.add);
    else b.push(I32_CONST, ...sleb(r2 * 8), ...I64_LOAD, I64_OP[op]);
    b.push(...I64_STORE);
  }
  b.push(0x0b);
  return [...uleb(b.length + 1), 0x00, ...b];
}

/** A module of every block plus run(rounds): each round calls each block through the table. */
function wasmModule(blocks: Op[][]): Uint8Array {
  const n = blocks.length;
  // biome-ignore format: the loop nest reads best as written
  const run = [0x01, 0x02, 0x7f,
    0x02, 0x40, 0x03, 0x40,
    0x20, 0x01, 0x20, 0x00, 0x4e, 0x0d, 0x01,
    I32_CONST, 0x00, 0x21, 0x02,
    0x02, 0x40, 0x03, 0x40,
    0x20, 0x02, I32_CONST, ...sleb(n), 0x4e, 0x0d, 0x01,
    0x20, 0x02, 0x11, 0x00, 0x00,
    0x20, 0x02, I32_CONST, 0x01, 0x6a, 0x21, 0x02,
    0x0c, 0x00, 0x0b, 0x0b,
    0x20, 0x01, I32_CONST, 0x01, 0x6a, 0x21, 0x01,
    0x0c, 0x00, 0x0b, 0x0b, 0x0b];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(
      1,
      vector([
        [0x60, 0x00, 0x00],
        [0x60, 0x01, 0x7f, 0x00],
      ]),
    ),
    ...section(2, vector([[...name('js'), ...name('m'), 0x02, 0x00, 0x01]])),
    ...section(3, vector([...blocks.map(() => [0x00]), [0x01]])),
    ...section(4, vector([[0x70, 0x00, ...uleb(n)]])),
    ...section(7, vector([[...name('run'), 0x00, ...uleb(n)]])),
    ...section(9, vector([[0x00, I32_CONST, 0x00, 0x0b, ...uleb(n), ...blocks.flatMap((_, i) => uleb(i))]])),
    ...section(10, vector([...blocks.map(wasmBody), [...uleb(run.length), ...run]])),
  ]);
}

/** The same block as riscv-hart's compiler shapes it: int32 limbs, carries by unsigned compare. */
function jsBlock(ops: Op[]): (x: Int32Array) => void {
  let src = '';
  for (const [op, rd, r1, r2, imm] of ops) {
    const a = `const al=x[${r1 * 2}],ah=x[${r1 * 2 + 1}];`;
    const b = `const bl=x[${r2 * 2}],bh=x[${r2 * 2 + 1}];`;
    if (op === 'addi')
      src += `{${a}const l=(al+${imm})|0;x[${rd * 2 + 1}]=(ah+${imm >> 31}+(l>>>0<al>>>0?1:0))|0;x[${rd * 2}]=l;}`;
    else if (op === 'add')
      src += `{${a}${b}const l=(al+bl)|0;x[${rd * 2 + 1}]=(ah+bh+(l>>>0<al>>>0?1:0))|0;x[${rd * 2}]=l;}`;
    else if (op === 'xor') src += `{${a}${b}x[${rd * 2}]=al^bl;x[${rd * 2 + 1}]=ah^bh;}`;
    else src += `{${a}${b}x[${rd * 2}]=(al-bl)|0;x[${rd * 2 + 1}]=(ah-bh-(al>>>0<bl>>>0?1:0))|0;}`;
  }
  return new Function('x', src) as (x: Int32Array) => void;
}

function randomBlock(seed: number, n: number): Op[] {
  let s = seed;
  const r = (m: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % m;
  };
  const kinds = ['addi', 'add', 'xor', 'sub'] as const;
  return Array.from({ length: n }, (): Op => [kinds[r(4)]!, 1 + r(31), 1 + r(31), 1 + r(31), r(2048) - 1024]);
}

const memory = new WebAssembly.Memory({ initial: 1 });
const x = new Int32Array(64);
const perInstr = (ms: number, instrs: number) => ((ms / instrs) * 1e6).toFixed(2);
for (const count of [100, 1000, 4000]) {
  const blocks = Array.from({ length: count }, (_, i) => randomBlock(i + 1, 8));
  let t = performance.now();
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasmModule(blocks)), { js: { m: memory } });
  const run = inst.exports.run as (rounds: number) => void;
  const wasmCompile = performance.now() - t;
  t = performance.now();
  const fns = blocks.map(jsBlock);
  const jsCompile = performance.now() - t;
  console.log(
    `${count} blocks: compile wasm ${((wasmCompile / count) * 1000).toFixed(1)} us/block, new Function ${((jsCompile / count) * 1000).toFixed(1)} us/block (parsing is lazy: paid at the first call)`,
  );
  for (const rounds of [1, 10, 100, 1000]) {
    t = performance.now();
    run(rounds);
    const w = performance.now() - t;
    t = performance.now();
    for (let k = 0; k < rounds; k++) for (const f of fns) f(x);
    const j = performance.now() - t;
    const instrs = count * rounds * 8;
    console.log(
      `  each block called ${rounds}x more: wasm ${perInstr(w, instrs)} ns/instr, JavaScript ${perInstr(j, instrs)} ns/instr`,
    );
  }
}
