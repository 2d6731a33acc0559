import { readFileSync } from 'node:fs';
import { parseArgs } from './cli.ts';
import { Machine } from './machine.ts';
import { DEFAULT_GUEST } from './main.ts';
import { type RunResult, VmRunner } from './vm-runner.ts';

export interface Booted {
  machine: Machine;
  result: RunResult;
  output: string;
}

/**
 * Boot a VM in this process, as `bash scripts/vm.sh <argv>` would, with a
 * scripted console: each step waits for `expect` to appear in the output
 * after the previous step's match, then types `send`. Resolves when the
 * guest ends the run.
 */
export interface ScriptStep {
  expect: string;
  /** What to type; a function gets the output so far (to use an address the guest printed). */
  send: string | ((output: string) => string);
}

export async function boot(
  argv: string[],
  script: ScriptStep[] = [],
  /** Called with each step's index and the time (performance.now()) its `expect` appeared. */
  onStep: (step: number, at: number) => void = () => {},
): Promise<Booted> {
  const opts = parseArgs(argv);
  const path = opts.kernel ?? DEFAULT_GUEST;
  let output = '';
  let consumed = 0;
  /** Output already searched for the current step's `expect` (the runner calls back often). */
  let searched = 0;
  let step = 0;
  const machine = await Machine.create(opts, path, readFileSync(path), (b) => {
    output += String.fromCharCode(b);
  });
  const runner: VmRunner = new VmRunner(machine, () => {
    while (step < script.length) {
      const expect = script[step]!.expect;
      const at = output.indexOf(expect, Math.max(consumed, searched - expect.length + 1));
      if (at < 0) {
        searched = output.length;
        break;
      }
      consumed = at + expect.length;
      searched = consumed;
      onStep(step, performance.now());
      const send = script[step]!.send;
      runner.feed([...Buffer.from(typeof send === 'string' ? send : send(output))]);
      step++;
    }
  });
  if (script.length === 0) runner.markInputEnded();
  const result = await runner.run();
  return { machine, result, output };
}
