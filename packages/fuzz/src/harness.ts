import { KernelError } from '@tsvirt/core-bus';
import { Rng } from './rng.ts';

/** One kind of call a target can make, with random arguments drawn from the rng. */
export interface FuzzOp {
  name: string;
  /** Relative frequency (default 1). */
  weight?: number;
  run(rng: Rng): void;
}

/**
 * One episode against a package: a fresh set of objects, the calls that can
 * be made on them, and the observers that check them. The harness owns the
 * order; the target knows the package.
 */
export interface FuzzTarget {
  readonly ops: readonly FuzzOp[];
  /** Everything a failing call must leave unchanged, as a canonical string. */
  snapshot(): string;
  /** Invariants that must hold after every call; each broken one is a line. */
  invariants(): string[];
  /** Release everything in a random order (closing files, removing devices, unmapping). */
  teardown(rng: Rng): void;
  /** After teardown: what is still pinned, charged, referenced or listening; each is a line. */
  leaks(): string[];
}

export interface FuzzTargetFactory {
  name: string;
  create(rng: Rng): FuzzTarget;
}

export type BreakKind = 'host-exception' | 'changed-on-failure' | 'invariant' | 'leak' | 'teardown-exception';

/** An invariant break, with what is needed to replay it: the seed and the call number. */
export interface FuzzBreak {
  target: string;
  seed: number;
  call: number;
  op: string;
  kind: BreakKind;
  detail: string;
}

export interface FuzzReport {
  target: string;
  seed: number;
  calls: number;
  /** Calls that failed with a KernelError (the expected kind of failure), by errno name. */
  errnos: Map<string, number>;
  episodes: number;
  breaks: FuzzBreak[];
}

export interface FuzzOptions {
  seed: number;
  calls: number;
  /** Calls per episode before a random-order teardown and a fresh target (default 2000). */
  episode?: number;
  /** Stop after this many breaks (default 20): one bug tends to repeat. */
  maxBreaks?: number;
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** The first line that differs between two snapshots, for a readable report. */
export function firstDifference(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}: before ${a[i] ?? '(none)'} | after ${b[i] ?? '(none)'}`;
  }
  return 'no difference';
}

function pickOp(rng: Rng, ops: readonly FuzzOp[], total: number): FuzzOp {
  let r = rng.below(total);
  for (const op of ops) {
    r -= op.weight ?? 1;
    if (r < 0) return op;
  }
  return ops[ops.length - 1]!;
}

/**
 * Runs `calls` random calls against fresh targets in episodes. After every
 * call: a host exception (anything but a KernelError) is a break; a call
 * that failed with a KernelError must have left the snapshot unchanged; the
 * invariants must hold. Each episode ends with a random-order teardown after
 * which nothing may be left pinned, charged, referenced or listening.
 */
export function runFuzz(factory: FuzzTargetFactory, opts: FuzzOptions): FuzzReport {
  const rng = new Rng(opts.seed);
  const episodeLen = opts.episode ?? 2000;
  const maxBreaks = opts.maxBreaks ?? 20;
  const report: FuzzReport = {
    target: factory.name,
    seed: opts.seed,
    calls: 0,
    errnos: new Map(),
    episodes: 0,
    breaks: [],
  };
  const brk = (call: number, op: string, kind: BreakKind, detail: string) =>
    report.breaks.push({ target: factory.name, seed: opts.seed, call, op, kind, detail });

  while (report.calls < opts.calls && report.breaks.length < maxBreaks) {
    report.episodes++;
    const target = factory.create(rng);
    const total = target.ops.reduce((s, op) => s + (op.weight ?? 1), 0);
    const end = Math.min(opts.calls, report.calls + episodeLen);
    let lastOp = '(none)';
    for (; report.calls < end && report.breaks.length < maxBreaks; report.calls++) {
      const op = pickOp(rng, target.ops, total);
      lastOp = op.name;
      const before = target.snapshot();
      try {
        op.run(rng);
      } catch (e) {
        if (!(e instanceof KernelError)) {
          brk(report.calls, op.name, 'host-exception', describe(e));
          continue;
        }
        report.errnos.set(e.code, (report.errnos.get(e.code) ?? 0) + 1);
        const after = target.snapshot();
        if (after !== before) {
          brk(report.calls, op.name, 'changed-on-failure', `${e.code}: ${firstDifference(before, after)}`);
        }
      }
      for (const line of target.invariants()) brk(report.calls, op.name, 'invariant', line);
    }
    try {
      target.teardown(rng);
    } catch (e) {
      brk(report.calls, `teardown after ${lastOp}`, 'teardown-exception', describe(e));
      continue;
    }
    for (const line of target.leaks()) brk(report.calls, 'teardown', 'leak', line);
  }
  return report;
}
