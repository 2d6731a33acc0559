import { describe, expect, it } from 'vitest';
import { formatTable, markdownTable, runSuite, si } from '../src/index.ts';

describe('bench-harness', () => {
  it('derives work rates and baseline ratios from measured times', async () => {
    let lines = '';
    let spin = 0;
    const res = await runSuite(
      'demo',
      [
        {
          name: 'short',
          fn: () => {
            for (let i = 0; i < 1e3; i++) spin += i;
          },
          work: { count: 1000, unit: 'adds' },
        },
        {
          name: 'long',
          fn: () => {
            for (let i = 0; i < 1e5; i++) spin += i;
          },
          baseline: 'short',
        },
      ],
      {
        time: 20,
        iterations: 5,
        print: (l) => {
          lines += l;
        },
      },
    );
    expect(spin).toBeGreaterThan(0);
    const [short, long] = res;
    expect(short!.rate).toBeCloseTo(short!.hz * 1000, 3);
    expect(long!.vsBaseline).toBeCloseTo(long!.meanMs / short!.meanMs, 6);
    expect(long!.vsBaseline).toBeGreaterThan(1);
    expect(lines).toContain('## demo');
    expect(lines).toContain('adds/s');
  });

  it('rejects a baseline that is not in the suite', async () => {
    await expect(
      runSuite('bad', [{ name: 'a', fn: () => 0, baseline: 'nope' }], {
        time: 1,
        iterations: 1,
        print: () => {},
      }),
    ).rejects.toThrow(/baseline nope/);
  });

  it('formats SI prefixes and aligned rows', () => {
    expect(si(1_234_567)).toBe('1.23 M');
    expect(si(999)).toBe('999 ');
    const t = formatTable('x', [
      { name: 'n', hz: 10, meanMs: 100, rme: 1, samples: 3, rate: 2 ** 21, unit: 'B', vsBaseline: undefined },
    ]);
    expect(t).toContain('2.0 MiB/s');
    expect(t).toContain('100.00 ms');
  });

  it('markdownTable pads the first column to the left and the others to the right', () => {
    const t = markdownTable(
      't',
      ['case', 'n'],
      [
        ['a', '12345'],
        ['longer', '1'],
      ],
    );
    expect(t.split('\n')).toEqual([
      '',
      '## t',
      '| case   |     n |',
      '|--------|-------|',
      '| a      | 12345 |',
      '| longer |     1 |',
    ]);
  });
});
