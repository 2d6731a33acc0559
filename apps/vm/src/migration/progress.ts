import cliProgress, { type SingleBar } from 'cli-progress';
import type { LiveMigration } from './live.ts';

/**
 * `--progress`: an outgoing live migration shown as a bar on stderr
 * (stdout is the guest's console), with the figures query-migrate gives:
 * bytes sent against guest RAM, the pass (dirty-sync-count) and what is
 * still dirty. Without a terminal it prints a line every second instead.
 */
export class MigrationProgress {
  private bar: SingleBar | undefined;
  private last = 0;

  constructor(private readonly stream: NodeJS.WritableStream = process.stderr) {}

  update(job: LiveMigration): void {
    const info = job.info();
    const ram = info.ram as { transferred: number; remaining: number; total: number } | undefined;
    const payload = {
      status: info.status,
      pass: job.passes,
      sentMiB: ((ram?.transferred ?? 0) / 2 ** 20).toFixed(1),
      remainingKiB: Math.round((ram?.remaining ?? 0) / 1024),
    };
    if (this.bar === undefined) {
      this.bar = new cliProgress.SingleBar(
        {
          format:
            'migration {status} [{bar}] {percentage}% | {sentMiB} MiB sent | pass {pass} | {remainingKiB} KiB dirty',
          stream: this.stream,
          noTTYOutput: true,
          notTTYSchedule: 1000,
          hideCursor: false,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(ram?.total ?? 1, 0, payload);
    }
    const now = performance.now();
    const done = !job.active;
    // A bar redraw per piece sent would cost more than the piece; a few a second is enough.
    if (!done && now - this.last < 100) return;
    this.last = now;
    this.bar.update(Math.min(ram?.transferred ?? 0, ram?.total ?? 0), payload);
    if (done) {
      this.bar.stop();
      this.stream.write(`vm: migration ${info.status}: ${summary(info)}\n`);
      this.bar = undefined;
    }
  }
}

/** One line of the final figures: passes, pages sent, downtime and total time. */
export function summary(info: Record<string, unknown>): string {
  const ram = info.ram as { normal: number; transferred: number; 'dirty-sync-count': number } | undefined;
  if (info.status === 'failed') return String(info['error-desc']);
  if (ram === undefined) return String(info.status);
  return [
    `${ram['dirty-sync-count']} passes`,
    `${ram.normal} pages sent (${(ram.transferred / 2 ** 20).toFixed(1)} MiB)`,
    ...(info.downtime !== undefined ? [`downtime ${info.downtime} ms`] : []),
    `total ${info['total-time']} ms`,
  ].join(', ');
}
