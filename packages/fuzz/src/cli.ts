import { parseArgs } from 'node:util';
import { runFuzz } from './harness.ts';
import { formatReports } from './report.ts';
import { FUZZ_TARGETS } from './targets/index.ts';

const USAGE = `usage: pnpm fuzz [--calls N] [--seeds 1,2,3] [--target NAME]...
  --calls N     calls per target and seed (default 100000)
  --seeds LIST  comma-separated u32 seeds (default 1)
  --target NAME run only this target (repeatable): ${FUZZ_TARGETS.map((t) => t.name).join(', ')}
Exit status: 0 no break, 1 an invariant broke, 2 bad usage.`;

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function main(): number {
  let values: ReturnType<typeof parse>['values'];
  function parse() {
    return parseArgs({
      options: {
        calls: { type: 'string', default: '100000' },
        seeds: { type: 'string', default: '1' },
        target: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  }
  try {
    values = parse().values;
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const calls = Number(values.calls);
  if (!Number.isSafeInteger(calls) || calls <= 0) usage(`--calls ${values.calls}: not a positive integer`);
  const seeds = values.seeds!.split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s) || s < 0 || s > 0xffff_ffff))
    usage(`--seeds ${values.seeds}: not u32 seeds`);
  const names = values.target ?? FUZZ_TARGETS.map((t) => t.name);
  const targets = names.map((n) => FUZZ_TARGETS.find((t) => t.name === n) ?? usage(`unknown target ${n}`));
  const reports = [];
  for (const t of targets) {
    for (const seed of seeds) {
      const t0 = performance.now();
      const r = runFuzz(t, { seed, calls });
      process.stderr.write(
        `fuzz: ${t.name} seed ${seed}: ${r.calls} calls in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
      );
      reports.push(r);
    }
  }
  process.stdout.write(`${formatReports(reports)}\n`);
  return reports.some((r) => r.breaks.length > 0) ? 1 : 0;
}

process.exitCode = main();
