import { runSuite } from '@tsvirt/bench-harness';
import { createFpuState, executeFp } from '../src/fpu/index.ts';

// FPU cost per instruction through executeFp (decode included): the common
// RNE fast paths, directed rounding (one-ulp step), and the fused
// multiply-add, whose double-precision form usually needs the exact BigInt
// path. Each iteration executes 10,000 instructions on fixed operands
// (f1 = pi, f2 = e, f3 = -pi*e, singles boxed in f4..f6).
const PER_ITER = 10_000;

const r = (f7: number, rs2: number, rs1: number, rm: number, rd: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x53) >>> 0;
const r4 = (op: number, fmt: number, rs3: number, rs2: number, rs1: number, rm: number, rd: number) =>
  ((rs3 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | op) >>> 0;

function makeState() {
  const fpu = createFpuState();
  const d = new Float64Array([Math.PI, Math.E, -Math.PI * Math.E]);
  const w = new Uint32Array(d.buffer);
  for (let i = 0; i < 3; i++) {
    fpu.f[2 * (i + 1)] = w[2 * i]!;
    fpu.f[2 * (i + 1) + 1] = w[2 * i + 1]!;
    const s = new Uint32Array(new Float32Array([d[i]!]).buffer);
    fpu.f[2 * (i + 4)] = s[0]!;
    fpu.f[2 * (i + 4) + 1] = 0xffffffff;
  }
  fpu.x[1] = 123456789n;
  return fpu;
}

function makeCase(name: string, insn: number, baseline?: string) {
  const fpu = makeState();
  return {
    name,
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) executeFp(fpu, insn);
    },
    work: { count: PER_ITER, unit: 'instr' },
    baseline,
  };
}

const BASE = 'fsgnj.d (bits only)';
await runSuite('riscv-hart: F/D instructions through executeFp', [
  makeCase(BASE, r(0x11, 2, 1, 0, 10)),
  makeCase('fadd.d rne', r(0x01, 2, 1, 0, 10), BASE),
  makeCase('fadd.d rtz (directed step)', r(0x01, 2, 1, 1, 10), BASE),
  makeCase('fmul.d rne', r(0x09, 2, 1, 0, 10), BASE),
  makeCase('fdiv.d rne', r(0x0d, 2, 1, 0, 10), BASE),
  makeCase('fsqrt.d rne', r(0x2d, 0, 1, 0, 10), BASE),
  makeCase('fadd.s rne', r(0x00, 5, 4, 0, 10), BASE),
  makeCase('fmul.s rup', r(0x08, 5, 4, 3, 10), BASE),
  makeCase('fmadd.s rne', r4(0x43, 0, 6, 5, 4, 0, 10), BASE),
  makeCase('fmadd.d rne (inexact product)', r4(0x43, 1, 3, 2, 1, 0, 10), BASE),
  makeCase('fcvt.w.d rtz', r(0x61, 0, 1, 1, 10), BASE),
  makeCase('fcvt.d.l', r(0x69, 2, 1, 0, 10), BASE),
  makeCase('feq.d', r(0x51, 2, 1, 2, 10), BASE),
]);
