import { Bench } from 'tinybench';

/**
 * One benchmark case. `fn` is one iteration; `work` says how many units one
 * iteration does (lookups, instructions, bytes...), so the table can give a
 * figure in those units per second next to raw iterations per second.
 */
export interface BenchCase {
  name: string;
  fn: () => unknown;
  /** Units of work done by one call of `fn`, and their name ("lookups", "instr", "B"). */
  work?: { count: number; unit: string };
  /** Run before the timed iterations (not timed). */
  setup?: () => unknown;
  teardown?: () => unknown;
  /** Minimum iterations and minimum time (ms); heavy cases use few iterations. */
  iterations?: number;
  time?: number;
  /** Name of another case in the suite: the table gives this case's speed as a ratio of it. */
  baseline?: string;
}

export interface CaseResult {
  name: string;
  /** Iterations per second (mean throughput). */
  hz: number;
  /** Mean time of one iteration in ms. */
  meanMs: number;
  /** Relative margin of error, percent. */
  rme: number;
  samples: number;
  /** Work units per second, when `work` is given. */
  rate: number | undefined;
  unit: string | undefined;
  /** Ratio of this case's time to the baseline case's time (>1 = slower), when `baseline` is given. */
  vsBaseline: number | undefined;
}

export interface SuiteOptions {
  /** Override every case's time budget (ms), e.g. for a smoke run. */
  time?: number;
  iterations?: number;
  print?: (line: string) => void;
}

/** BENCH_QUICK=1 shortens every case: a smoke run that the tests use. */
const quick = process.env.BENCH_QUICK === '1';

export async function runSuite(
  title: string,
  cases: BenchCase[],
  opts: SuiteOptions = {},
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    await c.setup?.();
    const bench = new Bench({
      time: opts.time ?? (quick ? 10 : (c.time ?? 500)),
      iterations: opts.iterations ?? (quick ? 1 : (c.iterations ?? 10)),
      warmupIterations: quick ? 1 : Math.min(c.iterations ?? 5, 5),
      warmupTime: quick ? 0 : 100,
      throws: true,
    });
    bench.add(c.name, c.fn);
    await bench.run();
    await c.teardown?.();
    const r = bench.tasks[0]!.result!;
    const meanMs = r.latency.mean;
    const hz = 1000 / meanMs;
    results.push({
      name: c.name,
      hz,
      meanMs,
      rme: r.latency.rme,
      samples: r.latency.samples.length,
      rate: c.work ? c.work.count * hz : undefined,
      unit: c.work?.unit,
      vsBaseline: undefined,
    });
  }
  for (const [i, c] of cases.entries()) {
    if (c.baseline === undefined) continue;
    const base = results.find((r) => r.name === c.baseline);
    if (base === undefined)
      throw new Error(`bench ${c.name}: baseline ${c.baseline} is not in suite ${title}`);
    results[i]!.vsBaseline = results[i]!.meanMs / base.meanMs;
  }
  (opts.print ?? console.log)(formatTable(title, results));
  return results;
}

/** 1234567 -> "1.23 M"; keeps three significant digits. */
export function si(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, p] of units) if (Math.abs(n) >= scale) return `${(n / scale).toPrecision(3)} ${p}`;
  return `${n.toPrecision(3)} `;
}

function rateText(r: CaseResult): string {
  if (r.rate === undefined) return '';
  if (r.unit === 'B') return `${(r.rate / 2 ** 20).toFixed(1)} MiB/s`;
  return `${si(r.rate).trim()} ${r.unit}/s`;
}

function timeText(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  if (ms >= 1e-3) return `${(ms * 1e3).toFixed(2)} us`;
  return `${(ms * 1e6).toFixed(1)} ns`;
}

/**
 * A titled markdown table: the first column left-aligned, the others
 * right-aligned, each as wide as its widest cell. For suites whose figures
 * are not CaseResults (formatTable's rows are made here too).
 */
export function markdownTable(
  title: string,
  head: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [`\n## ${title}`, line(head), sep, ...rows.map(line)].join('\n');
}

export function formatTable(title: string, results: CaseResult[]): string {
  const head = ['case', 'iter/s', 'mean', '± %', 'n', 'rate', 'vs baseline'];
  const rows = results.map((r) => [
    r.name,
    si(r.hz).trim(),
    timeText(r.meanMs),
    r.rme.toFixed(1),
    String(r.samples),
    rateText(r),
    r.vsBaseline === undefined ? '' : `${r.vsBaseline.toFixed(2)}x time`,
  ]);
  return markdownTable(title, head, rows);
}
