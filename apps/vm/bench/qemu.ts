import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** OpenSBI's fw_jump (Debian's opensbi): QEMU's firmware for a kernel entered in S-mode at 0x80200000. */
export const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';

export interface QemuStep {
  expect: string;
  send: string;
}

export interface QemuOptions {
  /** The firmware (`-bios`); default: QEMU's own OpenSBI. */
  bios?: string;
  smp?: number;
  /** More arguments, e.g. `-initrd` and `-append` for a Linux kernel. */
  extra?: string[];
}

/**
 * Run QEMU's `virt` board (TCG) with OpenSBI and `kernel` under a scripted
 * console, returning the time each step's `expect` appeared, measured from
 * the spawn. The reference the VMM is compared with.
 */
export function runQemuScript(
  kernel: string,
  steps: QemuStep[],
  timeoutMs = 120_000,
  opts: QemuOptions = {},
): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const q = spawn(
      'qemu-system-riscv64',
      [
        '-M',
        'virt',
        '-smp',
        String(opts.smp ?? 2),
        '-m',
        '256M',
        '-nographic',
        '-bios',
        opts.bios ?? 'default',
        '-kernel',
        kernel,
        '-monitor',
        'none',
        ...(opts.extra ?? []),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    // A write racing QEMU's exit is EPIPE: the exit handler below judges the run.
    q.stdin.on('error', () => {});
    let out = '';
    let consumed = 0;
    let step = 0;
    const times: number[] = [];
    const timer = setTimeout(() => {
      q.kill('SIGKILL');
      reject(
        new Error(
          `qemu: timed out at step ${step} (${steps[step]?.expect}); last output: ${out.slice(-300)}`,
        ),
      );
    }, timeoutMs);
    q.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      while (step < steps.length) {
        const at = out.indexOf(steps[step]!.expect, consumed);
        if (at < 0) break;
        consumed = at + steps[step]!.expect.length;
        times.push(performance.now() - t0);
        // Nothing to type after the last line (QEMU may have exited: its stdin is closed).
        if (steps[step]!.send !== '') q.stdin.write(steps[step]!.send);
        step++;
      }
    });
    q.on('exit', () => {
      clearTimeout(timer);
      if (step < steps.length) reject(new Error(`qemu exited at step ${step}`));
      else resolve(times);
    });
  });
}

export function haveQemu(): boolean {
  return ['/usr/bin/qemu-system-riscv64', '/usr/local/bin/qemu-system-riscv64'].some((p) => existsSync(p));
}
