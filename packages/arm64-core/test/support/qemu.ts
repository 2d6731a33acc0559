import { spawn } from 'node:child_process';
import { afterStartMarker } from './guests.ts';

export interface QemuResult {
  /** Console text after the start marker; undefined if it never appeared. */
  output: string | undefined;
  raw: string;
  /** QEMU's exit status; null when it was killed. */
  exitCode: number | null;
  timedOut: boolean;
}

/**
 * Run a flat image (with a Linux arm64 Image header) under QEMU's virt
 * board: direct kernel boot enters it at EL1 at 0x40080000; the program's
 * PSCI SYSTEM_OFF (over HVC, QEMU's built-in PSCI) makes QEMU exit.
 */
export function runUnderQemu(
  bin: string,
  opts: { qemu: string; cpu?: string; timeoutMs?: number },
): Promise<QemuResult> {
  const args = ['-M', 'virt', '-cpu', opts.cpu ?? 'cortex-a57', '-m', '128M', '-nographic', '-kernel', bin];
  return new Promise((resolve, reject) => {
    const child = spawn(opts.qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out).toString('latin1');
      resolve({ output: afterStartMarker(raw), raw, exitCode: code, timedOut });
    });
  });
}
