import { spawn } from 'node:child_process';
import { afterStartMarker } from './guests.ts';

export interface QemuResult {
  /** Console text after the start marker; undefined if it never appeared. */
  output: string | undefined;
  /** Everything QEMU wrote to stdout (firmware banner included), CRLF as sent. */
  raw: string;
  /** QEMU's exit status; null when it was killed. */
  exitCode: number | null;
  timedOut: boolean;
  stderr: string;
}

export interface QemuOptions {
  /** Path of qemu-system-riscv64 (from requireDebianTool). */
  qemu: string;
  timeoutMs?: number;
  memMiB?: number;
  /** Harts (-smp); OpenSBI may boot the program on any of them. */
  harts?: number;
}

/**
 * Run a flat S-mode image under QEMU's virt board with its default OpenSBI
 * (`-bios default`), which enters it at 0x80200000 with a0 = hart id and a1 =
 * the DTB. The guest ends with SBI SRST, which makes QEMU exit; a guest that
 * does not is killed after the timeout.
 */
export function runUnderQemu(bin: string, opts: QemuOptions): Promise<QemuResult> {
  const args = [
    '-M',
    'virt',
    '-smp',
    String(opts.harts ?? 1),
    '-m',
    `${opts.memMiB ?? 128}M`,
    '-nographic',
    '-bios',
    'default',
    '-kernel',
    bin,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(opts.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out).toString('latin1');
      resolve({
        output: afterStartMarker(raw),
        raw,
        exitCode: code,
        timedOut,
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
