import { clearBlockFunctionCache } from '@tsvirt/riscv-hart';
import { boot } from '../src/scripted-boot.ts';
import { LINUX_APPEND, type LinuxGuest } from '../test/linux-guest.ts';
import { FW_JUMP, runQemuScript } from './qemu.ts';

// The Linux guest (scripts/build-linux-guest.sh) booted to its init's first
// line and to power-off, on our VM in this process and on QEMU's virt
// through Debian's OpenSBI fw_jump: what bench/index.ts and
// bench/linux-paired.ts both time.

export const LINUX_CPUS = 2;
const linuxSteps = [
  { expect: 'tsvirt-init: started', send: '' },
  { expect: 'reboot: Power down', send: '' },
];

/** One Linux boot on our VM: [ms to init's first line, ms to power-off]. */
export async function ourLinux(
  g: LinuxGuest,
  cpus = LINUX_CPUS,
  extra: string[] = [],
): Promise<[number, number]> {
  clearBlockFunctionCache(); // each boot compiles its own blocks, as a fresh VMM process does
  const t0 = performance.now();
  let first = 0;
  const r = await boot(
    ['--kernel', g.image, '--initrd', g.initrd, '--append', LINUX_APPEND, '--cpus', String(cpus), ...extra],
    linuxSteps,
    (i, t) => {
      if (i === 0) first = t - t0;
    },
  );
  if (r.result.status !== 0) throw new Error(r.result.reason);
  return [first, performance.now() - t0];
}

/** The same Image and initramfs on QEMU's virt under OpenSBI fw_jump (no sample GPU there: init says so and powers off). */
export async function qemuLinux(g: LinuxGuest, cpus = LINUX_CPUS): Promise<[number, number]> {
  const at = await runQemuScript(g.image, linuxSteps, 600_000, {
    bios: FW_JUMP,
    smp: cpus,
    // QEMU 7.2 gives only riscv,isa: the kernel reads it when told to (CONFIG_RISCV_ISA_FALLBACK is off).
    extra: ['-initrd', g.initrd, '-append', `${LINUX_APPEND} riscv_isa_fallback`],
  });
  return [at[0]!, at[1]!];
}
