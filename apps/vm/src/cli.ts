import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import {
  EXIT_BAD_CONFIG,
  EXIT_GUEST_FAILURE,
  EXIT_GUEST_RESET,
  EXIT_SHUTDOWN,
  EXIT_STDOUT_CLOSED,
  EXIT_USER_QUIT,
  EXIT_VM_ERROR,
  VmConfigError,
} from './config-error.ts';
import { configFileArgs } from './config-file.ts';
import { parseMdevSpec } from './mdev-spec.ts';
import { parseMigrationAddress } from './migration/address.ts';
import { parseQmpAddress, type QmpAddress } from './qmp/address.ts';
import { parseMemSize } from './size.ts';

export interface VmOptions {
  /** Guest RAM bytes. */
  mem: number;
  cpus: number;
  /** Kernel/firmware image; undefined = the built-in default guest. */
  kernel: string | undefined;
  /** --mdev values in slot order: `TYPE[,uuid=UUID]` or the UUID of a tsvirt-mdev device (checked by parseMdevSpec). */
  mdev: string[];
  /** Plugin module files to load before creating mdevs. */
  plugin: string[];
  append: string | undefined;
  /** An initrd / initramfs image, placed in RAM as QEMU does and named in /chosen. */
  initrd: string | undefined;
  screenshot: string | undefined;
  screenshotEvery: number | undefined;
  /** Instructions each vCPU runs before the next one is scheduled. */
  quantum: number;
  /** The CPU's block compiler: off (`--no-jit`), or the visits before a block is compiled. */
  jit: boolean;
  jitThreshold: number | undefined;
  /** What blocks compile to (`--jit-tier`): WebAssembly (default) or JavaScript functions. */
  jitTier?: JitTier;
  summary: boolean;
  /** Where the QMP control socket listens (`--qmp`), if anywhere. */
  qmp: QmpAddress | undefined;
  /** A snapshot to resume from (`--restore PATH`, or QEMU's `--incoming file:PATH`). */
  restore?: string | undefined;
  /** Wait for a live migration stream here (`--incoming tcp:127.0.0.1:PORT` or `unix:PATH`). */
  incoming?: QmpAddress | undefined;
  /** Show an outgoing migration's progress on stderr (`--progress`). */
  progress?: boolean;
  // --- VM-user flags (issue 18) ---
  /** Print the exit summary as one JSON line (`--json`). */
  json: boolean;
  /** The interrupt controller (`--irqchip`): the VMM's PLIC (default) or KVM's AIA. */
  irqchip?: 'plic' | 'aia';
  /** The guest architecture (`--arch`): riscv64 (default) or arm64, the board under src/arm64. */
  arch?: GuestArch;
  /** Firmware for flash at 0 (`--bios`, as QEMU's -bios); arm64 only. */
  bios?: string | undefined;
}

/** The boards this VMM builds. */
export type GuestArch = 'riscv64' | 'arm64';

export const DEFAULT_MDEV_TYPE = 'sample_gpu-small';
export const MAX_CPUS = 8;

