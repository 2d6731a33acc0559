import { readFileSync } from 'node:fs';
import type { VmOptions } from '../cli.ts';
import { EXIT_STDOUT_CLOSED, VmConfigError } from '../config-error.ts';
import { TerminalConsole } from '../console.ts';
import { Arm64Machine } from './machine.ts';
import { Arm64Runner } from './runner.ts';

/** Options the arm64 board does not have yet: refused in one line rather than ignored. */
const UNSUPPORTED: [keyof VmOptions, string][] = [
  ['initrd', '--initrd'],
  ['screenshot', '--screenshot'],
  ['qmp', '--qmp'],
  ['restore', '--restore'],
  ['incoming', '--incoming'],
];

function readFirmware(path: string, flag: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new VmConfigError(
      code === 'ENOENT' ? `${flag} ${path}: no such file` : `${flag} ${path}: ${(e as Error).message}`,
    );
  }
}

/**
 * `--arch arm64`: build the arm64 board with the firmware of --bios (or
 * --kernel, taken the same way: a flat image for the flash at 0), run it
 * with the console on stdin/stdout, and return the exit status.
 */
export async function mainArm64(
  opts: VmOptions,
  out: NodeJS.WriteStream,
  stdoutClosed: () => boolean,
): Promise<number> {
  for (const [key, flag] of UNSUPPORTED)
    if (opts[key] !== undefined && opts[key] !== false)
      throw new VmConfigError(`${flag} is not supported with --arch arm64`);
  if (opts.irqchip === 'aia')
    throw new VmConfigError(
      '--irqchip aia is not supported with --arch arm64 (its interrupt controller is a GICv2)',
    );
  const path = opts.bios ?? opts.kernel;
  if (path === undefined) throw new VmConfigError('--arch arm64 needs --bios (e.g. u-boot.bin) or --kernel');
  const flag = opts.bios !== undefined ? '--bios' : '--kernel';
  let pending: number[] = [];
  const flush = () => {
    if (pending.length && !stdoutClosed()) out.write(Uint8Array.from(pending));
    pending = [];
  };
  const machine = Arm64Machine.create(
    {
      mem: opts.mem,
      cpus: opts.cpus,
      bios: readFirmware(path, flag),
      mdev: opts.mdev,
      quantum: opts.quantum,
      ...(opts.append !== undefined ? { append: opts.append } : {}),
    },
    (b) => {
      pending.push(b);
      if (b === 0x0a || pending.length >= 256) flush();
    },
  );
  const runner = new Arm64Runner(machine, flush);
  const term = new TerminalConsole(
    process.stdin,
    out,
    (bytes) => runner.feed(bytes),
    () => runner.requestQuit(),
  );
  process.stdin.on('end', () => runner.markInputEnded());
  term.start();
  let result: Awaited<ReturnType<Arm64Runner['run']>>;
  try {
    result = await runner.run();
  } finally {
    flush();
    term.stop();
  }
  if (stdoutClosed()) return EXIT_STDOUT_CLOSED;
  if (opts.summary || result.status !== 0)
    process.stderr.write(`vm: ${result.reason} (status ${result.status})\n`);
  return result.status;
}
