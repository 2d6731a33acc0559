import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

/** Run the README's first command (scripts/vm.sh) as a user would, with stdin not a TTY. */
function vmSh(args: string[]) {
  return spawnSync('bash', [join(root, 'scripts', 'vm.sh'), ...args], {
    encoding: 'utf8',
    input: '',
    timeout: 180_000,
  });
}

describe('the VMM process (bash scripts/vm.sh)', () => {
  it('boots the default guest: exit 0, the guest on stdout, a summary and the screenshot', () => {
    const png = join(mkdtempSync(join(tmpdir(), 'vm-proc-')), 'screen.png');
    const r = vmSh(['--screenshot', png]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('tsvirt default guest: hello from hart 0');
    expect(r.stdout).toContain('shutting down');
    expect(r.stderr).toMatch(/vm: guest shut down \(status 0\)/);
    expect(r.stderr).toMatch(/instructions retired in [\d.]+ s wall: [\d.]+ MIPS/);
    expect(r.stderr).toMatch(/exits: mmio \d+, system-event 1/);
    expect(existsSync(png)).toBe(true);
    const img = PNG.sync.read(readFileSync(png));
    expect([img.width, img.height]).toEqual([320, 200]);
  }, 200_000);

  it('a bad flag is one line on stderr and status 2; --help is status 0', () => {
    const bad = vmSh(['--cpus', '99']);
    expect(bad.status).toBe(2);
    // Set-up may print its own lines first on a fresh clone; the VMM's error is one line, no stack trace.
    const vmLines = bad.stderr.split('\n').filter((l) => l.startsWith('vm:'));
    expect(vmLines).toEqual([
      "vm: option '-c, --cpus <n>' argument '99' is invalid. --cpus must be an integer from 1 to 8",
    ]);
    expect(bad.stderr).not.toMatch(/^\s+at /m);
    const help = vmSh(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Exit status:');
  }, 200_000);
});
