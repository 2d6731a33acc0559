import { fail } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import { type FuzzTarget, type FuzzTargetFactory, firstDifference, Rng, runFuzz } from '../src/index.ts';

/** A counter with one deliberately broken op per test, to show the harness catches each kind of break. */
function counterTarget(
  bug: 'none' | 'mutate-then-fail' | 'type-error' | 'leak' | 'invariant',
): FuzzTargetFactory {
  return {
    name: `counter-${bug}`,
    create(): FuzzTarget {
      let value = 0;
      let held = 0;
      return {
        ops: [
          { name: 'inc', run: () => void value++ },
          {
            name: 'refuse',
            run: (r) => {
              if (bug === 'mutate-then-fail' && r.chance(0.5)) value += 100;
              fail('EINVAL', 'always refused');
            },
          },
          {
            name: 'hold',
            run: () => {
              if (bug === 'type-error') throw new TypeError('x is undefined');
              held++;
            },
          },
        ],
        snapshot: () => `value ${value} held ${held}`,
        invariants: () => (bug === 'invariant' && value > 5 ? [`value ${value} > 5`] : []),
        teardown: () => {
          if (bug !== 'leak') held = 0;
        },
        leaks: () => (held > 0 ? [`${held} still held`] : []),
      };
    },
  };
}

describe('runFuzz', () => {
  it('a clean target runs every call with no break, and KernelErrors are counted by errno', () => {
    const r = runFuzz(counterTarget('none'), { seed: 7, calls: 3000, episode: 1000 });
    expect(r.calls).toBe(3000);
    expect(r.episodes).toBe(3);
    expect(r.breaks).toEqual([]);
    expect(r.errnos.get('EINVAL')).toBeGreaterThan(500);
  });

  it('a failed call that changed state is a changed-on-failure break naming the difference', () => {
    const r = runFuzz(counterTarget('mutate-then-fail'), { seed: 7, calls: 1000 });
    expect(r.breaks.length).toBeGreaterThan(0);
    expect(r.breaks[0]).toMatchObject({ kind: 'changed-on-failure', op: 'refuse', seed: 7 });
    expect(r.breaks[0]!.detail).toMatch(/^EINVAL: line 1: before value \d+ held \d+ \| after value/);
  });

  it('an exception that is not a KernelError is a host-exception break', () => {
    const r = runFuzz(counterTarget('type-error'), { seed: 1, calls: 100, maxBreaks: 3 });
    expect(r.breaks).toHaveLength(3);
    expect(
      r.breaks.every((b) => b.kind === 'host-exception' && b.detail === 'TypeError: x is undefined'),
    ).toBe(true);
  });

  it('what teardown leaves behind is a leak; a broken invariant is reported after the call', () => {
    const leak = runFuzz(counterTarget('leak'), { seed: 3, calls: 500, episode: 250 });
    expect(leak.breaks.map((b) => b.kind)).toEqual(['leak', 'leak']);
    const inv = runFuzz(counterTarget('invariant'), { seed: 3, calls: 500, maxBreaks: 1 });
    expect(inv.breaks[0]).toMatchObject({ kind: 'invariant', detail: 'value 6 > 5' });
  });

  it('the same seed replays the same calls', () => {
    const a = runFuzz(counterTarget('mutate-then-fail'), { seed: 42, calls: 2000 });
    const b = runFuzz(counterTarget('mutate-then-fail'), { seed: 42, calls: 2000 });
    expect(b.breaks).toEqual(a.breaks);
    expect([...b.errnos]).toEqual([...a.errnos]);
  });
});

describe('Rng and firstDifference', () => {
  it('mulberry32 is deterministic and spreads its low bits', () => {
    const a = new Rng(1);
    const b = new Rng(1);
    const xs = Array.from({ length: 1000 }, () => a.u32());
    expect(Array.from({ length: 1000 }, () => b.u32())).toEqual(xs);
    const lowBit = xs.filter((x) => x & 1).length;
    expect(lowBit).toBeGreaterThan(400);
    expect(lowBit).toBeLessThan(600);
  });

  it('names the first differing line', () => {
    expect(firstDifference('a\nb\nc', 'a\nx\nc')).toBe('line 2: before b | after x');
    expect(firstDifference('a', 'a\nb')).toBe('line 2: before (none) | after b');
  });
});
