import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { VmConfigError } from '../src/config-error.ts';

const dir = mkdtempSync(join(tmpdir(), 'mig-config-'));

function cfg(name: string, body: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

function err(argv: string[]): string {
  try {
    parseArgs(argv, { write: () => {} });
  } catch (e) {
    expect(e).toBeInstanceOf(VmConfigError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('--config keys for migration: incoming, restore, progress (each means its flag)', () => {
  it('incoming (tcp:, unix:, file:), restore and progress read as the flags do', () => {
    const tcp = cfg('tcp.json', { incoming: 'tcp:127.0.0.1:4444', progress: true, mem: '256M' });
    expect(parseArgs(['--config', tcp])).toEqual(
      parseArgs(['--incoming', 'tcp:127.0.0.1:4444', '--progress', '--mem', '256M']),
    );
    expect(parseArgs(['--config', tcp])).toMatchObject({
      incoming: { kind: 'tcp', host: '127.0.0.1', port: 4444 },
      progress: true,
    });
    const unix = cfg('unix.json', { incoming: 'unix:/tmp/mig.sock' });
    expect(parseArgs(['--config', unix]).incoming).toEqual({ kind: 'unix', path: '/tmp/mig.sock' });
    // file: is --restore, as on the command line.
    const file = cfg('file.json', { incoming: 'file:/tmp/vm.snap' });
    expect(parseArgs(['--config', file])).toEqual(parseArgs(['--restore', '/tmp/vm.snap']));
    const restore = cfg('restore.json', { restore: '/tmp/vm.snap' });
    expect(parseArgs(['--config', restore]).restore).toBe('/tmp/vm.snap');
    // false is the default (no progress), as json's false.
    const off = cfg('off.json', { progress: false });
    expect(parseArgs(['--config', off])).toEqual(parseArgs([]));
    expect(parseArgs(['--config', off]).progress).toBeUndefined();
  });

  it("wrong types, a refused address and incoming with restore are one line naming the file and the flag's reason", () => {
    const t = cfg('type.json', { incoming: 4444 });
    expect(err(['--config', t])).toBe(`--config ${t}: "incoming" must be a string`);
    const p = cfg('progress.json', { progress: 'yes' });
    expect(err(['--config', p])).toBe(`--config ${p}: "progress" must be true or false`);
    const remote = cfg('remote.json', { incoming: 'tcp:10.0.0.1:4444' });
    expect(err(['--config', remote])).toMatch(
      new RegExp(`^--config ${remote}: option '--incoming <uri>' argument 'tcp:10.0.0.1:4444' is invalid`),
    );
    expect(err(['--incoming', 'tcp:10.0.0.1:4444'])).toMatch(/^option '--incoming <uri>' argument/);
    const both = cfg('both.json', { incoming: 'tcp:127.0.0.1:4444', restore: '/tmp/vm.snap' });
    expect(err(['--config', both])).toBe(
      `--config ${both}: --restore and --incoming name the same thing; give one`,
    );
  });
});
