import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Whole-process figures: the VMM started as a user starts it (the tsvirt-vm
// bin, i.e. apps/vm/dist/), its start time and its memory. The in-process
// cases in index.ts run the sources under this bench's tsx instead, which
// is right for guest run times but says nothing about a start.

const app = join(import.meta.dirname, '..');
const root = join(app, '..', '..');
export const VM_BIN = join(app, 'bin', 'tsvirt-vm.mjs');

/** Little-endian RV64 words into a flat binary. */
function flat(words: number[]): Uint8Array {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => {
    b.writeUInt32LE(w >>> 0, i * 4);
  });
  return b;
}

const dir = mkdtempSync(join(tmpdir(), 'vm-bench-'));

/**
 * An S-mode guest whose first instructions are SBI SRST shutdown
 * (a7 = "SRST", a6 = 0, a0 = a1 = 0, ecall): run time nil, so the
 * process's time is the VMM's start plus its exit.
 */
export const SRST_GUEST = join(dir, 'srst.bin');
writeFileSync(
  SRST_GUEST,
  flat([
    0x535258b7, // lui a7, 0x53525
    0x35488893, // addi a7, a7, 0x354
    0x00000813, // li a6, 0
    0x00000513, // li a0, 0
    0x00000593, // li a1, 0
    0x00000073, // ecall
    0x0000006f, // j .
  ]),
);

/**
 * The same for QEMU's virt with `-bios none` (M-mode at 0x80000000): write
 * FINISHER_PASS (0x5555) to the sifive_test device at 0x100000.
 */
export const QEMU_POWEROFF_GUEST = join(dir, 'qemu-poweroff.bin');
writeFileSync(
  QEMU_POWEROFF_GUEST,
  flat([
    0x001002b7, // lui t0, 0x100
    0x00005337, // lui t1, 0x5
    0x55530313, // addi t1, t1, 0x555
    0x0062a023, // sw t1, 0(t0)
    0x0000006f, // j .
  ]),
);

export interface ProcessRun {
  /** Spawn to exit, ms. */
  totalMs: number;
  status: number | null;
  /** The --json summary (the last stderr line), when asked for. */
  summary?: Record<string, unknown>;
  stderr: string;
}

/** Spawn `cmd args`, stdin closed, and time it from the spawn to its exit. */
export function timedProcess(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: root, env: env ?? process.env });
    let stderr = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (status) => {
      const totalMs = performance.now() - t0;
      const last = stderr.trim().split('\n').at(-1) ?? '';
      let summary: Record<string, unknown> | undefined;
      try {
        summary = last.startsWith('{') ? JSON.parse(last) : undefined;
      } catch {
        summary = undefined;
      }
      resolve({ totalMs, status, stderr, ...(summary ? { summary } : {}) });
    });
  });
}

/** The bin as a user runs it: no test runner's --conditions, no tsx. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  env.NODE_OPTIONS = (env.NODE_OPTIONS ?? '').replace('--conditions=@tsvirt/source', '').trim();
  return env;
}

/**
 * `tsvirt-vm --kernel srst.bin`: spawn to the first KVM_RUN, measured as the
 * process's spawn-to-exit time less the run (`wall_ms`, from the first
 * KVM_RUN to the guest's SRST): it includes the process's exit, so it is
 * an upper bound of the start.
 */
export async function vmmStart(): Promise<number> {
  const r = await timedProcess(
    process.execPath,
    [VM_BIN, '--kernel', SRST_GUEST, '--cpus', '1', '--json'],
    userEnv(),
  );
  if (r.status !== 0 || !r.summary) throw new Error(`tsvirt-vm: status ${r.status}: ${r.stderr}`);
  return r.totalMs - (r.summary.wall_ms as number);
}

/** The same guest from the TypeScript sources under tsx, as scripts/vm.sh ran the VMM before dist/. */
export async function vmmStartFromSources(): Promise<number> {
  const r = await timedProcess(join(root, 'node_modules', '.bin', 'tsx'), [
    '--conditions=@tsvirt/source',
    '--tsconfig',
    join(app, 'tsconfig.json'),
    join(app, 'src', 'main.ts'),
    ...['--kernel', SRST_GUEST, '--cpus', '1', '--json'],
  ]);
  if (r.status !== 0 || !r.summary) throw new Error(`tsx src/main.ts: status ${r.status}: ${r.stderr}`);
  return r.totalMs - (r.summary.wall_ms as number);
}

/** QEMU's virt, 1 hart, from the spawn to the exit of a guest that powers off at its first instructions. */
export async function qemuStart(): Promise<number> {
  const r = await timedProcess('qemu-system-riscv64', [
    ...['-M', 'virt', '-smp', '1', '-m', '256M', '-nographic', '-monitor', 'none'],
    ...['-bios', 'none', '-kernel', QEMU_POWEROFF_GUEST],
  ]);
  if (r.status !== 0) throw new Error(`qemu: status ${r.status}: ${r.stderr}`);
  return r.totalMs;
}

/** One whole run of the bin with `args` and --json: its summary (peak RSS, guest memory touched, ...). */
export async function vmmRun(args: string[]): Promise<Record<string, unknown>> {
  const r = await timedProcess(process.execPath, [VM_BIN, ...args, '--json'], userEnv());
  if (r.status !== 0 || !r.summary)
    throw new Error(`tsvirt-vm: status ${r.status}: ${r.stderr.slice(-2000)}`);
  return r.summary;
}

/** The bin's spawn-to-exit time, ms, for a run with `args` that must end with status 0. */
export async function vmmRunMs(args: string[]): Promise<number> {
  const r = await timedProcess(process.execPath, [VM_BIN, ...args], userEnv());
  if (r.status !== 0) throw new Error(`tsvirt-vm: status ${r.status}: ${r.stderr.slice(-2000)}`);
  return r.totalMs;
}
