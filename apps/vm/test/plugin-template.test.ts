import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { UBOOT, ubootBar0Steps, vmShScripted } from './uboot-process.ts';

const root = join(import.meta.dirname, '..', '..', '..');

// The guide's steps (docs/writing-a-device-plugin.md), as a new author takes
// them: copy templates/mdev-plugin somewhere of their own, link the tsvirt
// packages and the test tools from the checkout, run its test and type
// check, then boot U-Boot with the plugin and find the device.
const dir = mkdtempSync(join(tmpdir(), 'hello-mdev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
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
  it('its peer ranges name the release the workspace is at (changesets moves the packages, not the template)', () => {
    const json = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
    const peers: Record<string, string> = json(
      join(root, 'templates', 'mdev-plugin', 'package.json'),
    ).peerDependencies;
    expect(Object.keys(peers).length).toBeGreaterThan(0);
    for (const [name, range] of Object.entries(peers)) {
      const { version } = json(join(root, 'packages', name.replace('@tsvirt/', ''), 'package.json'));
      expect(range, name).toBe(`^${version}`);
    }
  });

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
    const { out, err, status } = await vmShScripted(
      dir,
      ['--kernel', uboot, '--plugin', 'src/plugin.ts', '--mdev', 'hello-basic'],
      ubootBar0Steps('00.01.00', 4, '5ca1ab1e'),
    );
    expect(out).toMatch(/00\.01\.00 +0x7e57 +0x0100 +Does not fit any class/);
    expect(out).toMatch(/[0-9a-f]{8}: 48454c4f 5ca1ab1e/);
    expect(status, err).toBe(0);
  }, 300_000);
});
