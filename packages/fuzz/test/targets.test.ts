import { describe, expect, it } from 'vitest';
import { FUZZ_TARGETS, formatReports, runFuzz } from '../src/index.ts';

// CI's short seed set: `pnpm fuzz` runs 100,000 calls per target and seed.
const SEEDS = [1, 2, 3];
const CALLS = 6000;

describe.each(FUZZ_TARGETS.map((t) => [t.name, t] as const))('%s', (_name, target) => {
  it.each(SEEDS)(
    `seed %i: ${CALLS} calls and random teardowns break no invariant`,
    (seed) => {
      const r = runFuzz(target, { seed, calls: CALLS, episode: 1500 });
      expect(
        formatReports([r])
          .split('\n')
          .filter((l) => l.startsWith('BREAK')),
      ).toEqual([]);
      expect(r.calls).toBe(CALLS);
      // The calls reach past the argument checks: most succeed or fail in more than one way.
      expect(r.errnos.size).toBeGreaterThan(2);
    },
    60_000,
  );
});
