import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { JIT_COMPILE_CHARGE } from '../src/index.ts';
import { bareHart, RAM } from './setup.ts';

const BUDGET = 5000;

describe('Zihintpause pause (0x0100000f)', () => {
  const PAUSE = 0x0100000f;
  const spin = [A.addi(5, 5, 1), PAUSE, A.jal(0, -8)];
  for (const jitThreshold of [16384, 1]) {
    it(`with pauseExits set, ends run() retired with pc past it (jitThreshold ${jitThreshold})`, () => {
      const { hart, mem } = bareHart(16, { jitThreshold });
      mem.code(RAM, spin);
      hart.pauseExits = true;
      for (let k = 1; k <= 3; k++) {
        const e = hart.run(BUDGET);
        const n = k === 1 ? 2 : 3; // addi, pause; then jal, addi, pause
        expect(e).toMatchObject({ kind: 'pause', retired: n, pc: BigInt(RAM + 8) });
        if (k === 1) expect(e.charged).toBe(n + hart.compiledBlocks * JIT_COMPILE_CHARGE);
        expect(hart.getX(5)).toBe(BigInt(k));
      }
    });
    it(`without pauseExits it is a no-op fence (jitThreshold ${jitThreshold})`, () => {
      const { hart, mem } = bareHart(16, { jitThreshold });
      mem.code(RAM, spin);
      const e = hart.run(BUDGET);
      expect(e.kind).toBe('budget');
      expect(hart.getX(5)).toBeGreaterThan(1000n);
    });
  }
});
