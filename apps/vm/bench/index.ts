import { existsSync } from 'node:fs';
import { runSuite } from '@tsvirt/bench-harness';
import { boot } from '../src/scripted-boot.ts';
import { haveQemu, runQemuScript } from './qemu.ts';

// Whole-VM figures: the default guest's run time, and Debian's U-Boot
// (time to its autoboot prompt, and `crc32` over 64 MiB) next to QEMU's
// TCG running the same U-Boot on its own virt board, in the same run.
const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const CRC = 'crc32 82000000 4000000\r';
const steps = [
  { expect: 'Hit any key to stop autoboot', send: ' ' },
  { expect: '=> ', send: CRC },
  { expect: '==> ', send: '' },
  { expect: '=> ', send: 'poweroff\r' },
];

/** One scripted U-Boot run on our VM: [ms to the autoboot prompt, ms for crc32]. */
async function ourUboot(): Promise<[number, number]> {
  const t0 = performance.now();
  const at: number[] = [];
  await boot(['--kernel', UBOOT, '--cpus', '2'], steps, (i, t) => {
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
  if (q) cases.push(timed('QEMU TCG: U-Boot crc32 of 64 MiB', async () => (await qemuUboot())[1]));
  cases.push(
    timed(
      'tsvirt: U-Boot crc32 of 64 MiB',
      async () => (await ourUboot())[1],
      q ? 'QEMU TCG: U-Boot crc32 of 64 MiB' : undefined,
    ),
  );
} else {
  console.log(`(U-Boot cases skipped: ${UBOOT} missing; install Debian's u-boot-qemu)`);
}

await runSuite('apps/vm: whole-VM run times (QEMU TCG as the reference where installed)', cases);
