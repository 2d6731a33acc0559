import { existsSync } from 'node:fs';
import { markdownTable, runSuite } from '@tsvirt/bench-harness';
import { clearBlockFunctionCache } from '@tsvirt/riscv-hart';
import { boot } from '../src/scripted-boot.ts';
import { LINUX_APPEND, type LinuxGuest, linuxGuest } from '../test/linux-guest.ts';
import { irqchipSuite } from './irqchip.ts';
import { LINUX_CPUS, ourLinux, qemuLinux } from './linux.ts';
import { linuxPairedSuite } from './linux-paired.ts';
import { migrationSuite } from './migration.ts';
import { mmioExitSuite } from './mmio-exits.ts';
import { qemuStart, vmmRun, vmmRunMs, vmmStart, vmmStartFromSources } from './process.ts';
import { FW_JUMP, haveQemu, runQemuScript } from './qemu.ts';

// Whole-VM figures: the default guest's run time, and Debian's U-Boot
// (time to its autoboot prompt, and `crc32` over 64 MiB) next to QEMU's
// TCG running the same U-Boot on its own virt board, in the same run; and
// the Linux guest (scripts/build-linux-guest.sh) to its init's first line
// and to power-off, next to QEMU booting the same Image and initramfs
// through Debian's OpenSBI fw_jump (on 2 harts, and on 4 beside QEMU's
// -smp 4). Blocks compile to WebAssembly (the default; V8 may reuse a module
// an earlier iteration compiled from the same bytes, which
// clearBlockFunctionCache() cannot undo); rows marked --jit-tier js run the
// same with JavaScript blocks. First, the VMM's own start as a user runs it (bench/process.ts),
// and last, the memory a 256 MiB Linux guest's VMM process uses.
const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const CRC = 'crc32 82000000 4000000\r';
const steps = [
  { expect: 'Hit any key to stop autoboot', send: ' ' },
  { expect: '=> ', send: CRC },
  { expect: '==> ', send: '' },
  { expect: '=> ', send: 'poweroff\r' },
];

/** Block compilers: the default (WebAssembly blocks), and --jit-tier js. */
const JS = ['--jit-tier', 'js'];

/** One scripted U-Boot run on our VM: [ms to the autoboot prompt, ms for crc32]. */
async function ourUboot(extra: string[] = []): Promise<[number, number]> {
  // Each boot compiles its own blocks, as a fresh VMM process does: riscv-hart keeps block
  // functions for the process, and an earlier boot's would make this one look warmer than a user's.
  clearBlockFunctionCache();
  const t0 = performance.now();
  const at: number[] = [];
  await boot(['--kernel', UBOOT, '--cpus', '2', ...extra], steps, (i, t) => {
    at[i] = t - t0;
  });
  return [at[0]!, at[2]! - at[1]!];
}

async function qemuUboot(): Promise<[number, number]> {
  const at = await runQemuScript(UBOOT, steps);
  return [at[0]!, at[2]! - at[1]!];
}

/** A case measured by a whole run: tinybench takes the duration the function reports. */
function timed(name: string, measure: () => Promise<number>, baseline?: string) {
  return {
    name,
    iterations: 2,
    time: 0,
    fn: async () => ({ overriddenDuration: await measure() }),
    ...(baseline ? { baseline } : {}),
  };
}

const cases = [
  // The command to the first guest instruction, before (tsx transpiling the sources) and now (dist/).
  ...(haveQemu() ? [timed('QEMU TCG: start to a guest that powers off at once (1 hart)', qemuStart)] : []),
  timed(
    'tsvirt: VMM start from the sources under tsx (before dist/)',
    vmmStartFromSources,
    haveQemu() ? 'QEMU TCG: start to a guest that powers off at once (1 hart)' : undefined,
  ),
  timed(
    'tsvirt: VMM start, tsvirt-vm bin (dist/) to first KVM_RUN',
    vmmStart,
    haveQemu() ? 'QEMU TCG: start to a guest that powers off at once (1 hart)' : undefined,
  ),
  timed('default guest: boot to SRST shutdown (2 harts)', async () => {
    const t0 = performance.now();
    const r = await boot([]);
    if (r.result.status !== 0) throw new Error(r.result.reason);
    return performance.now() - t0;
  }),
];

if (existsSync(UBOOT)) {
  const q = haveQemu();
  if (q) cases.push(timed('QEMU TCG: U-Boot to autoboot prompt', async () => (await qemuUboot())[0]));
  cases.push(
    timed(
      'tsvirt: U-Boot to autoboot prompt',
      async () => (await ourUboot())[0],
      q ? 'QEMU TCG: U-Boot to autoboot prompt' : undefined,
    ),
  );
  cases.push(
    timed(
      'tsvirt --jit-tier js: U-Boot to autoboot prompt',
      async () => (await ourUboot(JS))[0],
      q ? 'QEMU TCG: U-Boot to autoboot prompt' : undefined,
    ),
  );
  if (q) cases.push(timed('QEMU TCG: U-Boot crc32 of 64 MiB', async () => (await qemuUboot())[1]));
  cases.push(
    timed(
      'tsvirt: U-Boot crc32 of 64 MiB',
      async () => (await ourUboot())[1],
      q ? 'QEMU TCG: U-Boot crc32 of 64 MiB' : undefined,
    ),
  );
  cases.push(
    timed(
      'tsvirt --jit-tier js: U-Boot crc32 of 64 MiB',
      async () => (await ourUboot(JS))[1],
      q ? 'QEMU TCG: U-Boot crc32 of 64 MiB' : undefined,
    ),
  );
} else {
  console.log(`(U-Boot cases skipped: ${UBOOT} missing; install Debian's u-boot-qemu)`);
}

