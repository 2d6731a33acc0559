import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import type { Hart } from '../src/index.ts';
import { PTE_A, PTE_D, RWX } from './pt.ts';
import { GPA, twoStageHart, VA } from './two-stage.ts';

// Compiled blocks leave their next pc in the hart (h.pcNum) and exec() finds
// hot blocks through a direct-mapped front table compared by pc: the pcs of
// these programs must come out exactly as the interpreter's, including the
// high word of a pc above 4 GiB and a pc that wraps past 2^64 to 0.

function regs(h: Hart): bigint[] {
  return Array.from({ length: 32 }, (_, i) => h.getX(i));
}

/** The same program on a compiling hart (every head compiled on first reach) and an interpreting one. */
function bothWays(make: (jit: boolean) => Hart, budget = 1_000_000) {
  return [true, false].map((jit) => {
    const hart = make(jit);
    const exit = hart.run(budget);
    return { hart, exit: { ...exit, charged: 0 }, regs: regs(hart), pc: hart.pc, instret: hart.instret };
  });
}

describe('the block front table', () => {
  it('two heads 8 KiB apart on aliases of one page (one front slot, the same bytes) each run their own block', () => {
    // VA + 8 KiB and VA + 16 KiB map the same guest page; the function there records its pc (auipc).
    // A front table that matched a slot without its pc would run one alias's block for the other.
    // main calls it through both addresses 200 times: the two heads share front slot 0 with main's.
    const F1 = VA + 0x2000;
    const F2 = VA + 0x4000;
    const u64 = (v: number) => BigInt.asUintN(64, BigInt(v));
    const main = [
      ...A.li(30, 200n),
      ...A.li(8, u64(F1)),
      ...A.li(9, u64(F2)),
      A.jalr(1, 8, 0), // loop:
      A.add(10, 10, 6),
      A.jalr(1, 9, 0),
      A.sub(10, 10, 6),
      A.addi(30, 30, -1),
      A.bne(30, 0, -20),
      A.ECALL,
    ];
    const [j, i] = bothWays((jit) => {
      const { hart, mem, host, vs, vsRoot } = twoStageHart({ hart: { jit, jitThreshold: 1 } });
      vs.map(vsRoot, F1, GPA + 0x4000, RWX | PTE_A | PTE_D, 3);
      mem.code(host(VA), main);
      // A call into another page is interpreted at its target (the fetch page changes there): the
      // head is the instruction after it, so the auipc comes second and x6 = F1 + 4 or F2 + 4.
      mem.code(host(F2), [A.addi(0, 0, 0), A.auipc(6, 0), A.addi(5, 5, 1), A.jalr(0, 1, 0)]);
      return hart;
    });
    expect(j!.exit.kind).toBe('ecall');
    expect(j!.hart.compiledBlocks).toBeGreaterThan(2);
    expect(j!.hart.getX(5)).toBe(400n);
    // x10 gains F1 and loses F2 on each pass
    expect(j!.hart.getX(10)).toBe(BigInt(200 * (F1 - F2)));
    expect(j).toMatchObject({ exit: i!.exit, regs: i!.regs, pc: i!.pc, instret: i!.instret });
  });
});

describe('block exits at pcs with the high word set', () => {
  it('calls, returns and loops at 0xffff_ffc0_xxxx_xxxx leave the pcs and link registers the interpreter does', () => {
    // main calls a function on another page through jalr and jal, in a counted loop.
    const FN = VA + 0x3000;
    const head = [...A.li(30, 50n), ...A.li(8, BigInt.asUintN(64, BigInt(FN)))];
    const jalAt = head.length + 1;
    const main = [
      ...head,
      A.jalr(1, 8, 0), // loop:
      A.jal(1, FN - (VA + 4 * jalAt)), // the same function, by jal
      A.addi(30, 30, -1),
      A.bne(30, 0, -12),
      A.ECALL,
    ];
    const [j, i] = bothWays((jit) => {
      const { hart, mem, host } = twoStageHart({ hart: { jit, jitThreshold: 1 } });
      mem.code(host(VA), main);
      // the function keeps the high word of its return address in x7 and counts calls in x5
      mem.code(host(FN), [A.addi(5, 5, 1), A.srli(7, 1, 32), A.jalr(0, 1, 0)]);
      return hart;
    });
    expect(j!.exit.kind).toBe('ecall');
    expect(j!.hart.compiledBlocks).toBeGreaterThan(1);
    expect(j!.hart.getX(5)).toBe(100n);
    expect(j!.hart.getX(7)).toBe(0xffff_ffc0n);
    expect(j!.pc).toBe(BigInt.asUintN(64, BigInt(VA + 4 * (main.length - 1))));
    expect(j).toMatchObject({ exit: i!.exit, regs: i!.regs, pc: i!.pc, instret: i!.instret });
  });

  it('a block at the top of the address space runs off its end to pc 0, which faults there as interpreted', () => {
    const TOP = -4096; // 0xffff_ffff_ffff_f000
    const [j, i] = bothWays((jit) => {
      const { hart, mem, host, vs, vsRoot } = twoStageHart({ hart: { jit, jitThreshold: 1 } });
      // The top page maps to guest RAM at VA + 0x2f_f000; nothing maps VA 0.
      vs.map(vsRoot, TOP, GPA + 0x2f_f000, RWX | PTE_A | PTE_D, 3);
      mem.code(host(VA), [...A.li(8, BigInt(TOP)), A.jalr(0, 8, 0)]);
      // at the top: jump to the last three instructions, which fall through past 2^64
      mem.code(host(VA + 0x2f_f000), [A.jal(0, 4096 - 12)]);
      mem.code(host(VA + 0x2f_f000) + 4096 - 12, [A.addi(5, 5, 1), A.addi(6, 6, 2), A.addi(7, 7, 3)]);
      return hart;
    });
    expect(j!.hart.compiledBlocks).toBeGreaterThan(0);
    expect(j!.exit.kind).not.toBe('budget');
    expect(j!.exit.pc).toBe(0n);
    expect(j!.pc).toBe(0n);
    expect([j!.hart.getX(5), j!.hart.getX(6), j!.hart.getX(7)]).toEqual([1n, 2n, 3n]);
    expect(j).toMatchObject({ exit: i!.exit, regs: i!.regs, pc: i!.pc, instret: i!.instret });
  });
});
