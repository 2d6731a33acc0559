import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vmVersion } from '../src/cli.ts';

const app = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'vm-user-'));
const store = join(dir, 'mdevctl.d');
const U = '4b20d080-1b54-4048-85b3-a6a62d165c01';

/** Run a bin as the user would (`tsvirt-vm`, `tsvirt-mdev`), stdin not a TTY, with the test's mdev store. */
function run(bin: 'tsvirt-vm' | 'tsvirt-mdev', args: string[]) {
  const r = spawnSync(process.execPath, [join(app, 'bin', `${bin}.mjs`), ...args], {
    cwd: dir,
    encoding: 'utf8',
    input: '',
    timeout: 120_000,
    // As a user's shell runs them: without the test runner's --conditions=@tsvirt/source (the bins add it themselves).
    env: {
      ...process.env,
      NODE_OPTIONS: (process.env.NODE_OPTIONS ?? '').replace('--conditions=@tsvirt/source', '').trim(),
      TSVIRT_MDEV_DIR: store,
    },
  });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    lines: r.stderr.split('\n').filter(Boolean),
  };
}

/** Refused before the guest runs: status 2, one line, nothing on stdout. */
function refused(args: string[]): string {
  const r = run('tsvirt-vm', args);
  expect(r.status, r.stderr).toBe(2);
  expect(r.lines).toHaveLength(1);
  expect(r.stdout).toBe('');
  return r.lines[0]!;
}

describe('the tsvirt-vm bin', () => {
  it('--version prints the version, status 0', () => {
    const r = run('tsvirt-vm', ['--version']);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, `${vmVersion()}\n`, '']);
  }, 60_000);

  it('--mdev TYPE,uuid=UUID --json: the UUID at start, the JSON summary as the last stderr line', () => {
    const r = run('tsvirt-vm', ['--cpus', '1', '--mdev', `sample_gpu-small,uuid=${U}`, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('shutting down');
    expect(r.lines[0]).toBe(`vm: mdev ${U} (sample_gpu-small on sample-gpu) at 00:01.0`);
    expect(r.lines).toHaveLength(2);
    const s = JSON.parse(r.lines[1]!);
    expect(s).toMatchObject({
      version: vmVersion(),
      status: 0,
      reason: 'guest shut down',
      exits: { 'system-event': 1 },
      unclaimed_mmio: 0,
      devices: [{ uuid: U, parent: 'sample-gpu', mdev_type: 'sample_gpu-small', pci: '00:01.0', irq: 33 }],
    });
    expect(s.instructions).toBeGreaterThan(0);
    expect(s.exits.mmio).toBeGreaterThan(0);
    expect(typeof s.wall_ms).toBe('number');
    expect([s.irqs_relayed, s.irqs_bypassed]).toEqual([2, 0]); // the GPU's two completions, through the VMM's PLIC
    expect(typeof s.start_ms).toBe('number');
    // The default guest's image, stack and DTB are in RAM at least; a 128 MiB guest touches far less than all.
    expect(s.guest_touched_kib).toBeGreaterThan(0);
    expect(s.guest_touched_kib).toBeLessThan(128 * 1024);
    expect(s.max_rss_kib).toBeGreaterThan(s.guest_touched_kib);
    expect(Object.keys(s).sort()).toEqual(
      [
        'devices',
        'exits',
        'guest_touched_kib',
        'instructions',
        'irqs_bypassed',
        'irqs_relayed',
        'max_rss_kib',
        'reason',
        'start_ms',
        'status',
        'unclaimed_mmio',
        'version',
        'wall_ms',
      ].sort(),
    );
  }, 120_000);

  it("--json's max_rss_kib is the VMM's own peak, not the RSS of the process that spawned it", () => {
    // A parent holding 400 MiB spawns the bin. getrusage's ru_maxrss would report at least that
    // (Linux keeps the high-water mark of the forked copy across execve); the VMM itself is far smaller.
    const parent = `
      const { spawnSync } = require('node:child_process');
      const held = Buffer.alloc(400 << 20, 1);
      const r = spawnSync(process.execPath, [${JSON.stringify(join(app, 'bin', 'tsvirt-vm.mjs'))}, '--cpus', '1', '--json'], { encoding: 'utf8', input: '' });
      process.stdout.write(String(held[1]) + '\\n' + r.stderr);
    `;
    const r = spawnSync(process.execPath, ['-e', parent], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        NODE_OPTIONS: (process.env.NODE_OPTIONS ?? '').replace('--conditions=@tsvirt/source', '').trim(),
        TSVIRT_MDEV_DIR: store,
      },
    });
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.split('\n').filter(Boolean).at(-1)!);
    expect(s.status).toBe(0);
    expect(s.max_rss_kib).toBeGreaterThan(s.guest_touched_kib);
    expect(s.max_rss_kib).toBeLessThan(300 * 1024);
  }, 120_000);

  it('--no-summary prints neither the device lines nor the summary', () => {
    const r = run('tsvirt-vm', ['--cpus', '1', '--no-summary']);
    expect([r.status, r.stderr]).toEqual([0, '']);
  }, 120_000);

  it('--config FILE boots the machine it describes', () => {
    const f = join(dir, 'vm.json');
    writeFileSync(f, JSON.stringify({ cpus: 1, mdev: [`sample_gpu-medium,uuid=${U}`], json: true }));
    const r = run('tsvirt-vm', ['--config', f]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.lines.at(-1)!).devices).toEqual([
      { uuid: U, parent: 'sample-gpu', mdev_type: 'sample_gpu-medium', pci: '00:01.0', irq: 33 },
    ]);
  }, 120_000);

  it('bad --config, --mdev and flag-with-config are status 2, one line', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ cpus: 1, gpu: true }));
    expect(refused(['--config', f])).toMatch(new RegExp(`^vm: --config ${f}: unknown key "gpu"`));
    writeFileSync(f, JSON.stringify({ cpus: '1' }));
    expect(refused(['--config', f])).toBe(`vm: --config ${f}: "cpus" must be an integer`);
    expect(refused(['--config', f, '--json'])).toBe(
      `vm: --config ${f}: --json given too; put it in the file or drop --config`,
    );
    expect(refused(['--mdev', 'sample_gpu-small,uuid=x'])).toBe(
      'vm: --mdev sample_gpu-small,uuid=x: "x" is not a UUID',
    );
    // Two devices with one UUID: mdev_create's EEXIST.
    expect(refused(['--mdev', `sample_gpu-small,uuid=${U}`, '--mdev', `sample_gpu-small,uuid=${U}`])).toBe(
      `vm: --mdev sample_gpu-small,uuid=${U}: mdev_create: EEXIST (File exists): mdev ${U} already exists`,
    );
  }, 120_000);
});

