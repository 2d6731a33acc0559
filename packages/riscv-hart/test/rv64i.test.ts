import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { bareHart, RAM, runCode, s64 } from './setup.ts';

const MAX = 0x7fff_ffff_ffff_ffffn;
const MIN = -(2n ** 63n);

function alu(insn: number, a: bigint, b = 0n): bigint {
  const { hart, exit } = runCode([insn], { 1: a, 2: b });
  expect(exit.kind).toBe('ecall');
  return hart.getX(3);
}

describe('RV64I integer ALU', () => {
  it('add/addi carry across bit 32 and wrap at 64 bits', () => {
    expect(alu(A.addi(3, 1, 1), 0xffff_ffffn)).toBe(0x1_0000_0000n);
    expect(alu(A.addi(3, 1, 1), MAX)).toBe(MIN);
    expect(alu(A.addi(3, 1, -1), 0n)).toBe(-1n);
    expect(alu(A.addi(3, 1, -2048), 0x1_0000_0000n)).toBe(0xffff_f800n);
    expect(alu(A.add(3, 1, 2), 0xffff_ffffn, 1n)).toBe(0x1_0000_0000n);
    expect(alu(A.add(3, 1, 2), -1n, -1n)).toBe(-2n);
    expect(alu(A.add(3, 1, 2), MAX, 1n)).toBe(MIN);
  });
  it('sub borrows across bit 32', () => {
    expect(alu(A.sub(3, 1, 2), 0x1_0000_0000n, 1n)).toBe(0xffff_ffffn);
    expect(alu(A.sub(3, 1, 2), 0n, 1n)).toBe(-1n);
    expect(alu(A.sub(3, 1, 2), MIN, 1n)).toBe(MAX);
  });
  it('slt/sltu/slti/sltiu compare signed and unsigned 64-bit values', () => {
    expect(alu(A.slt(3, 1, 2), -1n, 0n)).toBe(1n);
    expect(alu(A.sltu(3, 1, 2), -1n, 0n)).toBe(0n);
    expect(alu(A.slt(3, 1, 2), 0x1_0000_0000n, 0xffff_ffffn)).toBe(0n);
    expect(alu(A.sltu(3, 1, 2), 0xffff_ffffn, 0x1_0000_0000n)).toBe(1n);
    expect(alu(A.slt(3, 1, 2), -0x1_0000_0000n, -1n)).toBe(1n);
    expect(alu(A.slti(3, 1, -1), -2n)).toBe(1n);
    expect(alu(A.slti(3, 1, -1), 0n)).toBe(0n);
    // sltiu sign-extends the immediate, then compares unsigned: x < 0xffff...ffff.
    expect(alu(A.sltiu(3, 1, -1), MAX)).toBe(1n);
    expect(alu(A.sltiu(3, 1, 1), 0n)).toBe(1n); // seqz
  });
  it('logic ops with sign-extended immediates', () => {
    expect(alu(A.xori(3, 1, -1), 0x1234_5678_9abc_def0n)).toBe(s64(~0x1234_5678_9abc_def0n));
    expect(alu(A.ori(3, 1, -2048), 1n)).toBe(-2047n);
    expect(alu(A.andi(3, 1, 0x7ff), -1n)).toBe(0x7ffn);
    expect(alu(A.and(3, 1, 2), 0xff00_ff00_ff00_ff00n, 0x0ff0_0ff0_0ff0_0ff0n)).toBe(0x0f00_0f00_0f00_0f00n);
    expect(alu(A.or(3, 1, 2), 0xf000_0000_0000_0000n, 1n)).toBe(s64(0xf000_0000_0000_0001n));
    expect(alu(A.xor(3, 1, 2), -1n, 0x8000_0000n)).toBe(s64(0xffff_ffff_7fff_ffffn));
  });
  it('64-bit shifts by 0, 1, 31, 32, 33 and 63', () => {
    const v = s64(0x8123_4567_89ab_cdefn);
    for (const sh of [0, 1, 31, 32, 33, 63]) {
      const n = BigInt(sh);
      expect(alu(A.sll(3, 1, 2), v, n)).toBe(s64(v << n));
      expect(alu(A.srl(3, 1, 2), v, n)).toBe(s64(BigInt.asUintN(64, v) >> n));
      expect(alu(A.sra(3, 1, 2), v, n)).toBe(v >> n);
      expect(alu(A.slli(3, 1, sh), v)).toBe(s64(v << n));
      expect(alu(A.srli(3, 1, sh), v)).toBe(s64(BigInt.asUintN(64, v) >> n));
      expect(alu(A.srai(3, 1, sh), v)).toBe(v >> n);
    }
    // Register shifts use only the low 6 bits of rs2.
    expect(alu(A.sll(3, 1, 2), 1n, 64n + 4n)).toBe(16n);
  });
  it('W forms compute on 32 bits and sign-extend', () => {
    expect(alu(A.addiw(3, 1, 1), 0x7fff_ffffn)).toBe(-0x8000_0000n);
    expect(alu(A.addiw(3, 1, 0), 0x1_8000_0000n)).toBe(-0x8000_0000n); // sext.w
    expect(alu(A.addw(3, 1, 2), 0xffff_ffffn, 1n)).toBe(0n);
    expect(alu(A.subw(3, 1, 2), 0n, 1n)).toBe(-1n);
    expect(alu(A.sllw(3, 1, 2), 1n, 31n)).toBe(-0x8000_0000n);
    expect(alu(A.sllw(3, 1, 2), 1n, 32n)).toBe(1n); // shamt is rs2[4:0]
    expect(alu(A.srlw(3, 1, 2), -1n, 0n)).toBe(-1n);
    expect(alu(A.srlw(3, 1, 2), -1n, 1n)).toBe(0x7fff_ffffn);
    expect(alu(A.sraw(3, 1, 2), 0x8000_0000n, 4n)).toBe(-0x0800_0000n);
    expect(alu(A.slliw(3, 1, 31), 3n)).toBe(-0x8000_0000n);
    expect(alu(A.srliw(3, 1, 4), 0xffff_fff0n)).toBe(0x0fff_ffffn);
    expect(alu(A.sraiw(3, 1, 4), 0xffff_fff0n)).toBe(-1n);
  });
  it('lui sign-extends bit 31; auipc adds to the pc', () => {
    expect(alu(A.lui(3, 0x80000), 0n)).toBe(-0x8000_0000n);
    expect(alu(A.lui(3, 0x12345), 0n)).toBe(0x1234_5000n);
    const { hart } = runCode([A.addi(0, 0, 0), A.auipc(3, 0xfffff)]);
    expect(hart.getX(3)).toBe(BigInt(RAM + 4 - 0x1000));
  });
  it('writes to x0 are discarded', () => {
    const { hart } = runCode([A.addi(0, 0, 5), A.lui(0, 1), A.add(3, 0, 0)]);
    expect(hart.getX(0)).toBe(0n);
    expect(hart.getX(3)).toBe(0n);
  });
});

