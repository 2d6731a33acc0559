import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { requireDebianTool } from '@tsvirt/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { UBOOT, ubootBar0Steps, vmShScripted } from './uboot-process.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const vmSh = join(root, 'scripts', 'vm.sh');
const TINY = join(root, 'packages', 'sample-vendor-gpu', 'examples', 'tiny-mdev.ts');

// A plugin author's directory outside the repository: no package.json, no
// node_modules; the plugin imports @tsvirt/* and gets the VMM's copies.
const dir = mkdtempSync(join(tmpdir(), 'vm-plugin-dir-'));
copyFileSync(TINY, join(dir, 'tiny.ts'));
const plain = (name: string) => `import { defineModule } from '@tsvirt/core-bus';
export default defineModule({ name: '${name}', register() {} });
`;
writeFileSync(join(dir, 'plain.mjs'), plain('plain-mjs'));
writeFileSync(join(dir, 'plain.js'), plain('plain-js'));
const own = mkdtempSync(join(tmpdir(), 'vm-plugin-own-'));
afterAll(() => {
  for (const d of [dir, own]) rmSync(d, { recursive: true, force: true });
});
writeFileSync(join(dir, 'needs-acme.mjs'), "import { x } from '@acme/not-installed';\nexport default x;\n");

/** `bash scripts/vm.sh ARGS` typed in the plugin's directory, stdin not a TTY. */
function vmInDir(args: string[]) {
  const r = spawnSync('bash', [vmSh, ...args], { cwd: dir, encoding: 'utf8', input: '', timeout: 180_000 });
  return { ...r, vmLines: r.stderr.split('\n').filter((l) => l.startsWith('vm:')) };
}

describe('plugins from a directory outside the repository (bash scripts/vm.sh in that directory)', () => {
  it('loads a relative .ts, .mjs and .js plugin and passes the .ts one through to the guest', () => {
    const r = vmInDir([
      '--plugin',
      'tiny.ts',
      '--plugin',
      'plain.mjs',
      '--plugin',
      './plain.js',
      '--mdev',
      'tiny-mailbox',
    ]);
    expect(r.stdout).toContain('pci 00:01.0 7e57:00ff class ff8000');
    expect(r.vmLines.join('\n')).not.toMatch(/--plugin/);
  }, 200_000);

  it("a .ts and an .mjs plugin get the VMM's own copy of @tsvirt/core-bus (dist/ entry), not a second one", () => {
    const which = (name: string) => `import { defineModule } from '@tsvirt/core-bus';
process.stderr.write('${name}: ' + import.meta.resolve('@tsvirt/core-bus') + '\\n');
export default defineModule({ name: '${name}', register() {} });
`;
    writeFileSync(join(dir, 'which.ts'), which('which-ts'));
    writeFileSync(join(dir, 'which.mjs'), which('which-mjs'));
    const r = vmInDir(['--plugin', 'which.ts', '--plugin', 'which.mjs', '--no-summary']);
    const entry = pathToFileURL(join(root, 'apps', 'vm', 'dist', 'pkg-core-bus.js')).href;
    expect(r.stderr.split('\n').filter((l) => l.startsWith('which-'))).toEqual([
      `which-ts: ${entry}`,
      `which-mjs: ${entry}`,
    ]);
    expect(r.status, r.stderr).toBe(0);
  }, 200_000);

  it('a plugin whose import does not resolve names the module it could not find (one line, status 2)', () => {
    const r = vmInDir(['--plugin', 'needs-acme.mjs']);
    expect(r.status).toBe(2);
    expect(r.vmLines).toEqual([
      `vm: --plugin needs-acme.mjs: plugin needs-acme.mjs failed to load: Cannot find package '@acme/not-installed' imported from ${join(dir, 'needs-acme.mjs')} (ENOEXEC)`,
    ]);
    expect(r.stdout).toBe('');
  }, 200_000);

  it('a relative plugin path that is not in the caller directory is "not found" with where it looked', () => {
    const r = vmInDir(['--plugin', 'nope.ts']);
    expect(r.status).toBe(2);
    expect(r.vmLines).toEqual([
      `vm: --plugin nope.ts: plugin nope.ts not found (looked for ${join(dir, 'nope.ts')}) (ENOENT)`,
    ]);
  }, 200_000);

  it('U-Boot enumerates the tiny device, and md.l reads and writes its scratch register', async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    const { out, err, status } = await vmShScripted(
      dir,
      ['--kernel', uboot, '--plugin', 'tiny.ts', '--mdev', 'tiny-mailbox'],
      ubootBar0Steps('00.01.00', 0, 'c0ffee42'),
    );
    expect(out).toMatch(/00\.01\.00 +0x7e57 +0x00ff +Does not fit any class/);
    // The BAR was decoded (memory enable reached the device): not the ffffffff of an unclaimed address.
    expect(out).toMatch(/[0-9a-f]{8}: c0ffee42 00000000/);
    expect(out).toContain('poweroff ...');
    expect(status, err).toBe(0);
  }, 300_000);

  it('a plugin with its own copies of the tsvirt packages loads and its device works', async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    // A plugin directory as `npm install` would leave it: node_modules holding
    // copies (not links) of the packages, so Node loads them a second time.
    copyFileSync(TINY, join(own, 'tiny.ts'));
    for (const p of ['core-bus', 'mdev-core', 'vfio-mpci', 'vfio-core', 'host-mm']) {
      const to = join(own, 'node_modules', '@tsvirt', p);
      cpSync(join(root, 'packages', p, 'src'), join(to, 'src'), { recursive: true });
      copyFileSync(join(root, 'packages', p, 'package.json'), join(to, 'package.json'));
    }
    for (const dep of ['tsyringe', 'reflect-metadata'])
      symlinkSync(
        realpathSync(join(root, 'packages', 'core-bus', 'node_modules', dep)),
        join(own, 'node_modules', dep),
      );
    const { out, err, status } = await vmShScripted(
      own,
      ['--kernel', uboot, '--plugin', 'tiny.ts', '--mdev', 'tiny-mailbox'],
      ubootBar0Steps('00.01.00', 0, 'c0ffee43'),
    );
    expect(out).toMatch(/[0-9a-f]{8}: c0ffee43 00000000/);
    expect(status, err).toBe(0);
  }, 300_000);
});
