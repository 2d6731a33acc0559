import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './cli.ts';
import { EXIT_BAD_CONFIG, EXIT_VM_ERROR, VmConfigError } from './config-error.ts';
import { TerminalConsole } from './console.ts';
import { Machine } from './machine.ts';
import { startQmp } from './qmp/vmm.ts';
import { writePng } from './screenshot.ts';
import { formatSummary, VmRunner } from './vm-runner.ts';

/** The built-in guest booted when no --kernel is given. */
export const DEFAULT_GUEST = fileURLToPath(new URL('../guest/default/default.bin', import.meta.url));

function readKernel(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new VmConfigError(
      code === 'ENOENT' ? `--kernel ${path}: no such file` : `--kernel ${path}: ${(e as Error).message}`,
    );
  }
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseArgs(argv);
  const kernelPath = opts.kernel ?? DEFAULT_GUEST;
  const out = process.stdout;
  let pending: number[] = [];
  const flush = () => {
    if (pending.length) out.write(Uint8Array.from(pending));
    pending = [];
  };
  const machine = await Machine.create(opts, kernelPath, readKernel(kernelPath), (b) => {
    pending.push(b);
    if (b === 0x0a || pending.length >= 256) flush();
  });
  let lastShot = performance.now();
  const runner = new VmRunner(machine, () => {
    flush();
    if (
      opts.screenshot &&
      opts.screenshotEvery &&
      performance.now() - lastShot >= opts.screenshotEvery * 1000
    ) {
      lastShot = performance.now();
      const img = machine.display();
      if (img) writePng(opts.screenshot, img);
    }
  });
  const qmp = opts.qmp ? await startQmp(opts.qmp, machine, runner) : undefined;
  const term = new TerminalConsole(
    process.stdin,
    out,
    (bytes) => runner.feed(bytes),
    () => runner.requestQuit(),
  );
  process.stdin.on('end', () => runner.markInputEnded());
  term.start();
  let result: Awaited<ReturnType<VmRunner['run']>>;
  try {
    result = await runner.run();
    if (qmp) result = qmp.vmEnded(result);
  } finally {
    flush();
    term.stop();
    await qmp?.close();
  }
  if (opts.screenshot) {
    const img = machine.display();
    if (img) writePng(opts.screenshot, img);
    else
      process.stderr.write(
        `vm: --screenshot: the display was never enabled; ${opts.screenshot} not written\n`,
      );
  }
  if (opts.summary) process.stderr.write(`${formatSummary(result)}\n`);
  else if (result.status !== 0) process.stderr.write(`vm: ${result.reason}\n`);
  return result.status;
}

const isEntry = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntry) {
  main(process.argv.slice(2)).then(
    (status) => process.exit(status),
    (e: unknown) => {
      const err = e as { code?: string; message?: string };
      if (err.code === 'commander.helpDisplayed') process.exit(0);
      if (e instanceof VmConfigError) {
        process.stderr.write(`vm: ${e.message}\n`);
        process.exit(EXIT_BAD_CONFIG);
      }
      process.stderr.write(`vm: internal error: ${err.message ?? String(e)}\n`);
      process.exit(EXIT_VM_ERROR);
    },
  );
}
