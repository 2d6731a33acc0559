import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

// The guide's steps (docs/writing-a-device-plugin.md), as a new author takes
// them: copy templates/mdev-plugin somewhere of their own, link the tsvirt
// packages and the test tools from the checkout, run its test and type
// check, then boot U-Boot with the plugin and find the device.
const dir = mkdtempSync(join(tmpdir(), 'hello-mdev-'));
cpSync(join(root, 'templates', 'mdev-plugin'), dir, { recursive: true });
mkdirSync(join(dir, 'node_modules', '@tsvirt'), { recursive: true });
for (const p of ['core-bus', 'mdev-core', 'vfio-mpci'])
  symlinkSync(join(root, 'packages', p), join(dir, 'node_modules', '@tsvirt', p));
mkdirSync(join(dir, 'node_modules', '@types'));
symlinkSync(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
for (const p of ['vitest', 'typescript'])
  symlinkSync(join(root, 'node_modules', p), join(dir, 'node_modules', p));

const run = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, {
    cwd: dir,
    encoding: 'utf8',
    input: '',
    timeout: 180_000,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });

describe('the plugin template, copied out of the repository', () => {
  it('its own test passes and it type-checks', () => {
    const t = run(process.execPath, [join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run']);
    expect(t.status, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(/Tests +4 passed/);
    const c = run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.']);
    expect(c.status, c.stdout + c.stderr).toBe(0);
  }, 200_000);

  it('U-Boot finds the device after pci enum, and md.l reads its ID and scratch registers', async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    const prompt = '=> ';
    const steps: { expect: string; send: string | ((out: string) => string) }[] = [
      { expect: 'Hit any key to stop autoboot', send: ' ' },
      { expect: prompt, send: 'pci enum\r' },
      { expect: prompt, send: 'pci\r' },
      { expect: prompt, send: 'pci bar 00.01.00\r' },
      {
        expect: prompt,
        send: (out) => {
          const bar = /^ 0 +0x([0-9a-f]+)/m.exec(out)![1]!;
          const scratch = (BigInt(`0x${bar}`) + 4n).toString(16);
          return `mw.l ${scratch} 5ca1ab1e; md.l ${bar} 2\r`;
        },
      },
      { expect: prompt, send: 'poweroff\r' },
    ];
    const child = spawn(
      'bash',
      [
        join(root, 'scripts', 'vm.sh'),
        '--kernel',
        uboot,
        '--plugin',
        'src/plugin.ts',
        '--mdev',
        'hello-basic',
      ],
      { cwd: dir },
    );
    let out = '';
    let consumed = 0;
    let step = 0;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString('latin1');
      while (step < steps.length) {
        const at = out.indexOf(steps[step]!.expect, consumed);
        if (at < 0) break;
        consumed = at + steps[step]!.expect.length;
        const send = steps[step]!.send;
        child.stdin.write(typeof send === 'string' ? send : send(out));
        step++;
      }
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const status = await new Promise<number | null>((done) => child.on('close', done));
    expect(out).toMatch(/00\.01\.00 +0x7e57 +0x0100 +Does not fit any class/);
    expect(out).toMatch(/[0-9a-f]{8}: 48454c4f 5ca1ab1e/);
    expect(status, err).toBe(0);
  }, 300_000);
});
