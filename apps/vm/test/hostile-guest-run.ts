import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../src/cli.ts';
import { EXIT_VM_ERROR } from '../src/config-error.ts';
import { Machine } from '../src/machine.ts';
import { type RunResult, VmRunner } from '../src/vm-runner.ts';

/** A hostile guest's committed binary (apps/vm/guest/hostile/<name>.bin). */
export function hostileGuest(name: string): string {
  return fileURLToPath(new URL(`../guest/hostile/${name}.bin`, import.meta.url));
}

/**
 * Time between two points, as wall time and as this process's CPU time;
 * the smaller is what the VMM itself spent without yielding (on a loaded
 * machine the wall clock also counts time the process was not scheduled,
 * the CPU clock also counts GC threads beside it). As busy-device.test.ts.
 */
export function stopwatch(): () => number {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(cpu);
    return Math.min(performance.now() - wall, (c.user + c.system) / 1000);
  };
}

export interface GuestRun {
  /** The run's status and reason; a rejected run is what main.ts reports as "vm: internal error: ...". */
  status: number;
  reason: string;
  stats: RunResult['stats'] | undefined;
  output: string;
  /** The largest gap between two turns of Node's event loop while the VM ran (ms). */
  maxGap: number;
  /** From requestQuit() (Ctrl-A x) to the run's end (ms), when `quitWhen` fired. */
  quitLatency: number | undefined;
  machine: Machine;
}

export interface GuestRunOptions {
  /** VMM flags before --kernel is added. */
  argv?: string[];
  /** Type Ctrl-A x (requestQuit) at the first event-loop turn where this holds (given the turns so far). */
  quitWhen?: (output: string, turns: number) => boolean;
  /**
   * Type Ctrl-A x the moment the guest has printed this (as if the keystroke
   * arrived then): deterministic, however fast the guest runs. The wait for
   * the event-loop turn that delivers a real keystroke is `maxGap`.
   */
  quitOn?: string;
  /** Console input stays open (a terminal), so an idle guest waits for it instead of ending the run. */
  inputOpen?: boolean;
  /** A guest still running after this long (a hang) is quit, and the reason says so. Default 20 s. */
  deadlineMs?: number;
}

/**
 * Run a guest in this process as `scripts/vm.sh --kernel <guest>` would,
 * with console input at EOF, a chain of event-loop turns measuring the
 * longest gap between two (console input and Ctrl-A x are handled on
 * those turns), and optionally a Ctrl-A x part-way.
 */
export async function runGuest(name: string, o: GuestRunOptions = {}): Promise<GuestRun> {
  const path = hostileGuest(name);
  let output = '';
  let runner: VmRunner | undefined;
  let sinceQuit: (() => number) | undefined;
  const machine = await Machine.create(
    parseArgs(['--kernel', path, ...(o.argv ?? [])]),
    path,
    readFileSync(path),
    (b) => {
      output += String.fromCharCode(b);
      if (o.quitOn !== undefined && sinceQuit === undefined && output.endsWith(o.quitOn)) {
        sinceQuit = stopwatch();
        runner?.requestQuit();
      }
    },
  );
  runner = new VmRunner(machine);
  if (!o.inputOpen) runner.markInputEnded();
  let maxGap = 0;
  let turns = 0;
  let sinceLast = stopwatch();
  let done = false;
  let hung = false;
  const deadline = setTimeout(() => {
    hung = true;
    runner?.requestQuit();
  }, o.deadlineMs ?? 20_000);
  const tick = () => {
    if (done) return;
    maxGap = Math.max(maxGap, sinceLast());
    sinceLast = stopwatch();
    turns++;
    if (sinceQuit === undefined && o.quitWhen?.(output, turns)) {
      sinceQuit = stopwatch();
      runner?.requestQuit();
    }
    setImmediate(tick);
  };
  setImmediate(tick);
  let r: RunResult | undefined;
  let status: number;
  let reason: string;
  try {
    r = await runner.run();
    status = r.status;
    reason = r.reason;
  } catch (e) {
    // main.ts: a rejected run is "vm: internal error: <message>", status 3.
    status = EXIT_VM_ERROR;
    reason = `internal error: ${(e as Error).message ?? String(e)}`;
  }
  const quitLatency = sinceQuit?.();
  done = true;
  clearTimeout(deadline);
  if (hung) reason = `still running after ${o.deadlineMs ?? 20_000} ms: ${reason}`;
  maxGap = Math.max(maxGap, sinceLast());
  return { status, reason, stats: r?.stats, output, maxGap, quitLatency, machine };
}
