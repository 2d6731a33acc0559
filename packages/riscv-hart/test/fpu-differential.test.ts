// Differential check of the fast paths (host RNE arithmetic + error-free
// transforms + one-ulp steps) against the exact BigInt softfloat, itself
// checked bit for bit against QEMU in fpu-vectors.test.ts. Inputs are
// seeded random values steered towards ties, cancellation and the edges.
import { describe, expect, it } from 'vitest';
import { createFpuState, executeFp, type FpuState } from '../src/fpu/index.ts';
import {
  F32,
  F64,
  type FloatFormat,
  sfAdd,
  sfConvert,
  sfDiv,
  sfFma,
  sfFromInt,
  sfMul,
  sfSqrt,
  sfState,
  sfToInt,
} from '../src/fpu/softfloat.ts';

/** A small seeded generator (xorshift32) so failures reproduce. */
function makeRng(seed: number) {
  let s = seed >>> 0 || 1;
  const u32 = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return { u32, int: (n: number) => u32() % n, chance: (p: number) => u32() / 2 ** 32 < p };
}
type Rng = ReturnType<typeof makeRng>;

const f64 = new Float64Array(1);
const w64 = new BigUint64Array(f64.buffer);
const f32 = new Float32Array(1);
const w32 = new Uint32Array(f32.buffer);

function bitsOf(fmt: FloatFormat, v: number): bigint {
  if (fmt === F32) {
    f32[0] = v;
    return BigInt(w32[0]);
  }
  f64[0] = v;
  return w64[0];
}

function numberOf(fmt: FloatFormat, b: bigint): number {
  if (fmt === F32) {
    w32[0] = Number(b);
    return f32[0];
  }
  w64[0] = b;
  return f64[0];
}