describe('RV64I control transfer', () => {
  it('jal links pc+4 and jumps; jalr clears bit 0 and reads rs1 before writing rd', () => {
    const { hart, exit } = runCode([
      A.jal(1, 8), // -> +8
      A.addi(5, 0, 1), // skipped
      A.auipc(6, 0), // RAM+8
      A.addi(6, 6, 17), // RAM+25: odd target, bit 0 cleared -> RAM+24
      A.jalr(6, 6, 0),
      A.addi(5, 0, 2), // RAM+20: skipped
      A.addi(7, 0, 3), // RAM+24
    ]);
    expect(exit.kind).toBe('ecall');
    expect(hart.getX(1)).toBe(BigInt(RAM + 4));
    expect(hart.getX(5)).toBe(0n);
    expect(hart.getX(6)).toBe(BigInt(RAM + 20));
    expect(hart.getX(7)).toBe(3n);
  });
  it('every branch condition, taken and not taken', () => {
    const cases: [(a: number, b: number, o: number) => number, bigint, bigint, boolean][] = [
      [A.beq, 5n, 5n, true],
      [A.beq, 5n, 0x1_0000_0005n, false],
      [A.bne, 5n, 0x1_0000_0005n, true],
      [A.bne, -1n, -1n, false],
      [A.blt, -1n, 0n, true],
      [A.blt, 0n, -1n, false],
      [A.bge, 0n, -1n, true],
      [A.bge, -2n, -1n, false],
      [A.bge, 7n, 7n, true],
      [A.bltu, 0n, -1n, true],
      [A.bltu, -1n, 0n, false],
      [A.bgeu, -1n, 0n, true],
      [A.bgeu, 0xffff_ffffn, 0x1_0000_0000n, false],
    ];
    for (const [br, a, b, taken] of cases) {
      const { hart } = runCode([br(1, 2, 8), A.addi(3, 0, 1), A.addi(4, 0, 1)], { 1: a, 2: b });
      expect(hart.getX(3), `${br.name} ${a} ${b}`).toBe(taken ? 0n : 1n);
      expect(hart.getX(4)).toBe(1n);
    }
  });
  it('a backward branch loop retires the exact number of instructions', () => {
    const { hart, exit } = runCode([A.addi(1, 0, 10), A.addi(2, 2, 1), A.addi(1, 1, -1), A.bne(1, 0, -8)]);
    expect(hart.getX(2)).toBe(10n);
    expect(exit.retired).toBe(31);
    expect(hart.instret).toBe(31);
  });
});

