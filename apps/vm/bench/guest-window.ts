import type { CaseResult } from '@tsvirt/bench-harness';

// What the guest-timed suites share (bench/irqchip.ts, bench/mmio-exits.ts):
// a workload the guest runs n times between two console lines, timed best of
// SAMPLES runs, reported as wall time per event.

/** Runs per figure (1 with BENCH_QUICK). */
export const SAMPLES = process.env.BENCH_QUICK === '1' ? 1 : 3;

/** A run's wall time between the guest's two lines, and the events it reported. */
export interface WindowSample {
  ms: number;
  n: number;
}

/** Best of SAMPLES runs (the machine is shared: the least disturbed run is the figure). */
export async function bestOf<S extends WindowSample>(run: () => Promise<S>): Promise<S> {
  let b: S | undefined;
  for (let i = 0; i < SAMPLES; i++) {
    const s = await run();
    if (b === undefined || s.ms < b.ms) b = s;
  }
  return b!;
}

/** A table row per event: mean = wall time per event, rate = events per second, against `base`'s mean. */
export function perEventRow(name: string, unit: string, s: WindowSample, base?: WindowSample): CaseResult {
  const meanMs = s.ms / s.n;
  return {
    name,
    hz: 1000 / meanMs,
    meanMs,
    rme: 0,
    samples: SAMPLES,
    rate: (s.n * 1000) / s.ms,
    unit,
    vsBaseline: base === undefined ? undefined : meanMs / (base.ms / base.n),
  };
}
