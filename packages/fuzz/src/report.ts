import type { FuzzReport } from './harness.ts';

/** One line per target and seed, then every break with what replays it. */
export function formatReports(reports: readonly FuzzReport[]): string {
  const rows = [['target', 'seed', 'calls', 'episodes', 'KernelError', 'breaks']];
  for (const r of reports) {
    const failed = [...r.errnos.values()].reduce((s, n) => s + n, 0);
    rows.push([
      r.target,
      String(r.seed),
      String(r.calls),
      String(r.episodes),
      String(failed),
      String(r.breaks.length),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
  );
  for (const r of reports) {
    for (const b of r.breaks) {
      lines.push(`BREAK ${b.target} seed ${b.seed} call ${b.call} ${b.op}: ${b.kind}: ${b.detail}`);
    }
  }
  const calls = reports.reduce((s, r) => s + r.calls, 0);
  const breaks = reports.reduce((s, r) => s + r.breaks.length, 0);
  lines.push(`fuzz: ${calls} calls, ${breaks} invariant breaks`);
  return lines.join('\n');
}