describe('RV64I loads and stores', () => {
  it('every width, sign- and zero-extending', () => {
    const { hart, mem } = bareHart();
    const d = RAM + 0x1000;
    mem.w64(d, 0x8182_8384_8586_8788n);
    mem.code(RAM, [
      A.lb(3, 1, 0),
      A.lbu(4, 1, 0),
      A.lh(5, 1, 0),
      A.lhu(6, 1, 0),
      A.lw(7, 1, 0),
      A.lwu(8, 1, 0),
      A.ld(9, 1, 0),
      A.sb(2, 1, 8),
      A.sh(2, 1, 16),
      A.sw(2, 1, 24),
      A.sd(2, 1, 32),
      A.ECALL,
    ]);
    hart.setX(1, BigInt(d));
    hart.setX(2, 0x1122_3344_5566_7788n);
    expect(hart.run(100).kind).toBe('ecall');
    expect(hart.getX(3)).toBe(-0x78n);
    expect(hart.getX(4)).toBe(0x88n);
    expect(hart.getX(5)).toBe(s64(0xffff_ffff_ffff_8788n));
    expect(hart.getX(6)).toBe(0x8788n);
    expect(hart.getX(7)).toBe(s64(0xffff_ffff_8586_8788n));
    expect(hart.getX(8)).toBe(0x8586_8788n);
    expect(hart.getX(9)).toBe(s64(0x8182_8384_8586_8788n));
    expect(mem.r64(d + 8)).toBe(0x88n);
    expect(mem.r64(d + 16)).toBe(0x7788n);
    expect(mem.r64(d + 24)).toBe(0x5566_7788n);
    expect(mem.r64(d + 32)).toBe(0x1122_3344_5566_7788n);
  });
  it('misaligned accesses work, also across a page boundary', () => {
    const { hart, mem } = bareHart();
    const d = RAM + 0x1ffd; // 3 bytes before a page end
    mem.code(RAM, [A.sd(2, 1, 0), A.ld(3, 1, 0), A.lw(4, 1, 1), A.lh(5, 1, 1), A.ECALL]);
    hart.setX(1, BigInt(d));
    hart.setX(2, 0x0102_0304_0506_0708n);
    expect(hart.run(100).kind).toBe('ecall');
    expect(hart.getX(3)).toBe(0x0102_0304_0506_0708n);
    expect(hart.getX(4)).toBe(0x0405_0607n);
    expect(hart.getX(5)).toBe(0x0607n);
    expect(mem.u8[0x1ffd]).toBe(0x08);
    expect(mem.u8[0x2004]).toBe(0x01);
  });
  it('a load from a hole in host memory is a load access fault exit; nothing retires', () => {
    const { hart, exit } = runCode([A.ld(3, 1, 0)], { 1: 0x1000n });
    expect(exit.kind).toBe('exception');
    expect(exit.cause).toBe(5);
    expect(exit.tval).toBe(0x1000n);
    expect(exit.pc).toBe(BigInt(RAM));
    expect(hart.instret).toBe(0);
  });
  it('a PhysMemory that throws for a pfn (host-mm EFAULT) is an access fault, not a host exception', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.ld(3, 1, 0)]);
    const frame = mem.frame.bind(mem);
    mem.frame = (pfn: number) => {
      if (pfn > 0xf_0000) throw new Error('EFAULT');
      return frame(pfn);
    };
    hart.setX(1, 0x1_0000_0000_0000n);
    const e = hart.run(10);
    expect(e.kind).toBe('exception');
    expect(e.cause).toBe(5);
  });
  it('a store to a hole is a store access fault and writes nothing', () => {
    const { hart, mem } = bareHart();
    // The store straddles the end of RAM: the first bytes exist, the rest do not.
    const end = RAM + 1024 * 4096;
    mem.code(RAM, [A.sd(2, 1, 0), A.ECALL]);
    hart.setX(1, BigInt(end - 4));
    hart.setX(2, -1n);
    const e = hart.run(10);
    expect(e.cause).toBe(7);
    expect(mem.r32(end - 4)).toBe(0);
  });
});

