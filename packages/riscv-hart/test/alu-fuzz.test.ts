import * as A from '@tsvirt/test-utils/riscv-asm';
import { expect, it } from 'vitest';
import { runCode, s64, u64 } from './setup.ts';

// Random operands through every 64-bit register-register and immediate ALU
// form, checked against a BigInt model: guards the 32-bit limb arithmetic.
const s32 = (v: bigint) => BigInt.asIntN(32, v);
const rr: [string, (d: number, a: number, b: number) => number, (a: bigint, b: bigint) => bigint][] = [
  ['add', A.add, (a, b) => s64(a + b)],
  ['sub', A.sub, (a, b) => s64(a - b)],
  ['sll', A.sll, (a, b) => s64(a << (b & 63n))],
  ['srl', A.srl, (a, b) => s64(u64(a) >> (b & 63n))],
  ['sra', A.sra, (a, b) => a >> (b & 63n)],
  ['slt', A.slt, (a, b) => (a < b ? 1n : 0n)],
  ['sltu', A.sltu, (a, b) => (u64(a) < u64(b) ? 1n : 0n)],
  ['xor', A.xor, (a, b) => a ^ b],
  ['or', A.or, (a, b) => a | b],
  ['and', A.and, (a, b) => a & b],
  ['addw', A.addw, (a, b) => s32(a + b)],
  ['subw', A.subw, (a, b) => s32(a - b)],
  ['sllw', A.sllw, (a, b) => s32(a << (b & 31n))],
  ['srlw', A.srlw, (a, b) => s32(BigInt.asUintN(32, a) >> (b & 31n))],
  ['sraw', A.sraw, (a, b) => s32(a) >> (b & 31n)],
  ['mul', A.mul, (a, b) => s64(a * b)],
  ['mulhsu', A.mulhsu, (a, b) => s64((a * u64(b)) >> 64n)],
];

let seed = 0x1234567;
function rnd64(): bigint {
  let v = 0n;
  for (let k = 0; k < 4; k++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    v = (v << 16n) | BigInt(seed >>> 16);
  }
  // Bias towards boundary shapes: small, near 2^32, near 2^63.
  const shape = seed & 7;
  if (shape === 0) return s64(v & 0xffffn);
  if (shape === 1) return s64(0xffff_ffffn + (v & 3n) - 1n);
  if (shape === 2) return s64((1n << 63n) - (v & 3n));
  return s64(v);
}

it('register-register ALU ops agree with a BigInt model on 400 random operand pairs each', () => {
  const { hart, mem } = runCode([]);
  const at = 0x8000_1000;
  for (const [name, enc, ref] of rr) {
    mem.code(at, [enc(3, 1, 2), A.ECALL]);
    for (let n = 0; n < 400; n++) {
      const a = rnd64();
      const b = rnd64();
      hart.setX(1, a);
      hart.setX(2, b);
      hart.pc = BigInt(at);
      hart.run(5);
      expect(hart.getX(3), `${name}(${a}, ${b})`).toBe(ref(a, b));
    }
  }
});

it('immediate ALU ops agree with a BigInt model over every 12-bit immediate sign and random values', () => {
  const ri: [string, (d: number, a: number, i: number) => number, (a: bigint, i: bigint) => bigint][] = [
    ['addi', A.addi, (a, i) => s64(a + i)],
    ['slti', A.slti, (a, i) => (a < i ? 1n : 0n)],
    ['sltiu', A.sltiu, (a, i) => (u64(a) < u64(i) ? 1n : 0n)],
    ['xori', A.xori, (a, i) => a ^ i],
    ['ori', A.ori, (a, i) => a | i],
    ['andi', A.andi, (a, i) => a & i],
    ['addiw', A.addiw, (a, i) => s32(a + i)],
  ];
  const { hart, mem } = runCode([]);
  const at = 0x8000_1000;
  for (const [name, enc, ref] of ri) {
    for (let n = 0; n < 200; n++) {
      const a = rnd64();
      const imm = (Number(rnd64() & 0xfffn) << 20) >> 20;
      mem.code(at, [enc(3, 1, imm), A.ECALL]);
      hart.setX(1, a);
      hart.pc = BigInt(at);
      hart.run(5);
      expect(hart.getX(3), `${name}(${a}, ${imm})`).toBe(ref(a, BigInt(imm)));
    }
  }
});
