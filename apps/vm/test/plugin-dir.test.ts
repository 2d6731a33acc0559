import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const vmSh = join(root, 'scripts', 'vm.sh');
const TINY = join(root, 'packages', 'sample-vendor-gpu', 'examples', 'tiny-mdev.ts');
const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';

// A plugin author's directory outside the repository: no package.json, no
// node_modules; the plugin imports @tsvirt/* and gets the VMM's copies.
const dir = mkdtempSync(join(tmpdir(), 'vm-plugin-dir-'));
copyFileSync(TINY, join(dir, 'tiny.ts'));
const plain = (name: string) => `import { defineModule } from '@tsvirt/core-bus';
export default defineModule({ name: '${name}', register() {} });
`;
writeFileSync(join(dir, 'plain.mjs'), plain('plain-mjs'));
writeFileSync(join(dir, 'plain.js'), plain('plain-js'));
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
          return `mw.l ${bar} c0ffee42; md.l ${bar} 2\r`;
        },
      },
      { expect: prompt, send: 'poweroff\r' },
    ];
    const child = spawn('bash', [vmSh, '--kernel', uboot, '--plugin', 'tiny.ts', '--mdev', 'tiny-mailbox'], {
      cwd: dir,
    });
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
    expect(out).toMatch(/00\.01\.00 +0x7e57 +0x00ff +Does not fit any class/);
    // The BAR was decoded (memory enable reached the device): not the ffffffff of an unclaimed address.
    expect(out).toMatch(/[0-9a-f]{8}: c0ffee42 00000000/);
    expect(out).toContain('poweroff ...');
    expect(status, err).toBe(0);
  }, 300_000);
});
