import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { Hart, ReservationSet } from '../src/index.ts';
import { FakeMem } from './fake-mem.ts';
import { RAM, runCode, s64 } from './setup.ts';

const D = RAM + 0x1000;

describe('AMOs', () => {
  const cases: [string, (rd: number, rs1: number, rs2: number) => number, bigint, bigint, bigint][] = [
    ['amoadd.d', A.amoaddD, 5n, 7n, 12n],
    ['amoxor.d', A.amoxorD, 0xf0n, 0xffn, 0x0fn],
    ['amoand.d', A.amoandD, 0xf0n, 0x3cn, 0x30n],
    ['amoor.d', A.amoorD, 0xf0n, 0x0fn, 0xffn],
    ['amomin.d', A.amominD, -5n, 3n, -5n],
    ['amomax.d', A.amomaxD, -5n, 3n, 3n],
    ['amominu.d', A.amominuD, -5n, 3n, 3n],
    ['amomaxu.d', A.amomaxuD, -5n, 3n, -5n],
    ['amoadd.d carries into the high word', A.amoaddD, 0xffff_ffffn, 1n, 0x1_0000_0000n],
  ];
  it('each op over a preset value', () => {
    for (const [name, enc, mem0, src, want] of cases) {
      const r = runCode([]);
      r.mem.w64(D, mem0);
      r.mem.code(RAM + 8, [enc(3, 1, 2), A.ECALL]);
      r.hart.pc = BigInt(RAM + 8);
      r.hart.setX(1, BigInt(D));
      r.hart.setX(2, src);
      expect(r.hart.run(10).kind).toBe('ecall');
      expect(r.hart.getX(3), name).toBe(s64(mem0));
      expect(s64(r.mem.r64(D)), name).toBe(s64(want));
    }
  });
  it('W forms operate on 32 bits and sign-extend the old value', () => {
    const r = runCode([]);
    r.mem.w64(D, 0x1234_5678_8000_0000n);
    r.mem.code(RAM + 8, [
      A.amoaddW(3, 1, 2),
      A.amominW(4, 1, 5),
      A.amomaxuW(6, 1, 5),
      A.amoswapW(7, 1, 0),
      A.ECALL,
    ]);
    r.hart.pc = BigInt(RAM + 8);
    r.hart.setX(1, BigInt(D));
    r.hart.setX(2, 1n);
    r.hart.setX(5, -1n);
    r.hart.run(10);
    expect(r.hart.getX(3)).toBe(-0x8000_0000n);
    expect(r.hart.getX(4)).toBe(-0x7fff_ffffn); // min(0x80000001, -1) signed = 0x80000001
    expect(r.hart.getX(6)).toBe(-0x7fff_ffffn); // maxu(0x80000001, 0xffffffff) = 0xffffffff
    expect(r.hart.getX(7)).toBe(-1n);
    expect(r.mem.r64(D)).toBe(0x1234_5678_0000_0000n); // upper word untouched
  });
  it('misaligned AMO is a store/AMO misaligned exit (6); misaligned LR a load misaligned (4)', () => {
    const a = runCode([A.amoaddD(3, 1, 2)], { 1: BigInt(D + 4) });
    expect(a.exit.cause).toBe(6);
    expect(a.exit.tval).toBe(BigInt(D + 4));
    const b = runCode([A.lrW(3, 1)], { 1: BigInt(D + 2) });
    expect(b.exit.cause).toBe(4);
  });
  it('lr with rs2 != 0 and an unknown AMO funct5 are illegal', () => {
    expect(runCode([A.lrD(3, 1) | (2 << 20)], { 1: BigInt(D) }).exit.kind).toBe('illegal-instruction');
    expect(runCode([(0x05 << 27) | (3 << 12) | 0x2f]).exit.kind).toBe('illegal-instruction');
  });
});

describe('LR/SC', () => {
  it('sc succeeds after lr (rd = 0) and fails without a reservation (rd = 1, no write)', () => {
    const { hart, mem } = runCode([A.lrD(3, 1), A.scD(4, 1, 2), A.scD(5, 1, 6)], {
      1: BigInt(D),
      2: 11n,
      6: 22n,
    });
    expect(hart.getX(4)).toBe(0n);
    expect(hart.getX(5)).toBe(1n);
    expect(mem.r64(D)).toBe(11n);
  });

  function twoHarts() {
    const mem = new FakeMem(RAM / 4096, 64);
    const resv = new ReservationSet();
    const a = new Hart({ mem, reservations: resv });
    const b = new Hart({ mem, reservations: resv });
    // Hart A: lr.d; ecall; sc.d; ecall.   Hart B: sd x2 to (x1); ecall.
    mem.code(RAM, [A.lrD(3, 1), A.ECALL, A.scD(4, 1, 2), A.ECALL]);
    mem.code(RAM + 0x100, [A.sd(2, 1, 0), A.ECALL]);
    a.pc = BigInt(RAM);
    b.pc = BigInt(RAM + 0x100);
    a.setX(1, BigInt(D));
    a.setX(2, 1n);
    b.setX(2, 2n);
    return { mem, a, b };
  }
  it('a store by another hart to the reserved granule makes sc fail', () => {
    const { mem, a, b } = twoHarts();
    b.setX(1, BigInt(D + 4)); // same 8-byte granule
    expect(a.run(10).kind).toBe('ecall');
    a.pc += 4n;
    expect(b.run(10).kind).toBe('ecall');
    expect(a.run(10).kind).toBe('ecall');
    expect(a.getX(4)).toBe(1n);
    expect(mem.r64(D)).toBe(2n << 32n);
  });
  it('a store by another hart elsewhere leaves the reservation: sc succeeds', () => {
    const { mem, a, b } = twoHarts();
    b.setX(1, BigInt(D + 8));
    a.run(10);
    a.pc += 4n;
    b.run(10);
    a.run(10);
    expect(a.getX(4)).toBe(0n);
    expect(mem.r64(D)).toBe(1n);
  });
  it('an sc by the other hart also breaks it (the AMO/store path of any hart)', () => {
    const { a, b, mem } = twoHarts();
    mem.code(RAM + 0x100, [A.lrD(5, 1), A.scD(6, 1, 2), A.ECALL]);
    b.setX(1, BigInt(D));
    a.run(10);
    a.pc += 4n;
    b.run(10);
    expect(b.getX(6)).toBe(0n);
    a.run(10);
    expect(a.getX(4)).toBe(1n);
    expect(mem.r64(D)).toBe(2n);
  });
});
