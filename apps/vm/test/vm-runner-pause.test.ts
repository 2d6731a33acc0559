import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { EXIT_USER_QUIT } from '../src/config-error.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { VmRunner } from '../src/vm-runner.ts';

it('a paused loop hands over the console output first (what the guest printed before QMP stop is not held back)', async () => {
  const m = await Machine.create(
    parseArgs(['--cpus', '1']),
    DEFAULT_GUEST,
    readFileSync(DEFAULT_GUEST),
    () => {},
  );
  let flushes = 0;
  const runner = new VmRunner(m, () => {
    flushes++;
  });
  runner.pause();
  const done = runner.run();
  await new Promise((r) => setTimeout(r, 50));
  expect(runner.paused).toBe(true);
  // Parked before any guest instruction, after one hand-over of the console (onSlice).
  expect(flushes).toBe(1);
  runner.requestQuit();
  expect((await done).status).toBe(EXIT_USER_QUIT);
});