function intArg(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

const collect = (v: string, prev: string[]) => [...prev, v];

const EXIT_STATUS_HELP = `
Exit status:
  ${EXIT_SHUTDOWN}    the guest shut down (SBI SRST) with no failure reason
  ${EXIT_GUEST_FAILURE}    the guest shut down reporting a system failure
  ${EXIT_BAD_CONFIG}    bad configuration (a flag, --mem, a kernel file, --screenshot, an mdev type, a plugin,
       a --restore or --incoming stream that does not fit or is cut short),
       refused before the guest runs with a one-line reason
  ${EXIT_VM_ERROR}    a VM or CPU error (KVM_RUN failed because of the guest, a KVM internal error,
       every vCPU halted for good)
  ${EXIT_GUEST_RESET}    the guest asked for a reboot (not performed)
  ${EXIT_USER_QUIT}  quit from the console with Ctrl-A x
  ${EXIT_STDOUT_CLOSED}  stdout was closed (e.g. piped into head): the VM is stopped

Console: the terminal in raw mode (or a pipe/file when not a TTY).
  Ctrl-A x quits, Ctrl-A h shows help, Ctrl-A Ctrl-A sends Ctrl-A.
`;

/** Parse argv (without node and script) into options; throws VmConfigError on a bad flag. */
export function parseArgs(
  argv: readonly string[],
  out: { write: (s: string) => void } = process.stdout,
): VmOptions {
  const program = new Command('tsvirt-vm')
    .description('Boot a RISC-V guest on KVM (emulated) with mediated PCI devices passed through VFIO.')
    .option('-m, --mem <size>', 'guest RAM, e.g. 256M or 1G (bare numbers are MiB)', '256M')
    .option('-c, --cpus <n>', `number of vCPUs (1-${MAX_CPUS})`, intArg('--cpus', 1, MAX_CPUS), 2)
    .option(
      '-k, --kernel <file>',
      'kernel or firmware: a RISC-V ELF (loaded at its addresses) or a flat binary (at 0x80200000); default: the built-in guest',
    )
    .option(
      '--mdev <type[,uuid=UUID]|UUID>',
      `create an mdev of this type (with this UUID, else a random one), or the tsvirt-mdev device UUID, and pass it through (repeatable; default ${DEFAULT_MDEV_TYPE})`,
      collect,
      [],
    )
    .option('--plugin <path>', 'load a vendor mdev driver module from a file (repeatable)', collect, [])
    .option('--append <bootargs>', 'kernel command line, placed in /chosen/bootargs')
    .option(
      '--initrd <file>',
      'initrd or initramfs: placed in RAM as QEMU does, its range in /chosen (linux,initrd-start/end)',
    )
    .option('--screenshot <file.png>', "write the GPU's display to a PNG at shutdown")
    .option('--screenshot-every <seconds>', 'also write the screenshot every N seconds', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new InvalidArgumentError('--screenshot-every must be a positive number of seconds');
      return n;
    })
    .option(
      '--quantum <instructions>',
      'round-robin period in instructions, shared among the runnable vCPUs (deterministic)',
      intArg('--quantum', 1000, 1e9),
      50_000,
    )
    .option('--no-jit', 'interpret every instruction (no block compiler)')
    .option(
      '--jit-threshold <visits>',
      'times a block is reached before it is compiled (default: 1024, then 8192 once a vCPU has 512 blocks; 65535 with --jit-tier js)',
      intArg('--jit-threshold', 1, 65535),
    )
    .option(
      '--jit-tier <tier>',
      'what blocks compile to: wasm (default; guest RAM in a WebAssembly memory) or js (JavaScript functions)',
      (v) => {
        if (v !== 'js' && v !== 'wasm') throw new InvalidArgumentError('--jit-tier must be js or wasm');
        return v;
      },
    )
    .option('--no-summary', 'do not print the devices at start nor the run summary on exit')
    .option(
      '--qmp <address>',
      'serve QMP (QEMU Machine Protocol) on unix:PATH or tcp:127.0.0.1:PORT; its quit exits 0',
      (v) => {
        try {
          return parseQmpAddress(v);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      },
    )
    .option(
      '--restore <file>',
      'resume the VM saved in this snapshot (QMP migrate "file:PATH"); --mem, --cpus and --mdev must match it',
    )
    .option(
      '--incoming <uri>',
      'resume from file:PATH (as --restore), or wait for a live migration on tcp:127.0.0.1:PORT or unix:PATH',
      (v): { file: string } | QmpAddress => {
        if (v.startsWith('file:')) {
          if (v.length === 5) throw new InvalidArgumentError('file: needs a path');
          return { file: v.slice(5) };
        }
        try {
          return parseMigrationAddress(v);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      },
    )
    .option('--progress', "show an outgoing live migration's progress on stderr (QMP migrate tcp:/unix:)")
    // --- VM-user flags (issue 18): grouped so other flags merge around them ---
    .option(
      '--irqchip <plic|aia>',
      "interrupt controller: 'plic' (in the VMM; device INTx relayed by the VMM) or 'aia' (APLIC + IMSIC in KVM, as QEMU's virt,aia=aplic-imsic; device MSIs bypass the VMM)",
      (v: string) => {
        if (v !== 'plic' && v !== 'aia') throw new InvalidArgumentError("--irqchip is 'plic' or 'aia'");
        return v;
      },
      'plic',
    )
    .option('--arch <arch>', 'guest architecture: riscv64 or arm64 (a QEMU virt-like arm64 board)', (v) => {
      if (v !== 'riscv64' && v !== 'arm64') throw new InvalidArgumentError('--arch must be riscv64 or arm64');
      return v;
    })
    .option(
      '--bios <file>',
      'arm64: firmware for the flash at 0, entered at reset (as QEMU -bios u-boot.bin)',
    )
    .option('--json', 'print the exit summary as one JSON line on stderr (status, reason, exits, devices...)')
    .option(
      '--config <file>',
      'the machine from a JSON file whose keys are these flags (see README); no other flag with it',
    )
    .version(vmVersion(), '-V, --version', 'print the version and exit')
    .addHelpText('after', EXIT_STATUS_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.write(s),
      writeErr: () => {},
    })
    .allowExcessArguments(false);
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') throw e;
    throw new VmConfigError((err.message ?? String(e)).replace(/^error: /, ''));
  }
  const o = program.opts();
  if (o.config !== undefined) return fromConfigFile(program, o.config, out);
  for (const m of o.mdev as string[]) parseMdevSpec(m);
  if (o.screenshotEvery !== undefined && o.screenshot === undefined) {
    throw new VmConfigError('--screenshot-every needs --screenshot <file.png>');
  }
  if (o.restore !== undefined && o.incoming !== undefined)
    throw new VmConfigError('--restore and --incoming name the same thing; give one');
  return {
    restore: o.restore ?? (o.incoming !== undefined && 'file' in o.incoming ? o.incoming.file : undefined),
    ...(o.incoming !== undefined && !('file' in o.incoming) ? { incoming: o.incoming } : {}),
    ...(o.progress === true ? { progress: true } : {}),
    mem: parseMemSize(o.mem),
    cpus: o.cpus,
    kernel: o.kernel,
    mdev: o.mdev.length ? o.mdev : [DEFAULT_MDEV_TYPE],
    plugin: o.plugin,
    append: o.append,
    initrd: o.initrd,
    screenshot: o.screenshot,
    screenshotEvery: o.screenshotEvery,
    quantum: o.quantum,
    jit: o.jit,
    jitThreshold: o.jitThreshold,
    ...(o.jitTier !== undefined ? { jitTier: o.jitTier as JitTier } : {}),
    summary: o.summary,
    qmp: o.qmp,
    json: o.json === true,
    irqchip: o.irqchip,
    ...(o.arch !== undefined ? { arch: o.arch as GuestArch } : {}),
    ...(o.bios !== undefined ? { bios: o.bios as string } : {}),
  };
}

/** The block compiler's target (HartOptions.arena decides it). */
export type JitTier = 'js' | 'wasm';

/** The package's version, for --version and the JSON summary. */
export function vmVersion(): string {
  return (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
}

/**
 * `--config FILE`: the file's keys become flags parsed as if typed, so a
 * value is checked exactly as its flag is. Any other flag beside --config is
 * refused, not merged: which would win is then never a question.
 */
function fromConfigFile(program: Command, file: string, out: { write: (s: string) => void }): VmOptions {
  for (const opt of program.options) {
    const key = opt.attributeName();
    if (key !== 'config' && program.getOptionValueSource(key) === 'cli')
      throw new VmConfigError(`--config ${file}: ${opt.long} given too; put it in the file or drop --config`);
  }
  const args = configFileArgs(file);
  try {
    return parseArgs(args, out);
  } catch (e) {
    if (e instanceof VmConfigError) throw new VmConfigError(`--config ${file}: ${e.message}`);
    throw e;
  }
}