describe('tsvirt-mdev and tsvirt-vm --mdev UUID', () => {
  it('define, start, boot with --mdev UUID; stop; then the VM refuses it', () => {
    const def = run('tsvirt-mdev', ['define', '-u', U, '-p', 'sample-gpu', '-t', 'sample_gpu-small']);
    expect([def.status, def.stderr]).toEqual([0, '']);
    expect(refused(['--mdev', U])).toBe(
      `vm: --mdev ${U}: defined with start manual and not started (tsvirt-mdev start -u ${U})`,
    );
    expect(run('tsvirt-mdev', ['start', '-u', U]).status).toBe(0);
    expect(run('tsvirt-mdev', ['list']).stdout).toBe(`${U} sample-gpu sample_gpu-small (defined)\n`);
    const r = run('tsvirt-vm', ['--cpus', '1', '--mdev', U, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.lines[0]).toBe(`vm: mdev ${U} (sample_gpu-small on sample-gpu) at 00:01.0`);
    expect(JSON.parse(r.lines[1]!).devices[0].uuid).toBe(U);
    expect(run('tsvirt-mdev', ['stop', '-u', U]).status).toBe(0);
    expect(refused(['--mdev', U])).toMatch(/not started/);
    // start: auto is created when the VMM registers its parent, with no start.
    expect(run('tsvirt-mdev', ['modify', '-u', U, '--auto']).status).toBe(0);
    expect(run('tsvirt-vm', ['--cpus', '1', '--mdev', U, '--no-summary']).status).toBe(0);
  }, 200_000);

  it('tsvirt-mdev: a refused operation is status 1, a bad command line status 2, one line each', () => {
    const r1 = run('tsvirt-mdev', ['stop', '-u', '11111111-2222-3333-4444-555555555555']);
    expect([r1.status, r1.lines]).toEqual([
      1,
      ['tsvirt-mdev: 11111111-2222-3333-4444-555555555555 is not started'],
    ]);
    const r2 = run('tsvirt-mdev', ['start', '--bogus']);
    expect([r2.status, r2.lines]).toEqual([2, ["tsvirt-mdev: unknown option '--bogus'"]]);
    const r3 = run('tsvirt-mdev', ['types', '--dumpjson']);
    expect(r3.status).toBe(0);
    expect(Object.keys(JSON.parse(r3.stdout)[0])).toEqual(['sample-gpu']);
  }, 120_000);

  it('--mdev UUID: unknown, on a parent no module registers, of a type the parent lacks, with attributes', () => {
    const other = '9f579710-6ffc-4201-987a-4ffa0fb1f3a5';
    expect(refused(['--mdev', other])).toBe(
      `vm: --mdev ${other}: no such mdev defined or started in ${store}`,
    );
    mkdirSync(join(store, 'nvidia'), { recursive: true });
    writeFileSync(
      join(store, 'nvidia', other),
      JSON.stringify({ mdev_type: 'nvidia-36', start: 'auto', attrs: [] }),
    );
    expect(refused(['--mdev', other])).toBe(
      `vm: --mdev ${other}: parent nvidia is not registered (load its --plugin)`,
    );
    mkdirSync(join(store, 'sample-gpu'), { recursive: true });
    const t = '5cf14a12-a437-4c82-a13f-70e945782d7b';
    writeFileSync(
      join(store, 'sample-gpu', t),
      JSON.stringify({ mdev_type: 'sample_gpu-huge', start: 'auto' }),
    );
    expect(refused(['--mdev', t])).toMatch(
      new RegExp(`^vm: --mdev ${t}: parent sample-gpu has no type sample_gpu-huge`),
    );
    writeFileSync(
      join(store, 'sample-gpu', t),
      JSON.stringify({ mdev_type: 'sample_gpu-small', start: 'auto', attrs: [{ vram: '8M' }] }),
    );
    expect(refused(['--mdev', t])).toBe(
      `vm: --mdev ${t}: attribute vram: the device has no such attribute (ENOENT)`,
    );
    writeFileSync(join(store, 'sample-gpu', t), '{');
    expect(refused(['--mdev', t])).toMatch(
      new RegExp(`^vm: --mdev ${t}: ${join(store, 'sample-gpu', t)}: not JSON`),
    );
  }, 200_000);
});
