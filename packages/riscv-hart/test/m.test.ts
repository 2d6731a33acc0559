import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { div64, mulhu64 } from '../src/index.ts';
import type { FakeMem } from './fake-mem.ts';
import { runCode, s64, u64 } from './setup.ts';

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
