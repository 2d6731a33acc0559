import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MDEV_TYPE, parseArgs, vmVersion } from '../src/cli.ts';
import { VmConfigError } from '../src/config-error.ts';
import { CONFIG_KEYS } from '../src/config-file.ts';
import { parseMdevSpec } from '../src/mdev-spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'vm-flags-'));
const U = '6eba5b41-176e-40db-b93e-7f18e04e0b93';

function err(argv: string[]): string {
  try {
    parseArgs(argv, { write: () => {} });
  } catch (e) {
    expect(e).toBeInstanceOf(VmConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('accepted');
}

function cfg(name: string, body: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
  return file;
}

describe('--mdev TYPE[,uuid=UUID] | UUID', () => {
  it('parses a type, a type with a UUID (lower-cased), and a bare UUID', () => {
    expect(parseMdevSpec('sample_gpu-small')).toEqual({
      kind: 'type',
      type: 'sample_gpu-small',
      uuid: undefined,
    });
    expect(parseMdevSpec(`sample_gpu-small,uuid=${U.toUpperCase()}`)).toEqual({
      kind: 'type',
      type: 'sample_gpu-small',
      uuid: U,
    });
    expect(parseMdevSpec(U)).toEqual({ kind: 'uuid', uuid: U });
    expect(parseArgs(['--mdev', `a,uuid=${U}`, '--mdev', U])).toMatchObject({ mdev: [`a,uuid=${U}`, U] });
  });

  it('refuses a bad UUID, an unknown option, a repeated uuid, options on a UUID, an empty value', () => {
    expect(err(['--mdev', 'a,uuid=123'])).toBe('--mdev a,uuid=123: "123" is not a UUID');
    expect(err(['--mdev', 'a,uuid'])).toBe('--mdev a,uuid: "" is not a UUID');
    expect(err(['--mdev', 'a,vram=4M'])).toBe('--mdev a,vram=4M: unknown option "vram" (only uuid=UUID)');
    expect(err(['--mdev', `a,uuid=${U},uuid=${U}`])).toBe(`--mdev a,uuid=${U},uuid=${U}: uuid given twice`);
    expect(err(['--mdev', `${U},uuid=${U}`])).toBe(
      `--mdev ${U},uuid=${U}: a defined device (UUID) takes no options`,
    );
    expect(err(['--mdev', ''])).toBe('--mdev "": no mdev type or UUID');
  });
});

describe('--json and --version', () => {
  it('--json is off by default and on with the flag', () => {
    expect(parseArgs([]).json).toBe(false);
    expect(parseArgs(['--json']).json).toBe(true);
  });

  it('--version and -V print the package version and stop', () => {
    for (const flag of ['--version', '-V']) {
      let text = '';
      expect(() => parseArgs([flag], { write: (s) => (text += s) })).toThrow(
        expect.objectContaining({ code: 'commander.version' }),
      );
      expect(text).toBe(`${vmVersion()}\n`);
    }
    expect(vmVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('--help lists the new flags', () => {
    let text = '';
    expect(() => parseArgs(['--help'], { write: (s) => (text += s) })).toThrow();
    for (const flag of ['--json', '--config <file>', '--version', 'uuid=UUID']) expect(text).toContain(flag);
  });
});

describe('--config FILE', () => {
  it('every key means its flag: the file and the flags give the same options', () => {
    const file = cfg('full.json', {
      mem: '1G',
      cpus: 4,
      kernel: 'u-boot.bin',
      mdev: ['a', `b,uuid=${U}`],
      plugin: ['p.ts'],
      append: 'console=ttyS0',
      screenshot: 's.png',
      'screenshot-every': 2,
      quantum: 5000,
      jit: false,
      'jit-threshold': 64,
      'jit-tier': 'wasm',
      summary: false,
      qmp: 'tcp:127.0.0.1:4444',
      json: true,
    });
    const flags = parseArgs([
      ...['--mem', '1G', '--cpus', '4', '--kernel', 'u-boot.bin', '--mdev', 'a', '--mdev', `b,uuid=${U}`],
      ...[
        '--plugin',
        'p.ts',
        '--append',
        'console=ttyS0',
        '--screenshot',
        's.png',
        '--screenshot-every',
        '2',
      ],
      ...[
        '--quantum',
        '5000',
        '--no-jit',
        '--jit-threshold',
        '64',
        '--jit-tier',
        'wasm',
        '--no-summary',
        '--qmp',
        'tcp:127.0.0.1:4444',
      ],
      '--json',
    ]);
    expect(parseArgs(['--config', file])).toEqual(flags);
    // The test covers every key the file format has.
    expect(Object.keys(CONFIG_KEYS).sort()).toEqual(
      [
        'mem',
        'cpus',
        'kernel',
        'mdev',
        'plugin',
        'append',
        'screenshot',
        'screenshot-every',
        'quantum',
        'jit',
        'jit-threshold',
        'jit-tier',
        'summary',
        'qmp',
        'json',
        // Migration's (issue 16): test/migration-config.test.ts covers them.
        'incoming',
        'restore',
        'progress',
      ].sort(),
    );
  });

  it('an empty object is the defaults; a number for mem is MiB; true booleans are the defaults', () => {
    expect(parseArgs(['--config', cfg('empty.json', {})])).toEqual(parseArgs([]));
    expect(
      parseArgs(['--config', cfg('mib.json', { mem: 512, jit: true, summary: true, json: false })]),
    ).toMatchObject({
      mem: 512 * 2 ** 20,
      jit: true,
      summary: true,
      json: false,
      mdev: [DEFAULT_MDEV_TYPE],
    });
  });

  it('refuses any other flag given with it, naming the flag (not merged)', () => {
    const file = cfg('ok.json', { cpus: 1 });
    expect(err(['--config', file, '--cpus', '2'])).toBe(
      `--config ${file}: --cpus given too; put it in the file or drop --config`,
    );
    expect(err(['--mem', '1G', '--config', file])).toBe(
      `--config ${file}: --mem given too; put it in the file or drop --config`,
    );
    expect(err(['--config', file, '--no-jit'])).toBe(
      `--config ${file}: --no-jit given too; put it in the file or drop --config`,
    );
    expect(err(['--config', file, '--mdev', 'a'])).toMatch(/--mdev given too/);
  });

  it('every bad file is one line naming it', () => {
    const missing = join(dir, 'missing.json');
    expect(err(['--config', missing])).toBe(`--config ${missing}: no such file`);
    expect(err(['--config', dir])).toBe(`--config ${dir}: is a directory`);
    const notJson = cfg('bad.json', '{"cpus": 1,');
    expect(err(['--config', notJson])).toMatch(new RegExp(`^--config ${notJson}: not JSON: `));
    for (const top of [[], 'x', 3, null]) {
      const f = cfg('top.json', JSON.stringify(top));
      expect(err(['--config', f])).toBe(`--config ${f}: the top level must be a JSON object`);
    }
  });

  it('an unknown key (a typo, or --config itself) is refused', () => {
    const f = cfg('typo.json', { cpu: 2 });
    expect(err(['--config', f])).toMatch(
      new RegExp(`^--config ${f}: unknown key "cpu" \\(known: mem, cpus, `),
    );
    const nested = cfg('nested.json', { config: 'other.json' });
    expect(err(['--config', nested])).toMatch(/unknown key "config"/);
  });

  it.each([
    ['mem', true, 'a size string ("256M") or a number of MiB'],
    ['mem', 1.5, 'a size string ("256M") or a number of MiB'],
    ['cpus', '2', 'an integer'],
    ['cpus', 1.5, 'an integer'],
    ['kernel', 3, 'a string'],
    ['mdev', 'sample_gpu-small', 'an array of strings'],
    ['plugin', [1], 'an array of strings'],
    ['screenshot-every', '2', 'a number'],
    ['jit', 'no', 'true or false'],
    ['summary', 0, 'true or false'],
    ['json', null, 'true or false'],
    ['qmp', {}, 'a string'],
  ])('"%s": %j is refused: must be %s', (key, value, what) => {
    const f = cfg(`type-${key}.json`, { [key]: value });
    expect(err(['--config', f])).toBe(`--config ${f}: "${key}" must be ${what}`);
  });

  it("a value of the right type its flag refuses: the flag's own reason, prefixed with the file", () => {
    const f = cfg('range.json', { cpus: 99 });
    expect(err(['--config', f])).toBe(
      `--config ${f}: option '-c, --cpus <n>' argument '99' is invalid. --cpus must be an integer from 1 to 8`,
    );
    const g = cfg('every.json', { 'screenshot-every': 1 });
    expect(err(['--config', g])).toBe(`--config ${g}: --screenshot-every needs --screenshot <file.png>`);
    const h = cfg('mdev.json', { mdev: ['a,uuid=nope'] });
    expect(err(['--config', h])).toBe(`--config ${h}: --mdev a,uuid=nope: "nope" is not a UUID`);
    const m = cfg('mem.json', { mem: 'lots' });
    expect(err(['--config', m])).toMatch(new RegExp(`^--config ${m}: .*not a size`));
  });

  it('a file that is unreadable', () => {
    if (process.getuid?.() === 0) return; // root reads anything
    const f = cfg('locked.json', {});
    chmodSync(f, 0);
    expect(err(['--config', f])).toBe(`--config ${f}: EACCES`);
  });
});
