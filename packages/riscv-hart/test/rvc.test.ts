import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { expandCompressed } from '../src/index.ts';
import { bareHart, RAM } from './setup.ts';

// Reference encodings from the C extension tables (checked with GNU as/objdump).
const cases: [string, number, number][] = [
  ['c.addi4spn a0, sp, 16', 0x0808, A.addi(10, 2, 16)],
  ['c.lw a0, 4(a1)', 0x41c8, A.lw(10, 11, 4)],
  ['c.ld a0, 8(a1)', 0x6588, A.ld(10, 11, 8)],
  ['c.sw a0, 4(a1)', 0xc1c8, A.sw(10, 11, 4)],
  ['c.sd a0, 8(a1)', 0xe588, A.sd(10, 11, 8)],
  ['c.fld fa0, 8(a1)', 0x2588, A.fld(10, 11, 8)],
  ['c.fsd fa0, 8(a1)', 0xa588, A.fsd(10, 11, 8)],
  ['c.nop', 0x0001, A.addi(0, 0, 0)],
  ['c.addi a0, -1', 0x157d, A.addi(10, 10, -1)],
  ['c.addiw a0, 1', 0x2505, A.addiw(10, 10, 1)],
  ['c.li a0, -32', 0x5501, A.addi(10, 0, -32)],
  ['c.addi16sp sp, -64', 0x7139, A.addi(2, 2, -64)],
  ['c.lui a0, 0xfffff', 0x757d, A.lui(10, 0xfffff)],
  ['c.srli a0, 63', 0x917d, A.srli(10, 10, 63)],
  ['c.srai a0, 1', 0x8505, A.srai(10, 10, 1)],
  ['c.andi a0, -1', 0x997d, A.andi(10, 10, -1)],
  ['c.sub a0, a1', 0x8d0d, A.sub(10, 10, 11)],
  ['c.xor a0, a1', 0x8d2d, A.xor(10, 10, 11)],
  ['c.or a0, a1', 0x8d4d, A.or(10, 10, 11)],
  ['c.and a0, a1', 0x8d6d, A.and(10, 10, 11)],
  ['c.subw a0, a1', 0x9d0d, A.subw(10, 10, 11)],
  ['c.addw a0, a1', 0x9d2d, A.addw(10, 10, 11)],
  ['c.j -2', 0xbffd, A.jal(0, -2)],
  ['c.beqz a0, 8', 0xc501, A.beq(10, 0, 8)],
  ['c.bnez a0, -4', 0xfd75, A.bne(10, 0, -4)],
  ['c.slli a0, 32', 0x1502, A.slli(10, 10, 32)],
  ['c.fldsp fa0, 8(sp)', 0x2522, A.fld(10, 2, 8)],
  ['c.lwsp a0, 4(sp)', 0x4512, A.lw(10, 2, 4)],
  ['c.ldsp a0, 8(sp)', 0x6522, A.ld(10, 2, 8)],
  ['c.jr ra', 0x8082, A.jalr(0, 1, 0)],
  ['c.mv a0, a1', 0x852e, A.add(10, 0, 11)],
  ['c.ebreak', 0x9002, A.EBREAK],
  ['c.jalr a0', 0x9502, A.jalr(1, 10, 0)],
  ['c.add a0, a1', 0x952e, A.add(10, 10, 11)],
  ['c.fsdsp fa0, 8(sp)', 0xa42a, A.fsd(10, 2, 8)],
  ['c.swsp a0, 4(sp)', 0xc22a, A.sw(10, 2, 4)],
  ['c.sdsp a0, 8(sp)', 0xe42a, A.sd(10, 2, 8)],
];

describe('RVC expansion', () => {
  for (const [name, c, want] of cases) {
    it(name, () => {
      expect(expandCompressed(c) >>> 0).toBe(want >>> 0);
    });
  }
  const reserved: [string, number][] = [
    ['all zeros (defined illegal)', 0x0000],
    ['c.addi4spn with nzuimm 0', 0x0004],
    ['quadrant 0 funct3 100', 0x8000],
    ['c.addiw x0', 0x2001],
    ['c.addi16sp with imm 0', 0x6101],
    ['c.lui with imm 0', 0x6501],
    ['c.subw-space funct 10', 0x9d4d],
    ['c.subw-space funct 11', 0x9d6d],
    ['c.lwsp x0', 0x4002],
    ['c.ldsp x0', 0x6002],
    ['c.jr x0', 0x8002],
  ];
  for (const [name, c] of reserved) {
    it(`${name} is illegal and reported with its 16 bits`, () => {
      expect(expandCompressed(c)).toBe(0);
      const { hart, mem } = bareHart();
      mem.w16(RAM, c);
      const e = hart.run(10);
      expect(e.kind).toBe('illegal-instruction');
      expect(e.tval).toBe(BigInt(c));
      expect(e.pc).toBe(BigInt(RAM));
    });
  }
});

describe('compressed code runs with 2-byte steps', () => {
  it('mixes 16- and 32-bit instructions, links pc+2 for c.jalr, and fetches a 32-bit insn across a page', () => {
    const { hart, mem } = bareHart();
    // At RAM: c.li a0,-32 ; c.addi a0,-1 ; c.mv a1,a0 ; then a 32-bit addi at RAM+6.
    mem.w16(RAM, 0x5501);
    mem.w16(RAM + 2, 0x157d);
    mem.w16(RAM + 4, 0x85aa); // c.mv a1, a0
    mem.w32(RAM + 6, A.addi(12, 11, 100));
    // c.jalr a3 (a3 -> page end - 2, where a 32-bit insn straddles the page boundary)
    mem.w16(RAM + 10, 0x9682);
    const t = RAM + 0x1ffe;
    mem.w16(t, A.addi(13, 0, 7) & 0xffff);
    mem.w16(t + 2, A.addi(13, 0, 7) >>> 16);
    mem.w32(t + 4, A.ECALL);
    hart.setX(13, BigInt(t));
    const e = hart.run(100);
    expect(e.kind).toBe('ecall');
    expect(hart.getX(10)).toBe(-33n);
    expect(hart.getX(11)).toBe(-33n);
    expect(hart.getX(12)).toBe(67n);
    expect(hart.getX(1)).toBe(BigInt(RAM + 12)); // c.jalr links pc + 2
    expect(hart.getX(13)).toBe(7n);
    expect(e.pc).toBe(BigInt(t + 4));
  });
});
