import { addi, bne, ECALL } from '@tsvirt/test-utils/riscv-asm';
import { expect, it } from 'vitest';
import { runCode } from './setup.ts';

it('runs a loop and exits on ecall from VS with cause 10', () => {
  const { hart, exit } = runCode([addi(1, 0, 100), addi(2, 2, 3), addi(1, 1, -1), bne(1, 0, -8), ECALL]);
  expect(exit.kind).toBe('ecall');
  expect(exit.cause).toBe(10);
  expect(hart.getX(2)).toBe(300n);
  expect(exit.retired).toBe(1 + 300);
});
