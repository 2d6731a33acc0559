import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sampleGpuOf } from '@tsvirt/sample-vendor-gpu';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { EXIT_USER_QUIT } from '../src/config-error.ts';
import { Machine } from '../src/machine.ts';
import { VmRunner } from '../src/vm-runner.ts';

/** A guest that queues 4 GiB of GPU copies with one doorbell, then polls ENGINE_STATUS (guest/gpu-hog). */
const HOG = fileURLToPath(new URL('../guest/gpu-hog/gpu-hog.bin', import.meta.url));

/** The bound the issue sets for the console's answer, whatever the guest does. */
const CONSOLE_BOUND_MS = 100;

/**
 * Time between two points, as wall time and as this process's CPU time;
 * the smaller is what the VMM itself spent without yielding (on a loaded
 * machine the wall clock also counts time the process was not scheduled,
 * and the CPU clock counts GC helper threads beside it; neither inflates
 * both at once).
 */
function stopwatch() {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(cpu);
    return Math.min(performance.now() - wall, (c.user + c.system) / 1000);
  };
}

describe('a guest that keeps the GPU busy', () => {
  it('the event loop turns at least every 100 ms and Ctrl-A x (requestQuit) is answered within 100 ms', async () => {
    let output = '';
    const opts = parseArgs(['--kernel', HOG, '--cpus', '1']);
    const machine = await Machine.create(opts, HOG, readFileSync(HOG), (b) => {
      output += String.fromCharCode(b);
    });
    const gpu = sampleGpuOf(machine.passthrough[0]!.mdev);
    const runner = new VmRunner(machine);

    // A chain of event-loop turns (as console input would arrive): the largest gap between two.
    let maxGap = 0;
    let turns = 0;
    let sinceLast = stopwatch();
    let sinceQuit: (() => number) | undefined;
    let busyAtQuit: boolean | undefined;
    let done = false;
    const tick = () => {
      if (done) return;
      maxGap = Math.max(maxGap, sinceLast());
      sinceLast = stopwatch();
      turns++;
      // Some turns after the doorbell, with the ring still running: the user types Ctrl-A x.
      if (sinceQuit === undefined && output.includes('gpu hog: ring submitted') && turns > 20) {
        busyAtQuit = gpu.dma.busy;
        sinceQuit = stopwatch();
        runner.requestQuit();
      }
      setImmediate(tick);
    };
    setImmediate(tick);
    const result = await runner.run();
    const quitLatency = sinceQuit?.();
    done = true;

    expect(result.status, result.reason).toBe(EXIT_USER_QUIT);
    expect(busyAtQuit).toBe(true);
    expect(output).not.toContain('ring done');
    expect(maxGap).toBeLessThan(CONSOLE_BOUND_MS);
    expect(quitLatency).toBeLessThan(CONSOLE_BOUND_MS);
    // The engine did run beside the vCPU meanwhile.
    expect(gpu.dma.bytes).toBeGreaterThan(0);
  }, 60_000);

  it('left alone, the ring finishes beside the polling vCPU and the guest shuts down cleanly', async () => {
    let output = '';
    const opts = parseArgs(['--kernel', HOG]);
    const machine = await Machine.create(opts, HOG, readFileSync(HOG), (b) => {
      output += String.fromCharCode(b);
    });
    const gpu = sampleGpuOf(machine.passthrough[0]!.mdev);
    const runner = new VmRunner(machine);
    runner.markInputEnded();
    const result = await runner.run();
    expect(result.status, `${result.reason}\n${output}`).toBe(0);
    expect(output).toContain('gpu hog: ring done');
    expect(gpu.dma.executed).toBe(1023);
    expect(result.stats.exits.get('mmio')).toBeGreaterThan(1023);
  }, 120_000);
});