let guest: LinuxGuest | undefined;
try {
  guest = linuxGuest();
} catch (e) {
  console.log(`(Linux cases skipped: ${(e as Error).message})`);
}
if (guest) {
  const g = guest;
  const q = haveQemu() && existsSync(FW_JUMP);
  if (!q) console.log(`(QEMU Linux cases skipped: qemu-system-riscv64 or ${FW_JUMP} missing)`);
  const base = (name: string) => (q ? name : undefined);
  if (q) cases.push(timed('QEMU TCG: Linux to init', async () => (await qemuLinux(g))[0]));
  cases.push(
    timed('tsvirt: Linux to init', async () => (await ourLinux(g))[0], base('QEMU TCG: Linux to init')),
  );
  cases.push(
    timed(
      'tsvirt --jit-tier js: Linux to init',
      async () => (await ourLinux(g, LINUX_CPUS, JS))[0],
      base('QEMU TCG: Linux to init'),
    ),
  );
  if (q) cases.push(timed('QEMU TCG: Linux to power-off', async () => (await qemuLinux(g))[1]));
  cases.push(
    timed(
      'tsvirt: Linux to power-off',
      async () => (await ourLinux(g))[1],
      base('QEMU TCG: Linux to power-off'),
    ),
  );
  // The whole process as a user runs it: the tsvirt-vm bin spawned, its start, V8's warm-up and the boot
  // to power-off, against QEMU's spawn to power-off above (runQemuScript times from its spawn too).
  cases.push(
    timed(
      'tsvirt: Linux to power-off, a fresh tsvirt-vm process (spawn to exit)',
      () =>
        vmmRunMs([
          ...['--kernel', g.image, '--initrd', g.initrd, '--append', LINUX_APPEND],
          ...['--cpus', String(LINUX_CPUS)],
        ]),
      base('QEMU TCG: Linux to power-off'),
    ),
  );
  if (q) cases.push(timed('QEMU TCG: Linux to power-off, 4 harts', async () => (await qemuLinux(g, 4))[1]));
  cases.push(
    timed(
      'tsvirt: Linux to power-off, 4 harts',
      async () => (await ourLinux(g, 4))[1],
      base('QEMU TCG: Linux to power-off, 4 harts'),
    ),
  );
  cases.push(
    timed(
      'tsvirt --jit-tier js: Linux to power-off, 4 harts',
      async () => (await ourLinux(g, 4, JS))[1],
      base('QEMU TCG: Linux to power-off, 4 harts'),
    ),
  );
}

await runSuite('apps/vm: whole-VM run times (QEMU TCG as the reference where installed)', cases);

if (guest) {
  // The Linux rows again as alternating pairs, so that the machine's drift hits both sides alike.
  await linuxPairedSuite(guest);
  await memoryTable(guest);
}

// The GPU's completion interrupts relayed by the VMM (--irqchip plic) and bypassed (--irqchip aia), side by side.
await irqchipSuite();

// An MMIO exit's round trip: a guest polling the UART's status register, next to QEMU TCG (bench/mmio-exits.ts).
await mmioExitSuite();

// Live migration of U-Boot between two processes, next to QEMU TCG (bench/migration.ts).
await migrationSuite();

/**
 * The VMM process's peak RSS for a 256 MiB Linux guest booted to power-off
 * (the bin's --json: its own peak RSS, VmHWM, at the end, and the guest RAM
 * pages that have a host frame), against the aim of issue 15: under twice
 * the guest's touched memory plus 100 MiB.
 */
async function memoryTable(g: LinuxGuest): Promise<void> {
  const rows: string[][] = [];
  for (const cpus of [1, 4]) {
    const s = await vmmRun([
      ...['--kernel', g.image, '--initrd', g.initrd, '--append', LINUX_APPEND],
      ...['--mem', '256M', '--cpus', String(cpus)],
    ]);
    const rss = (s.max_rss_kib as number) / 1024;
    const touched = (s.guest_touched_kib as number) / 1024;
    const aim = 2 * touched + 100;
    rows.push([
      `tsvirt: Linux 256 MiB guest, ${cpus} hart${cpus > 1 ? 's' : ''}, to power-off`,
      rss.toFixed(1),
      touched.toFixed(1),
      aim.toFixed(1),
      rss < aim ? 'yes' : 'NO',
    ]);
  }
  console.log(
    markdownTable(
      'apps/vm: memory of the VMM process (tsvirt-vm bin, --json)',
      ['case', 'peak RSS MiB', 'guest touched MiB', 'aim: 2x touched + 100', 'under aim'],
      rows,
    ),
  );
}