/** Random bits of fmt with an exponent near `near` (biased) when given. */
function randFloat(rng: Rng, fmt: FloatFormat, near?: number): bigint {
  const fracBits = fmt.p - 1;
  const expMax = Number(fmt.expMax);
  let e: number;
  const pick = rng.int(100);
  if (near !== undefined && pick < 50) e = near + rng.int(2 * fmt.p + 6) - (fmt.p + 3);
  else if (pick < 75) e = fmt.bias + rng.int(60) - 20;
  else if (pick < 85) e = rng.int(fmt.p + 3);
  else if (pick < 90) e = expMax - 1 - rng.int(4);
  else e = rng.int(expMax + 1);
  e = Math.max(0, Math.min(expMax, e));
  let frac = (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
  if (rng.chance(0.35)) frac &= ~((1n << BigInt(fracBits - rng.int(12) - 1)) - 1n) | 0n; // short significands: ties
  frac &= fmt.fracMask;
  if (frac === 0n && e === expMax && rng.chance(0.5)) frac = 1n;
  return (BigInt(rng.int(2)) << fmt.signShift) | (BigInt(e) << BigInt(fracBits)) | frac;
}

function setReg(fpu: FpuState, r: number, fmt: FloatFormat, v: bigint): void {
  if (fmt === F32) {
    fpu.f[2 * r] = Number(v);
    fpu.f[2 * r + 1] = 0xffffffff;
  } else {
    fpu.f[2 * r] = Number(v & 0xffffffffn);
    fpu.f[2 * r + 1] = Number(v >> 32n);
  }
}

function getReg(fpu: FpuState, r: number, fmt: FloatFormat): bigint {
  if (fmt === F32) {
    expect(fpu.f[2 * r + 1]).toBe(0xffffffff);
    return BigInt(fpu.f[2 * r]);
  }
  return (BigInt(fpu.f[2 * r + 1]) << 32n) | BigInt(fpu.f[2 * r]);
}

const rType = (f7: number, rs2: number, rs1: number, rm: number, rd: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x53) >>> 0;
const r4Type = (op: number, fmt: number, rm: number) =>
  ((3 << 27) | (fmt << 25) | (2 << 20) | (1 << 15) | (rm << 12) | (4 << 7) | op) >>> 0;

type Case = { insn: number; ops: bigint[]; expect: bigint; flags: number };

function reference(run: () => bigint): { value: bigint; flags: number } {
  sfState.flags = 0;
  const value = run();
  return { value, flags: sfState.flags };
}

let checks = 0;

function check(
  fmt: FloatFormat,
  c: Case,
  dest: FloatFormat | 'x',
  srcFmt: FloatFormat | 'x' = fmt,
): string | null {
  const fpu = createFpuState();
  // Every other case starts with NX already accrued, which lets RNE skip the error-free transforms.
  const preset = checks++ & 1 ? 1 : 0;
  fpu.fflags = preset;
  c.ops.forEach((v, i) => {
    if (srcFmt === 'x') fpu.x[i + 1] = BigInt.asIntN(64, v);
    else setReg(fpu, i + 1, srcFmt, v);
  });
  if (!executeFp(fpu, c.insn)) return `insn ${c.insn.toString(16)} rejected`;
  const got = dest === 'x' ? BigInt.asUintN(64, fpu.x[4]) : getReg(fpu, 4, dest);
  if (got !== c.expect || fpu.fflags !== (c.flags | preset)) {
    return `insn ${c.insn.toString(16)} ops ${c.ops.map((o) => o.toString(16)).join(',')}: got ${got.toString(16)}/${fpu.fflags} want ${c.expect.toString(16)}/${c.flags}`;
  }
  return null;
}

// FPU_DIFF_N=50000 makes a deeper run.
const N = Number(process.env.FPU_DIFF_N ?? 2500);

describe.each([
  ['S', F32, 0],
  ['D', F64, 1],
] as const)('fast paths agree with the exact softfloat (%s)', (_name, fmt, fmtBits) => {
  const rng = makeRng(fmtBits === 0 ? 12345 : 67890);

  it.each([
    ['fadd', 0x00],
    ['fsub', 0x04],
    ['fmul', 0x08],
    ['fdiv', 0x0c],
  ] as const)('%s in all rounding modes', (op, f7) => {
    const failures: string[] = [];
    for (let i = 0; i < N; i++) {
      const a = randFloat(rng, fmt);
      const b = randFloat(rng, fmt, Number((a >> BigInt(fmt.p - 1)) & fmt.expMax));
      const rm = rng.int(5);
      const ref = reference(() =>
        op === 'fadd'
          ? sfAdd(fmt, a, b, rm, false)
          : op === 'fsub'
            ? sfAdd(fmt, a, b, rm, true)
            : op === 'fmul'
              ? sfMul(fmt, a, b, rm)
              : sfDiv(fmt, a, b, rm),
      );
      const r = check(
        fmt,
        { insn: rType(f7 | fmtBits, 2, 1, rm, 4), ops: [a, b], expect: ref.value, flags: ref.flags },
        fmt,
      );
      if (r) failures.push(r);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('fsqrt in all rounding modes', () => {
    const failures: string[] = [];
    for (let i = 0; i < N; i++) {
      const a = randFloat(rng, fmt) & ~(1n << fmt.signShift);
      const rm = rng.int(5);
      const ref = reference(() => sfSqrt(fmt, a, rm));
      const r = check(
        fmt,
        { insn: rType(0x2c | fmtBits, 0, 1, rm, 4), ops: [a], expect: ref.value, flags: ref.flags },
        fmt,
      );
      if (r) failures.push(r);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it.each([
    ['fmadd', 0x43, false, false],
    ['fmsub', 0x47, false, true],
    ['fnmsub', 0x4b, true, false],
    ['fnmadd', 0x4f, true, true],
  ] as const)('%s in all rounding modes, with cancelling addends', (_op, opcode, negProd, negAdd) => {
    const failures: string[] = [];
    for (let i = 0; i < N; i++) {
      const a = randFloat(rng, fmt);
      const b = randFloat(rng, fmt, fmt.bias + rng.int(40) - 20);
      let c = randFloat(rng, fmt, Number((a >> BigInt(fmt.p - 1)) & fmt.expMax));
      if (rng.chance(0.5)) {
        const p = numberOf(fmt, a) * numberOf(fmt, b);
        if (Number.isFinite(p)) c = bitsOf(fmt, rng.chance(0.5) ? p : -p) ^ BigInt(rng.int(4));
      }
      if (rng.chance(0.05)) c = BigInt(rng.int(2)) << fmt.signShift;
      const rm = rng.int(5);
      const ref = reference(() => sfFma(fmt, a, b, c, rm, negProd, negAdd));
      const r = check(
        fmt,
        { insn: r4Type(opcode, fmtBits, rm), ops: [a, b, c], expect: ref.value, flags: ref.flags },
        fmt,
      );
      if (r) failures.push(r);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('fcvt to W/WU/L/LU in all rounding modes', () => {
    const failures: string[] = [];
    for (let i = 0; i < N; i++) {
      const kind = rng.int(4);
      const a = rng.chance(0.5)
        ? bitsOf(fmt, (rng.int(2) ? -1 : 1) * (rng.u32() / 2 ** rng.int(32)) * 2 ** (rng.int(4) * 16))
        : randFloat(rng, fmt);
      const rm = rng.int(5);
      const width = kind < 2 ? 32 : 64;
      const ref = reference(() => sfToInt(fmt, a, rm, width, kind % 2 === 0));
      const want =
        width === 32 ? BigInt.asUintN(64, BigInt.asIntN(32, ref.value)) : BigInt.asUintN(64, ref.value);
      const r = check(
        fmt,
        { insn: rType(0x60 | fmtBits, kind, 1, rm, 4), ops: [a], expect: want, flags: ref.flags },
        'x',
      );
      if (r) failures.push(r);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('fcvt from W/WU/L/LU in all rounding modes', () => {
    const failures: string[] = [];
    for (let i = 0; i < N; i++) {
      const kind = rng.int(4);
      const width = [8, 24, 25, 31, 32, 53, 54, 60, 63, 64][rng.int(10)];
      let x = ((BigInt(rng.u32()) << 32n) | BigInt(rng.u32())) & ((1n << BigInt(width)) - 1n);
      if (rng.chance(0.3)) x |= 1n << BigInt(width - 1);
      if (rng.chance(0.5)) x = BigInt.asUintN(64, -x);
      const v =
        kind === 0
          ? BigInt.asIntN(32, x)
          : kind === 1
            ? BigInt.asUintN(32, x)
            : kind === 2
              ? BigInt.asIntN(64, x)
              : x;
      const rm = rng.int(5);
      const ref = reference(() => sfFromInt(fmt, v, rm));
      const r = check(
        fmt,
        { insn: rType(0x68 | fmtBits, kind, 1, rm, 4), ops: [x], expect: ref.value, flags: ref.flags },
        fmt,
        'x',
      );
      if (r) failures.push(r);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('fcvt between S and D in all rounding modes', () => {
    const failures: string[] = [];
    const src = fmt === F32 ? F64 : F32;
    for (let i = 0; i < N; i++) {
      const a = randFloat(rng, src, src === F64 ? 1023 - 126 + rng.int(260) - 8 : undefined);
      const rm = rng.int(5);
      const ref = reference(() => sfConvert(src, fmt, a, rm));
      const insn = fmt === F32 ? rType(0x20, 1, 1, rm, 4) : rType(0x21, 0, 1, rm, 4);
      const r = check(fmt, { insn, ops: [a], expect: ref.value, flags: ref.flags }, fmt, src);
      if (r) failures.push(r);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});
