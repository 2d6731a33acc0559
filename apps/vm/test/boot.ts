import { readFileSync } from 'node:fs';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { type RunResult, VmRunner } from '../src/vm-runner.ts';

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
export async function boot(argv: string[], script: { expect: string; send: string }[] = []): Promise<Booted> {
  const opts = parseArgs(argv);
  const path = opts.kernel ?? DEFAULT_GUEST;
  let output = '';
  let consumed = 0;
  let step = 0;
  const machine = await Machine.create(opts, path, readFileSync(path), (b) => {
    output += String.fromCharCode(b);
  });
  const runner: VmRunner = new VmRunner(machine, () => {
    while (step < script.length) {
      const at = output.indexOf(script[step]!.expect, consumed);
      if (at < 0) break;
      consumed = at + script[step]!.expect.length;
      runner.feed([...Buffer.from(script[step]!.send)]);
      step++;
    }
  });
  if (script.length === 0) runner.markInputEnded();
  const result = await runner.run();
  return { machine, result, output };
}
