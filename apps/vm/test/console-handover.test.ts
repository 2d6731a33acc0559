import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Arm64Runner } from '../src/arm64/runner.ts';
import { parseArgs } from '../src/cli.ts';
import { EXIT_USER_QUIT } from '../src/config-error.ts';
import { Machine } from '../src/machine.ts';
import { nodeVmHost } from '../src/node-host.ts';
import { VmRunner } from '../src/vm-runner.ts';
import { psciMachine } from './arm64-psci-machine.ts';
import { hostileGuest } from './hostile-guest-run.ts';

const turn = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * A guest's console output reaches the host (the runner's onSlice, where
 * main.ts writes stdout and the web worker posts it) soon after the guest
 * writes it, as QEMU's chardev writes each byte at once: not only at the end
 * of the 20 ms slice, and never held while the VMM waits for input.
 */
describe('console hand-over', () => {
  it('a guest that prints and then halts with nothing to wake it has its output handed over before the VMM waits', async () => {
    const path = hostileGuest('wfi');
    let output = '';
    let handed = '';
    const m = await Machine.create(parseArgs(['--kernel', path]), path, readFileSync(path), (b) => {
      output += String.fromCharCode(b);
    });
    const runner = new VmRunner(m, () => {
      handed = output;
    });
    // Console input open (a terminal): the runner waits for it once every vCPU is halted.
    const done = runner.run();
    while (!output.includes('waiting for nothing\n')) await turn();
    // The runner only gives the event loop back between slices or when it waits; two turns
    // later it is waiting for input (the guest cannot run again).
    await turn();
    await turn();
    expect(handed).toContain('hostile wfi: waiting for nothing\n');
    runner.requestQuit();
    expect((await done).status).toBe(EXIT_USER_QUIT);
  });

  it('output written in the middle of a slice is handed over before the slice ends', async () => {
    const path = hostileGuest('spin');
    let output = '';
    let yields = 0;
    let handoversSinceYield = 0;
    let midSlice = '';
    // A short quantum, so the loop looks at the clock often while the guest spins.
    const m = await Machine.create(
      parseArgs(['--kernel', path, '--quantum', '1000']),
      path,
      readFileSync(path),
      (b) => {
        output += String.fromCharCode(b);
      },
      {
        ...nodeVmHost,
        yieldToHost: () => {
          yields++;
          handoversSinceYield = 0;
          if (yields >= 5) runner.requestQuit();
          return nodeVmHost.yieldToHost();
        },
      },
    );
    const runner: VmRunner = new VmRunner(m, () => {
      // The end of a slice hands over once, just before its yield; another hand-over in the
      // same slice is one the output asked for mid-slice.
      if (++handoversSinceYield === 2 && midSlice === '') midSlice = output;
    });
    runner.markInputEnded();
    expect((await runner.run()).status).toBe(EXIT_USER_QUIT);
    expect(output).toBe('hostile spin: spinning with interrupts off\n');
    // Some of it (the guest may still have been printing) reached the host mid-slice.
    expect(midSlice.length).toBeGreaterThan(0);
    expect(output.startsWith(midSlice)).toBe(true);
  });

  it('arm64: the PSCI 0.1 guest prints, its SYSTEM_OFF returns, it halts: its last line is handed over before the VMM waits', async () => {
    let output = '';
    let handed = '';
    const m = psciMachine(0x1n, false, (b) => {
      output += String.fromCharCode(b);
    });
    const runner = new Arm64Runner(m, () => {
      handed = output;
    });
    const done = runner.run();
    while (!output.includes('SYSTEM_OFF returned')) await turn();
    await turn();
    await turn();
    expect(m.consoleBytes).toBe(output.length);
    expect(handed).toBe(output);
    expect(handed).toContain('SYSTEM_OFF returned: 0xffffffffffffffff\n');
    runner.requestQuit();
    expect((await done).status).toBe(EXIT_USER_QUIT);
  });
});
