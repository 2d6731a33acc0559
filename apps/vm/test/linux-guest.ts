import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The kernel command line the Linux guest boots with (as `bash scripts/vm.sh --linux`). */
export const LINUX_APPEND = 'console=ttyS0 earlycon';

const BUILD_SCRIPT = fileURLToPath(new URL('../../../scripts/build-linux-guest.sh', import.meta.url));
const HOW = 'build it with `bash scripts/build-linux-guest.sh` (scripts/test.sh does)';

export interface LinuxGuest {
  image: string;
  initrd: string;
}

/**
 * The Linux guest's kernel and initramfs: from TSVIRT_LINUX_IMAGE and
 * TSVIRT_LINUX_INITRD (scripts/test.sh sets them), else from the build
 * cache if this tree's guest was built. Missing, it throws saying what is
 * missing and how to build it; with TSVIRT_SKIP_LINUX=1 it returns
 * undefined after printing why (for developers without the cross tools).
 */
export function linuxGuest(): LinuxGuest | undefined {
  if (process.env.TSVIRT_SKIP_LINUX === '1') {
    console.warn('skipping the Linux guest: TSVIRT_SKIP_LINUX=1');
    return undefined;
  }
  let image = process.env.TSVIRT_LINUX_IMAGE;
  let initrd = process.env.TSVIRT_LINUX_INITRD;
  if (image === undefined || initrd === undefined) {
    const r = spawnSync('bash', [BUILD_SCRIPT, '--check'], { encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(
        `the Linux guest is not built (${(r.stderr || r.error?.message || '').trim()}); ${HOW}, or set TSVIRT_SKIP_LINUX=1 to skip`,
      );
    }
    image = /^TSVIRT_LINUX_IMAGE=(.*)$/m.exec(r.stdout)?.[1];
    initrd = /^TSVIRT_LINUX_INITRD=(.*)$/m.exec(r.stdout)?.[1];
  }
  for (const [what, path] of [
    ['kernel Image (TSVIRT_LINUX_IMAGE)', image],
    ['initramfs (TSVIRT_LINUX_INITRD)', initrd],
  ] as const) {
    if (path === undefined || !existsSync(path))
      throw new Error(`the Linux guest's ${what} is missing: ${path ?? 'unset'}; ${HOW}`);
  }
  return { image: image!, initrd: initrd! };
}

/**
 * Kernel log lines that mean something went wrong: WARN()/BUG() reports,
 * oopses, anything that "failed", and interrupts nobody handled. Our init's
 * own failures start with "tsvirt-init: FAIL".
 */
export function kernelProblems(log: string): string[] {
  return log
    .split(/\r?\n/)
    .filter((l) =>
      /WARNING:|\bBUG\b|Oops|Unable to handle|Call Trace|\bfailed\b|unexpected IRQ|nobody cared|spurious|tsvirt-init: FAIL|Kernel panic/i.test(
        l,
      ),
    );
}
