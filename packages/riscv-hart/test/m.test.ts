import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { div64, mul64, mulh64, mulhsu64, mulhu64 } from '../src/index.ts';
import type { FakeMem } from './fake-mem.ts';
import { bareHart, runCode, s64, u64 } from './setup.ts';

const MIN = -(2n ** 63n);
const edge = [
  0n,
  1n,
  -1n,
  2n,
  -2n,
  3n,
  7n,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_ffffn,
  0x1_0000_0000n,
  -0x8000_0000n,
  0x7fff_ffff_ffff_ffffn,
  MIN,
  0x1234_5678_9abc_def0n,
  -0x1234_5678_9abc_def0n,
  0x10_0000_0000_0000n,
  0xf_ffff_ffff_ffffn,
];
let seed = 7;
const rnd = () => {
  let v = 0n;
  for (let k = 0; k < 4; k++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    v = (v << 16n) | BigInt(seed >>> 16);
  }
  return s64(v);
};
const values = [...edge, ...Array.from({ length: 14 }, rnd)];

const ref: Record<string, (a: bigint, b: bigint) => bigint> = {
  mul: (a, b) => s64(a * b),
  mulh: (a, b) => s64((a * b) >> 64n),
  mulhu: (a, b) => s64((u64(a) * u64(b)) >> 64n),
  mulhsu: (a, b) => s64((a * u64(b)) >> 64n),
  div: (a, b) => (b === 0n ? -1n : a === MIN && b === -1n ? MIN : a / b),
  divu: (a, b) => (b === 0n ? -1n : s64(u64(a) / u64(b))),
  rem: (a, b) => (b === 0n ? a : a === MIN && b === -1n ? 0n : a % b),
  remu: (a, b) => (b === 0n ? a : s64(u64(a) % u64(b))),
  mulw: (a, b) => BigInt.asIntN(32, a * b),
  divw: (a, b) => {
    const x = BigInt.asIntN(32, a);
    const y = BigInt.asIntN(32, b);
    return y === 0n ? -1n : x === -(2n ** 31n) && y === -1n ? x : x / y;
  },
  divuw: (a, b) => {
    const x = BigInt.asUintN(32, a);
    const y = BigInt.asUintN(32, b);
    return y === 0n ? -1n : BigInt.asIntN(32, x / y);
  },
  remw: (a, b) => {
    const x = BigInt.asIntN(32, a);
    const y = BigInt.asIntN(32, b);
    return y === 0n ? x : x === -(2n ** 31n) && y === -1n ? 0n : x % y;
  },
  remuw: (a, b) => {
    const x = BigInt.asUintN(32, a);
    const y = BigInt.asUintN(32, b);
    return y === 0n ? BigInt.asIntN(32, x) : BigInt.asIntN(32, x % y);
  },
};

describe('M extension against a BigInt reference', () => {
  for (const name of Object.keys(ref)) {
    it(`${name} over edge and random operands`, () => {
      const enc = (A as unknown as Record<string, (d: number, a: number, b: number) => number>)[name]!;
      // One hart for all pairs: the instruction and an ecall sit at RAM + 0x1000.
      const { hart, mem } = runCode([]);
      for (const a of values)
        for (const b of values) {
          hart.setX(1, a);
          hart.setX(2, b);
          hart.pc = 0x8000_1000n;
          const e = runOne(hart, mem, enc(3, 1, 2));
          expect(e).toBe('ecall');
          expect(hart.getX(3), `${name}(${a}, ${b})`).toBe(ref[name]!(a, b));
        }
    });
  }
  it('the limb helpers agree with BigInt on wide operands', () => {
    const out = new Int32Array(2);
    for (const a of values)
      for (const b of values) {
        mulhu64(
          Number(BigInt.asIntN(32, a)),
          Number(a >> 32n),
          Number(BigInt.asIntN(32, b)),
          Number(b >> 32n),
          out,
        );
        const got = (BigInt(out[1]!) << 32n) | BigInt(out[0]! >>> 0);
        expect(got).toBe(ref.mulhu!(a, b));
        div64(
          Number(BigInt.asIntN(32, a)),
          Number(a >> 32n),
          Number(BigInt.asIntN(32, b)),
          Number(b >> 32n),
          true,
          false,
          out,
        );
        expect((BigInt(out[1]!) << 32n) | BigInt(out[0]! >>> 0)).toBe(ref.div!(a, b));
      }
  });
});

function runOne(hart: ReturnType<typeof runCode>['hart'], mem: FakeMem, insn: number): string {
  mem.code(0x8000_1000, [insn, A.ECALL]);
  return hart.run(10).kind;
}

// Operands of every width, so both of div64's paths (doubles below 2^52, 32-bit
// halves above) and both of udivmod64's (divisor below 2^32 or not) are hit,
// with the boundaries around 2^32, 2^52, 2^53 and 2^63 on both signs.
const bounds = [32n, 52n, 53n, 63n].flatMap((k) =>
  [-1n, 0n, 1n].flatMap((d) => [2n ** k + d, -(2n ** k) + d, 2n ** k - 2n ** (k - 20n) + d]),
);
const wideValues = [
  ...values,
  ...bounds.map(s64),
  ...Array.from({ length: 40 }, (_, k) => s64(rnd() >> BigInt(k % 63))),
];
const lohi = (v: bigint): [number, number] => [Number(BigInt.asIntN(32, v)), Number(v >> 32n)];

describe('64-bit multiply and divide on 32-bit limbs, exact for every operand', () => {
  it('div64 (DIV, DIVU, REM, REMU) and the MUL/MULH* helpers agree with BigInt over edge, boundary and random widths', () => {
    const out = new Int32Array(2);
    const got = () => s64((BigInt(out[1]!) << 32n) | BigInt(out[0]! >>> 0));
    const divs = [
      ['div', true, false],
      ['divu', false, false],
      ['rem', true, true],
      ['remu', false, true],
    ] as const;
    const muls = [
      ['mul', mul64],
      ['mulh', mulh64],
      ['mulhu', mulhu64],
      ['mulhsu', mulhsu64],
    ] as const;
    for (const a of wideValues)
      for (const b of wideValues) {
        const [al, ah] = lohi(a);
        const [bl, bh] = lohi(b);
        for (const [name, signed, rem] of divs) {
          div64(al, ah, bl, bh, signed, rem, out);
          expect(got(), `${name}(${a}, ${b})`).toBe(ref[name]!(a, b));
        }
        for (const [name, fn] of muls) {
          fn(al, ah, bl, bh, out);
          expect(got(), `${name}(${a}, ${b})`).toBe(ref[name]!(a, b));
        }
      }
  });

  it('every M instruction compiled in a block (jitThreshold 1) agrees with the BigInt reference', () => {
    const { hart, mem } = bareHart(64, { jitThreshold: 1 });
    const enc = A as unknown as Record<string, (d: number, a: number, b: number) => number>;
    for (const name of Object.keys(ref)) {
      // The op and an ecall: the op is a one-instruction block, compiled on first sight.
      mem.code(0x8000_1000, [enc[name]!(3, 1, 2), A.ECALL]);
      for (const a of wideValues.slice(0, 40))
        for (const b of wideValues.slice(-40)) {
          hart.setX(1, a);
          hart.setX(2, b);
          hart.pc = 0x8000_1000n;
          expect(hart.run(10).kind).toBe('ecall');
          expect(hart.getX(3), `${name}(${a}, ${b})`).toBe(ref[name]!(a, b));
        }
      expect(hart.compiledBlocks).toBe(1);
    }
  });
});
