import { readFileSync } from 'node:fs';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { Arm64Machine } from '../src/arm64/machine.ts';
import { Arm64Runner } from '../src/arm64/runner.ts';

const uboot = requireDebianTool('/usr/lib/u-boot/qemu_arm64/u-boot.bin', 'u-boot-qemu');

async function boot(input: string) {
  let out = '';
  const m = Arm64Machine.create(
    { mem: 128 << 20, cpus: 1, bios: readFileSync(uboot!), mdev: ['sample_gpu-small'], quantum: 50_000 },
    (b) => {
      out += String.fromCharCode(b);
    },
  );
  const r = new Arm64Runner(m);
  r.feed([...input].map((c) => c.charCodeAt(0)));
  r.markInputEnded();
  const res = await r.run();
  return { out, res };
}

describe.skipIf(!uboot)("Debian's qemu_arm64 U-Boot on the arm64 board", () => {
  it('boots to its prompt from flash at 0, pci lists the GPU, reset reaches PSCI SYSTEM_RESET (status 4)', async () => {
    const { out, res } = await boot(' pci\nreset\n');
    expect(out).toContain('U-Boot 2023.01');
    expect(out).toContain('DRAM:  128 MiB');
    expect(out).toContain('In:    pl011@9000000');
    // The sample GPU (vendor 0x7e57) behind the ECAM host bridge, slot 1.
    expect(out).toMatch(/=> pci\n[\s\S]*00\.01\.00 +0x7e57 +0x0001 +Display controller/);
    expect(out).toContain('=> reset\nresetting ...');
    expect(res).toMatchObject({ status: 4, reason: 'the guest asked for a reset (PSCI SYSTEM_RESET)' });
  }, 600_000);

  it('poweroff reaches PSCI SYSTEM_OFF (status 0)', async () => {
    const { out, res } = await boot(' poweroff\n');
    expect(out).toContain('=> poweroff');
    expect(res).toMatchObject({ status: 0, reason: 'the guest powered off (PSCI SYSTEM_OFF)' });
  }, 600_000);
});
