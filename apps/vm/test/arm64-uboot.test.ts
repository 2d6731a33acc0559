import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { Arm64Machine } from '../src/arm64/machine.ts';
import { mainArm64 } from '../src/arm64/main.ts';
import { Arm64Runner } from '../src/arm64/runner.ts';
import { parseArgs } from '../src/cli.ts';

const root = join(import.meta.dirname, '..', '..', '..');
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
    expect(out).toMatch(/=> pci\r?\n[\s\S]*00\.01\.00 +0x7e57 +0x0001 +Display controller/);
    expect(out).toMatch(/=> reset\r?\nresetting \.\.\./);
    expect(res).toMatchObject({ status: 4, reason: 'the guest asked for a reset (PSCI SYSTEM_RESET)' });
  }, 600_000);

  it('bash scripts/vm.sh --arch arm64 --bios u-boot.bin: poweroff reaches PSCI SYSTEM_OFF (status 0)', () => {
    const r = spawnSync(
      'bash',
      [join(root, 'scripts', 'vm.sh'), '--arch', 'arm64', '--bios', uboot!, '-m', '128M', '--cpus', '2'],
      { encoding: 'utf8', input: ' poweroff\n', timeout: 300_000 },
    );
    expect(r.stdout).toMatch(/=> poweroff\r?\npoweroff \.\.\./);
    expect(r.stderr).toContain('vm: the guest powered off (PSCI SYSTEM_OFF) (status 0)');
    expect(r.status).toBe(0);
  }, 320_000);
});

describe('--arch', () => {
  it('refuses an unknown architecture, arm64 without firmware, and what the arm64 board lacks', () => {
    expect(() => parseArgs(['--arch', 'mips'])).toThrow('--arch must be riscv64 or arm64');
    expect(parseArgs(['--arch', 'arm64', '--bios', 'u.bin'])).toMatchObject({ arch: 'arm64', bios: 'u.bin' });
    expect(parseArgs([]).arch).toBeUndefined();
  });

  it('an arm64 VM without --bios or with --qmp is a configuration error', async () => {
    const opts = parseArgs(['--arch', 'arm64']);
    await expect(mainArm64(opts, process.stdout, () => false)).rejects.toThrow(
      '--arch arm64 needs --bios (e.g. u-boot.bin) or --kernel',
    );
    const withQmp = parseArgs(['--arch', 'arm64', '--bios', 'x', '--qmp', 'unix:/tmp/q']);
    await expect(mainArm64(withQmp, process.stdout, () => false)).rejects.toThrow(
      '--qmp is not supported with --arch arm64',
    );
    await expect(
      mainArm64(parseArgs(['--arch', 'arm64', '--bios', '/nonexistent/u.bin']), process.stdout, () => false),
    ).rejects.toThrow('--bios /nonexistent/u.bin: no such file');
    await expect(
      mainArm64(
        parseArgs(['--arch', 'arm64', '--bios', 'x', '--irqchip', 'aia']),
        process.stdout,
        () => false,
      ),
    ).rejects.toThrow('--irqchip aia is not supported with --arch arm64');
  });

  it('--bios without --arch arm64 is a configuration error (status 2), not ignored', () => {
    const r = spawnSync(
      'bash',
      [join(import.meta.dirname, '..', '..', '..', 'scripts', 'vm.sh'), '--bios', '/dev/null'],
      {
        encoding: 'utf8',
        input: '',
        timeout: 120_000,
      },
    );
    expect(r.stderr).toContain('--bios is for --arch arm64');
    expect(r.status).toBe(2);
  });
});
