import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { VmConfigError } from '../src/config-error.ts';
import { main } from '../src/main.ts';
import { parseQmpAddress } from '../src/qmp/address.ts';

async function configError(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(VmConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('no error');
}

const listening = (s: Server, ...args: unknown[]) =>
  new Promise<void>((r) => (s.listen as (...a: unknown[]) => void)(...args, () => r()));

describe('--qmp addresses', () => {
  it.each([
    ['unix:/tmp/q.sock', { kind: 'unix', path: '/tmp/q.sock' }],
    ['unix:/tmp/q.sock,server,nowait', { kind: 'unix', path: '/tmp/q.sock' }],
    ['unix:/tmp/a,,b.sock,server=on,wait=off', { kind: 'unix', path: '/tmp/a,b.sock' }],
    ['tcp:127.0.0.1:4444', { kind: 'tcp', host: '127.0.0.1', port: 4444 }],
    ['tcp:localhost:1', { kind: 'tcp', host: '127.0.0.1', port: 1 }],
    ['tcp:[::1]:65535', { kind: 'tcp', host: '::1', port: 65535 }],
  ])('%s', (spec, want) => {
    expect(parseQmpAddress(spec)).toEqual(want);
  });

  it.each([
    ['stdio', /expected unix:PATH or tcp:127\.0\.0\.1:PORT/],
    ['unix:', /needs a socket path/],
    [`unix:/tmp/${'x'.repeat(120)}`, /at most 107/],
    ['tcp:0.0.0.0:4444', /host 0\.0\.0\.0 is not a loopback address/],
    ['tcp:10.1.2.3:4444', /not a loopback address/],
    ['tcp::4444', /listens on every interface/],
    ['tcp:127.0.0.1', /expected tcp:HOST:PORT/],
    ['tcp:127.0.0.1:0', /port '0' is not a number from 1 to 65535/],
    ['tcp:127.0.0.1:65536', /not a number from 1 to 65535/],
    ['tcp:127.0.0.1:44x', /not a number/],
    ['unix:/tmp/q.sock,wait=on', /unsupported option 'wait=on'/],
  ])('refuses %s', (spec, why) => {
    expect(() => parseQmpAddress(spec)).toThrow(why);
  });

  it('a bad --qmp is a one-line configuration error from the command line', async () => {
    expect(await configError(() => parseArgs(['--qmp', 'tcp:192.168.0.1:4444']))).toBe(
      "option '--qmp <address>' argument 'tcp:192.168.0.1:4444' is invalid. host 192.168.0.1 is not a loopback address (only 127.0.0.1, localhost or [::1] are accepted)",
    );
  });
});

describe('--qmp is refused at start-up when it cannot listen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qmp-start-'));

  it('an existing file that is not a socket is left alone', async () => {
    writeFileSync(join(dir, 'plain'), 'keep me');
    expect(await configError(main(['--qmp', `unix:${join(dir, 'plain')}`]))).toBe(
      `--qmp unix:${join(dir, 'plain')}: ${join(dir, 'plain')} exists and is not a socket`,
    );
    mkdirSync(join(dir, 'adir'));
    expect(await configError(main(['--qmp', `unix:${join(dir, 'adir')}`]))).toMatch(
      /exists and is not a socket/,
    );
  });

  it('a socket another server is listening on', async () => {
    const path = join(dir, 'live.sock');
    const other = createServer();
    await listening(other, path);
    try {
      expect(await configError(main(['--qmp', `unix:${path}`]))).toMatch(/is in use by another server/);
    } finally {
      other.close();
    }
  });

  it('a directory that does not exist, and a TCP port already taken', async () => {
    expect(await configError(main(['--qmp', `unix:${join(dir, 'nodir', 'q.sock')}`]))).toMatch(
      /: directory .*nodir does not exist$/,
    );
    const other = createServer();
    await listening(other, 0, '127.0.0.1');
    const { port } = other.address() as { port: number };
    try {
      expect(await configError(main(['--qmp', `tcp:127.0.0.1:${port}`]))).toBe(
        `--qmp tcp:127.0.0.1:${port}: Address already in use`,
      );
    } finally {
      other.close();
    }
  });

  it('the VMM process exits 2 with one line on stderr', () => {
    const tsx = join(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');
    const r = spawnSync(tsx, ['src/main.ts', '--qmp', `unix:${join(dir, 'plain')}`], {
      cwd: join(import.meta.dirname, '..'),
      encoding: 'utf8',
      input: '',
      timeout: 120_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `vm: --qmp unix:${join(dir, 'plain')}: ${join(dir, 'plain')} exists and is not a socket\n`,
    );
  }, 130_000);
});
