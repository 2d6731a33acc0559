import { describe, expect, it } from 'vitest';
import { Hart, type HartOptions } from '../src/hart.ts';
import { warmUpHarts } from '../src/warmup.ts';

describe('the interpreter warm-up', () => {
  it('runs its whole program on a hart without the block compiler, then on one with it, then with wasm blocks', () => {
    const made: { opts: HartOptions; hart: Hart }[] = [];
    warmUpHarts((opts) => {
      const hart = new Hart(opts);
      made.push({ opts, hart });
      return hart;
    });
    expect(made.map((m) => m.hart.jit)).toEqual([false, true, true]);
    const [plain, jit, wasm] = made;
    // The interpreter alone compiled nothing and so ran every path itself...
    expect(plain!.hart.blocks.size).toBe(0);
    // ...and both harts ran the same program to the same end.
    expect(plain!.hart.instret).toBeGreaterThan(4000);
    expect(jit!.hart.instret).toBe(plain!.hart.instret);
    expect(jit!.hart.blocks.size).toBeGreaterThan(10);
    // One of them is a self-loop, so exec's path after a looping block is warmed too.
    expect([...jit!.hart.blocks.values()].some((b) => b?.loop === true)).toBe(true);
    // The third ran it with wasm blocks (installed, so entered) and PAUSE
    // exiting armed, to the same end: pause exits go on rather than restart.
    expect(wasm!.hart.wasmTier).toBeDefined();
    expect([...wasm!.hart.blocks.values()].some((b) => b !== null && b.wasm >= 0)).toBe(true);
    expect(wasm!.hart.pauseExits).toBe(true);
    expect(wasm!.hart.instret).toBe(plain!.hart.instret);
  });
});