describe('illegal encodings raise illegal-instruction with the bits in tval', () => {
  const bad: [string, number][] = [
    ['OP funct7 0x10', (0x10 << 25) | (2 << 20) | (1 << 15) | (3 << 7) | 0x33],
    ['SUB with funct3 1', (0x20 << 25) | (1 << 12) | 0x33],
    ['LOAD funct3 7', (7 << 12) | 0x03],
    ['STORE funct3 4', (4 << 12) | 0x23],
    ['SLLI with imm[11:6] set', A.slli(1, 1, 1) | (0x20 << 26)],
    ['SRLI funct6 0x08', A.srli(1, 1, 1) | (0x08 << 26)],
    ['SLLIW with shamt[5]', A.slliw(1, 1, 1) | (1 << 25)],
    ['OP-32 funct7 1 funct3 1', (1 << 25) | (1 << 12) | 0x3b],
    ['BRANCH funct3 2', (2 << 12) | 0x63],
    ['JALR funct3 1', A.jalr(1, 1, 0) | (1 << 12)],
    ['unknown major opcode 0x0b', 0x0b],
    ['MISC-MEM funct3 2', (2 << 12) | 0x0f],
    ['MRET', A.MRET],
    ['all ones', 0xffffffff],
  ];
  for (const [name, insn] of bad) {
    it(name, () => {
      const { hart, exit } = runCode([insn]);
      expect(exit.kind).toBe('illegal-instruction');
      expect(exit.cause).toBe(2);
      expect(exit.tval).toBe(BigInt(insn >>> 0));
      expect(exit.pc).toBe(BigInt(RAM));
      expect(hart.getCsr(0x142)).toBe(2n); // scause as HS would see it
    });
  }
  it('fence and fence.i execute as no-ops here', () => {
    const { hart, exit } = runCode([A.FENCE, A.FENCE_I, A.addi(3, 0, 1)]);
    expect(exit.kind).toBe('ecall');
    expect(hart.getX(3)).toBe(1n);
  });
});
