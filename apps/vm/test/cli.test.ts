import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MDEV_TYPE, parseArgs } from '../src/cli.ts';
import * as exits from '../src/config-error.ts';
import { VmConfigError } from '../src/config-error.ts';

function err(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(VmConfigError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('VMM command line', () => {
  it('has defaults that boot the built-in guest with one GPU', () => {
    expect(parseArgs([])).toMatchObject({
      mem: 256 * 2 ** 20,
      cpus: 2,
      kernel: undefined,
      mdev: [DEFAULT_MDEV_TYPE],
      plugin: [],
      summary: true,
    });
  });

  it('takes every flag', () => {
    const o = parseArgs([
      '--mem',
      '1G',
      '--cpus',
      '4',
      '--kernel',
      'u-boot.bin',
      '--mdev',
      'a',
      '--mdev',
      'b',
      '--plugin',
      'p.ts',
      '--append',
      'console=ttyS0',
      '--initrd',
      'initramfs.cpio',
      '--screenshot',
      's.png',
      '--screenshot-every',
      '2',
      '--quantum',
      '5000',
      '--jit-threshold',
      '64',
      '--jit-tier',
      'wasm',
      '--no-summary',
    ]);
    expect(o).toMatchObject({
      mem: 2 ** 30,
      cpus: 4,
      kernel: 'u-boot.bin',
      mdev: ['a', 'b'],
      plugin: ['p.ts'],
      append: 'console=ttyS0',
      initrd: 'initramfs.cpio',
      screenshot: 's.png',
      screenshotEvery: 2,
      quantum: 5000,
      jit: true,
      jitThreshold: 64,
      jitTier: 'wasm',
      summary: false,
    });
    expect(parseArgs(['--no-jit'])).toMatchObject({ jit: false, jitThreshold: undefined });
    expect(parseArgs([])).toMatchObject({ jit: true, jitThreshold: undefined });
  });

  it('refuses bad values with one line each', () => {
    expect(err(['--cpus', '0'])).toMatch(/--cpus must be an integer from 1 to 8/);
    expect(err(['--cpus', 'two'])).toMatch(/--cpus/);
    expect(err(['--mem', 'lots'])).toMatch(/not a size/);
    expect(err(['--bogus'])).toMatch(/unknown option '--bogus'/);
    expect(err(['--screenshot-every', '1'])).toMatch(/needs --screenshot/);
    expect(err(['--jit-threshold', '0'])).toMatch(/--jit-threshold must be an integer from 1 to 65535/);
    expect(err(['--jit-tier', 'llvm'])).toMatch(/--jit-tier must be js or wasm/);
    expect(err(['stray'])).toMatch(/too many arguments|unexpected/i);
    for (const m of [err(['--cpus', '0']), err(['--bogus'])]) expect(m).not.toContain('\n');
  });

  it('documents every flag and the exit statuses in --help', () => {
    let text = '';
    expect(() => parseArgs(['--help'], { write: (s) => (text += s) })).toThrow();
    for (const flag of [
      '--mem',
      '--cpus',
      '--kernel',
      '--mdev',
      '--plugin',
      '--append',
      '--screenshot',
      '--screenshot-every',
      '--quantum',
      '--no-jit',
      '--jit-threshold',
      '--jit-tier',
      '--no-summary',
    ]) {
      expect(text).toContain(flag);
    }
    expect(text).toMatch(/Exit status:/);
    expect(text).toMatch(/Ctrl-A x/);
  });

  it('--help and the README list the same exit statuses, every one the VMM can return', () => {
    let text = '';
    expect(() => parseArgs(['--help'], { write: (s) => (text += s) })).toThrow();
    const all = Object.entries(exits)
      .filter(([k]) => k.startsWith('EXIT_'))
      .map(([, v]) => v as number)
      .sort((a, b) => a - b);
    const help = [...text.split('Exit status:')[1]!.matchAll(/^ {2}(\d+) /gm)].map((m) => Number(m[1]));
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const table = [...readme.split('## Exit status')[1]!.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(help).toEqual(all);
    expect(table).toEqual(all);
  });
});
