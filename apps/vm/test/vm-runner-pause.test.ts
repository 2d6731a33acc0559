import { readFileSync } from 'node:fs';
import { vcpuInstructions } from '@tsvirt/kvm-riscv';
import { expect, it, vi } from 'vitest';
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

it("a live migration's hold keeps the vCPUs out until it settles; withdrawn, the loop runs as before", async () => {
  // A guest that never ends (`j .`), so the run is still going when the test quits it: the default
  // guest powers off on its own within the test's waits on a fast enough VMM.
  const spin = Uint8Array.of(0x6f, 0, 0, 0);
  const m = await Machine.create(parseArgs(['--cpus', '1']), 'spin.bin', spin, () => {});
  const runner = new VmRunner(m);
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let asked = 0;
  runner.shareWithMigration(() => {
    asked++;
    return asked === 1 ? held : undefined;
  });
  const done = runner.run();
  await new Promise((r) => setTimeout(r, 50));
  // Held before its first turn: no guest instruction has run.
  expect(asked).toBe(1);
  expect(vcpuInstructions(m.vcpus[0]!)).toBe(0);
  release();
  // Released: the guest runs, in short turns, the hold asked again before each (waited for, not
  // timed: a loaded machine may give the loop only a few turns in any fixed wait).
  await vi.waitFor(
    () => {
      expect(vcpuInstructions(m.vcpus[0]!)).toBeGreaterThan(0);
      expect(asked).toBeGreaterThan(2);
    },
    { timeout: 10_000, interval: 10 },
  );
  runner.shareWithMigration(undefined);
  const before = asked;
  await new Promise((r) => setTimeout(r, 50));
  expect(asked).toBe(before);
  runner.requestQuit();
  expect((await done).status).toBe(EXIT_USER_QUIT);
});
