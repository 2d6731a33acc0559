import { fileURLToPath } from 'node:url';
import { mainArm64 } from './arm64/main.ts';
import { parseArgs, vmVersion } from './cli.ts';
import {
  EXIT_BAD_CONFIG,
  EXIT_SHUTDOWN,
  EXIT_STDOUT_CLOSED,
  EXIT_VM_ERROR,
  VmConfigError,
} from './config-error.ts';
import { TerminalConsole } from './console.ts';
import { readKernelFile } from './kernel-file.ts';
import { Machine } from './machine.ts';
import { loadIncoming, readIncoming } from './migration/incoming.ts';
import { IncomingAborted, receiveIncoming } from './migration/incoming-socket.ts';
import { IncomingMigrationState } from './migration/incoming-state.ts';
import { type QmpHandle, startQmp } from './qmp/vmm.ts';
import { deviceReports, formatDevice, summaryJson } from './run-report.ts';
import { checkPngTarget, writePng } from './screenshot.ts';
import { formatSummary, VmRunner } from './vm-runner.ts';

/** The built-in guest booted when no --kernel is given. */
export const DEFAULT_GUEST = fileURLToPath(new URL('../guest/default/default.bin', import.meta.url));

export async function main(argv: string[]): Promise<number> {
  const out = process.stdout;
  // stdout closed early (`| head -1`, EPIPE) or failing: stop the VM and exit quietly, no stack trace.
  let stdoutClosed = false;
  let runner: VmRunner | undefined;
  const onOutError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && !stdoutClosed) process.stderr.write(`vm: stdout: ${e.message}\n`);
    stdoutClosed = true;
    runner?.requestQuit();
  };
  out.on('error', onOutError);
  const opts = parseArgs(argv);
  // The arm64 board has its own machine and loop (src/arm64); the riscv64 path below is unchanged.
  if (opts.arch === 'arm64') return mainArm64(opts, out, () => stdoutClosed);
  // The riscv64 board has no flash to execute firmware from: U-Boot or OpenSBI's payload is --kernel.
  if (opts.bios !== undefined)
    throw new VmConfigError('--bios is for --arch arm64; a riscv64 firmware is --kernel');
  const kernelPath = opts.kernel ?? DEFAULT_GUEST;
  // Refuse an unwritable screenshot before the guest runs, not after it.
  if (opts.screenshot) checkPngTarget('--screenshot', opts.screenshot);
  // A snapshot is checked whole before anything is built (exit 2 and one line if it cannot be honoured).
  const restored = opts.restore !== undefined ? readIncoming(opts) : undefined;
  let pending: number[] = [];
  const flush = () => {
    if (pending.length && !stdoutClosed) out.write(Uint8Array.from(pending));
    pending = [];
  };
  const build = (kernelBytes: Uint8Array) =>
    Machine.create(opts, kernelPath, kernelBytes, (b) => {
      pending.push(b);
      if (b === 0x0a || pending.length >= 256) flush();
    });
  let machine: Machine;
  let startPaused = false;
  let qmp: QmpHandle | undefined;
  if (opts.incoming !== undefined) {
    // A destination's QMP answers while it waits (QEMU's `inmigrate`): query-status, query-migrate,
    // stop/cont (whether it runs once loaded), quit (no VM, exit 0).
    const incoming = new IncomingMigrationState(opts.incoming);
    const abort = new AbortController();
    if (opts.qmp)
      qmp = await startQmp(opts.qmp, { incoming, onQuit: () => abort.abort(), progress: !!opts.progress });
    // A live migration's destination builds the VM before it listens, checks the configuration
    // section, loads RAM as it comes, and the device state after the end marker (never run before).
    let live: Awaited<ReturnType<typeof receiveIncoming>>;
    try {
      live = await receiveIncoming(
        opts,
        // The waiting notice is for a person at a terminal; a refusal stays the only line otherwise.
        (line) => {
          if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
        },
        () => build(new Uint8Array(0)),
        qmp ? { state: incoming, signal: abort.signal } : undefined,
      );
    } catch (e) {
      await qmp?.close();
      if (e instanceof IncomingAborted) return EXIT_SHUTDOWN;
      throw e;
    }
    machine = live.machine;
    // A VM saved while paused is restored paused when QMP can resume it (QEMU's globalstate); without
    // QMP it runs. `stop` while inmigrate keeps it paused too (QEMU's autostart).
    startPaused = (live.runState === 'paused' || !incoming.autostart) && !!opts.qmp;
    // Loaded: the source may now stay stopped for good (without this it runs on, its migration failed).
    live.acknowledge();
  } else {
    machine = await build(restored ? new Uint8Array(0) : readKernelFile(kernelPath, opts.mem));
    startPaused =
      restored !== undefined && loadIncoming(machine, restored).runState === 'paused' && !!opts.qmp;
  }
  let shotFailed = false;
  const screenshot = () => {
    const img = machine.display();
    if (!img || shotFailed) return img !== undefined;
    try {
      writePng(opts.screenshot!, img);
    } catch (e) {
      // Late (the disk filled, the directory went away): say so once, keep the guest's status.
      shotFailed = true;
      process.stderr.write(`vm: --screenshot ${opts.screenshot}: ${(e as Error).message}\n`);
    }
    return true;
  };
  let lastShot = performance.now();
  runner = new VmRunner(machine, () => {
    flush();
    if (
      opts.screenshot &&
      opts.screenshotEvery &&
      performance.now() - lastShot >= opts.screenshotEvery * 1000
    ) {
      lastShot = performance.now();
      screenshot();
    }
  });
  if (startPaused) runner.pause();
  if (qmp) qmp.attach(machine, runner, startPaused ? 'paused' : 'running');
  else if (opts.qmp)
    qmp = await startQmp(opts.qmp, { machine, runner, initial: startPaused ? 'paused' : 'running' });
  const term = new TerminalConsole(
    process.stdin,
    out,
    (bytes) => runner.feed(bytes),
    () => runner.requestQuit(),
  );
  process.stdin.on('end', () => runner.markInputEnded());
  term.start();
  // Each device's UUID before the guest runs: what `tsvirt-mdev list` and the JSON summary name it by.
  const devices = deviceReports(machine.passthrough);
  if (opts.summary) for (const d of devices) process.stderr.write(`${formatDevice(d)}\n`);
  let result: Awaited<ReturnType<VmRunner['run']>>;
  try {
    result = await runner.run();
    if (qmp) result = qmp.vmEnded(result);
  } finally {
    flush();
    term.stop();
    await qmp?.close();
  }
  if (stdoutClosed) result = { ...result, status: EXIT_STDOUT_CLOSED, reason: 'stdout was closed' };
  if (opts.screenshot && !screenshot())
    process.stderr.write(`vm: --screenshot: the display was never enabled; ${opts.screenshot} not written\n`);
  if (opts.json) process.stderr.write(`${summaryJson(result, devices, vmVersion())}\n`);
  else if (opts.summary) process.stderr.write(`${formatSummary(result)}\n`);
  else if (result.status !== 0) process.stderr.write(`vm: ${result.reason}\n`);
  return result.status;
}

/**
 * Exit once stdout and stderr have handed their last bytes to the OS: writes to
 * a pipe are asynchronous in Node, so process.exit() at once drops what a slow
 * reader has not taken yet (the guest's last console lines, the summary).
 */
export function exitAfterOutput(status: number): void {
  let open = 2;
  const done = () => {
    if (--open === 0) process.exit(status);
  };
  for (const s of [process.stdout, process.stderr])
    if (s.destroyed || !s.writable) done();
    else s.write('', done);
}

/** Run the VMM as a command (src/main.ts or the `tsvirt-vm` bin) and exit with its status. */
export function runVmCommand(argv: string[]): void {
  main(argv).then(
    (status) => exitAfterOutput(status),
    (e: unknown) => {
      const err = e as { code?: string; message?: string };
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
        return exitAfterOutput(0);
      if (e instanceof VmConfigError) {
        process.stderr.write(`vm: ${e.message}\n`);
        return exitAfterOutput(EXIT_BAD_CONFIG);
      }
      process.stderr.write(`vm: internal error: ${err.message ?? String(e)}\n`);
      exitAfterOutput(EXIT_VM_ERROR);
    },
  );
}

const isEntry = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntry) runVmCommand(process.argv.slice(2));
