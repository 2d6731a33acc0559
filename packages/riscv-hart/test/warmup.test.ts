import { describe, expect, it } from 'vitest';
import { Hart, type HartOptions } from '../src/hart.ts';
import { warmUpHarts } from '../src/warmup.ts';

describe('the interpreter warm-up', () => {
  it('runs its whole program on a hart without the block compiler, then on one with it', () => {
    const made: { opts: HartOptions; hart: Hart }[] = [];
    warmUpHarts((opts) => {
      const hart = new Hart(opts);
      made.push({ opts, hart });
      return hart;
    });
    expect(made.map((m) => m.hart.jit)).toEqual([false, true]);
    const [plain, jit] = made;
    // The interpreter alone compiled nothing and so ran every path itself...
    expect(plain!.hart.blocks.size).toBe(0);
    // ...and both harts ran the same program to the same end.
    expect(plain!.hart.instret).toBeGreaterThan(4000);
    expect(jit!.hart.instret).toBe(plain!.hart.instret);
    expect(jit!.hart.blocks.size).toBeGreaterThan(10);
    // One of them is a self-loop, so exec's path after a looping block is warmed too.
    expect([...jit!.hart.blocks.values()].some((b) => b?.loop === true)).toBe(true);
  });
});
