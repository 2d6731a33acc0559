import { readFileSync } from 'node:fs';
import { KVM_EXIT_INTR, KVM_EXIT_MMIO } from '@tsvirt/kvm-core';
import { riscvVcpu, vcpuInstructions } from '@tsvirt/kvm-riscv';
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

it("a pause completes each vCPU's last exit: a UART store that exited is past its instruction, so saved state does not store it again", async () => {
  // lui t0, 0x10000 (the UART); li t1, 'A'; 1: sb t1, 0(t0); j 1b. Every store exits to the VMM.
  const words = [0x100002b7, 0x04100313, 0x00628023, 0xffdff06f];
  const code = new Uint8Array(Uint32Array.from(words).buffer);
  let printed = 0;
  const m = await Machine.create(parseArgs(['--cpus', '1']), 'store-loop.bin', code, () => {
    printed++;
  });
  const runner = new VmRunner(m);
  const done = runner.run();
  const v = m.vcpus[0]!;
  const hart = riscvVcpu(v).hart;
  const start = BigInt(m.kernel.entry); // where the raw image was loaded
  // Wait until the loop is between KVM_RUNs with the store's exit handled but not yet completed.
  await vi.waitFor(() => expect(v.run.exit_reason).toBe(KVM_EXIT_MMIO), { timeout: 5000, interval: 1 });
  expect(hart.pc).toBe(start + 8n); // at the sb: KVM completes an exit on the next KVM_RUN
  const before = printed;
  runner.pause();
  // Completed without running the guest: past the sb, at the j, and nothing more printed.
  expect(hart.pc).toBe(start + 12n);
  expect(v.run.exit_reason).toBe(KVM_EXIT_INTR);
  expect(printed).toBe(before);
  // Resumed, the loop goes on from there.
  runner.resume();
  await vi.waitFor(() => expect(printed).toBeGreaterThan(before + 10), { timeout: 5000 });
  runner.requestQuit();
  expect((await done).status).toBe(EXIT_USER_QUIT);
});
