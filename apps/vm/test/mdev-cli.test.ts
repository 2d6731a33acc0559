import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { vmVersion } from '../src/cli.ts';
import { runMdevCli } from '../src/mdev-cli/program.ts';
import { MdevStore, mdevStoreDir } from '../src/mdev-cli/store.ts';

const U1 = '83c32df7-d52e-4ec1-9668-1f3c7e4df107';
const U2 = '6eba5b41-176e-40db-b93e-7f18e04e0b93';
const SMALL = 'sample_gpu-small';
const fixtures = join(import.meta.dirname, 'fixtures');

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mdevctl-'));
});

/** Run tsvirt-mdev in this process against the test's store directory. */
async function mdev(...argv: string[]) {
  let out = '';
  let err = '';
  const status = await runMdevCli(argv, {
    out: (s) => (out += s),
    err: (s) => (err += s),
    env: { TSVIRT_MDEV_DIR: dir },
  });
  return { status, out, err };
}

/** A refused operation: status 1 (or 2 for a bad command line) and exactly one line. */
async function refused(status: number, ...argv: string[]): Promise<string> {
  const r = await mdev(...argv);
  expect(r.status, r.err).toBe(status);
  expect(r.out).toBe('');
  expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
  return r.err.trimEnd();
}

describe('tsvirt-mdev: where definitions live', () => {
  it('$TSVIRT_MDEV_DIR, else ~/.config/tsvirt/mdevctl.d', () => {
    expect(mdevStoreDir({ TSVIRT_MDEV_DIR: '/x' })).toBe('/x');
    expect(mdevStoreDir({})).toMatch(/\/\.config\/tsvirt\/mdevctl\.d$/);
  });

  it("define writes <dir>/<parent>/<uuid> in mdevctl's config format", async () => {
    expect(await mdev('define', '-u', U1, '-p', 'sample-gpu', '-t', SMALL, '--auto')).toEqual({
      status: 0,
      out: '',
      err: '',
    });
    expect(JSON.parse(readFileSync(join(dir, 'sample-gpu', U1), 'utf8'))).toEqual({
      mdev_type: SMALL,
      start: 'auto',
      attrs: [],
    });
  });
});

describe('tsvirt-mdev types', () => {
  it('lists the built-in parent as text and as mdevctl types --dumpjson', async () => {
    const text = await mdev('types');
    expect(text.status).toBe(0);
    expect(text.out).toMatch(
      /^sample-gpu\n {2}sample_gpu-small\n {4}Available instances: 32\n {4}Device API: vfio-pci\n/,
    );
    const json = JSON.parse((await mdev('types', '--dumpjson')).out);
    expect(json).toHaveLength(1);
    expect(Object.keys(json[0])).toEqual(['sample-gpu']);
    expect(json[0]['sample-gpu'][0]).toEqual({
      [SMALL]: {
        available_instances: 32,
        device_api: 'vfio-pci',
        name: 'sample GPU small',
        description: '4 MiB VRAM, XRGB8888 up to 4096x4096',
      },
    });
    expect(json[0]['sample-gpu'].map((t: object) => Object.keys(t)[0])).toEqual([
      SMALL,
      'sample_gpu-medium',
      'sample_gpu-large',
    ]);
  });

  it('--parent filters (an unknown parent lists nothing: [])', async () => {
    expect((await mdev('types', '-p', 'sample-gpu')).out).toMatch(/^sample-gpu\n/);
    expect(await mdev('types', '-p', 'nvidia', '--dumpjson')).toEqual({ status: 0, out: '[]\n', err: '' });
  });

  it("--plugin adds a plugin's parents; a plugin that does not load is one line, status 1", async () => {
    const bad = join(fixtures, 'plugin-register-throws.ts');
    expect(await refused(1, 'types', '--plugin', bad)).toBe(
      `tsvirt-mdev: --plugin ${bad}: module broken-gpu: register() failed: firmware blob not found (EINVAL)`,
    );
  });
});

describe('tsvirt-mdev define / list / undefine', () => {
  it("define without --uuid prints the new UUID; list -d shows it; --dumpjson has mdevctl's shape", async () => {
    const r = await mdev('define', '-p', 'sample-gpu', '-t', SMALL);
    expect(r.status).toBe(0);
    const uuid = r.out.trim();
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await mdev('list', '-d')).out).toBe(`${uuid} sample-gpu ${SMALL} manual\n`);
    expect((await mdev('list')).out).toBe(''); // defined, not started
    expect(JSON.parse((await mdev('list', '-d', '--dumpjson')).out)).toEqual([
      { 'sample-gpu': [{ [uuid]: { mdev_type: SMALL, start: 'manual', attrs: [] } }] },
    ]);
    // One device by UUID: its config file alone, as mdevctl.
    expect(JSON.parse((await mdev('list', '-d', '-u', uuid, '--dumpjson')).out)).toEqual({
      mdev_type: SMALL,
      start: 'manual',
      attrs: [],
    });
    expect(JSON.parse((await mdev('list', '--dumpjson')).out)).toEqual([]);
  });

  it('the same UUID may be defined on two parents; undefine removes both unless --parent', async () => {
    await mdev('define', '-u', U1, '-p', 'sample-gpu', '-t', SMALL);
    await mdev('define', '-u', U1, '-p', 'other-gpu', '-t', 'whatever'); // an unknown parent: not checked
    expect((await mdev('list', '-d')).out).toBe(
      `${U1} other-gpu whatever manual\n${U1} sample-gpu ${SMALL} manual\n`,
    );
    expect((await mdev('list', '-d', '-p', 'other-gpu')).out).toBe(`${U1} other-gpu whatever manual\n`);
    expect(await mdev('undefine', '-u', U1, '-p', 'other-gpu')).toEqual({ status: 0, out: '', err: '' });
    expect((await mdev('list', '-d')).out).toBe(`${U1} sample-gpu ${SMALL} manual\n`);
    await mdev('define', '-u', U1, '-p', 'other-gpu', '-t', 'whatever');
    expect((await mdev('undefine', '-u', U1)).status).toBe(0);
    expect((await mdev('list', '-d')).out).toBe('');
  });

  it("define --jsonfile takes mdevctl's config file; define -u of a started device makes it persistent", async () => {
    const f = join(dir, 'cfg.json');
    writeFileSync(f, JSON.stringify({ mdev_type: SMALL, start: 'auto', attrs: [{ a: '1' }] }));
    expect((await mdev('define', '-u', U1, '-p', 'sample-gpu', '--jsonfile', f)).status).toBe(0);
    expect((await mdev('list', '-d', '-v')).out).toBe(
      `${U1} sample-gpu ${SMALL} auto\n  Attrs:\n    @{0}: {"a":"1"}\n`,
    );
    expect((await mdev('start', '-u', U2, '-p', 'sample-gpu', '-t', SMALL)).status).toBe(0);
    expect((await mdev('define', '-u', U2)).status).toBe(0);
    expect((await mdev('list', '-d', '-u', U2)).out).toBe(`${U2} sample-gpu ${SMALL} manual (active)\n`);
  });

  it('refuses, one line each: a known parent without the type, a second definition, missing parts, conflicts', async () => {
    expect(await refused(1, 'define', '-p', 'sample-gpu', '-t', 'nope')).toBe(
      'tsvirt-mdev: parent sample-gpu has no type nope (it has: sample_gpu-small, sample_gpu-medium, sample_gpu-large)',
    );
    await mdev('define', '-u', U1, '-p', 'sample-gpu', '-t', SMALL);
    expect(await refused(1, 'define', '-u', U1, '-p', 'sample-gpu', '-t', SMALL)).toBe(
      `tsvirt-mdev: ${U1} is already defined on parent sample-gpu`,
    );
    expect(await refused(1, 'define', '-p', 'sample-gpu')).toBe(
      'tsvirt-mdev: define needs --type or --jsonfile',
    );
    expect(await refused(1, 'define', '-t', SMALL)).toBe(
      'tsvirt-mdev: define needs --parent (with --type or --jsonfile), or --uuid of a started device',
    );
    expect(await refused(1, 'define', '-u', U2, '-t', SMALL)).toBe(
      'tsvirt-mdev: --type and --jsonfile need --parent',
    );
    expect(await refused(1, 'define', '-u', U2)).toBe(
      `tsvirt-mdev: ${U2} is not started; give --parent and --type to define it`,
    );
    expect(await refused(1, 'define', '-p', 'p', '-t', 't', '--jsonfile', 'x.json')).toBe(
      'tsvirt-mdev: --jsonfile replaces --type and --auto',
    );
    expect(await refused(1, 'undefine', '-u', U2)).toBe(`tsvirt-mdev: ${U2} is not defined`);
    expect(await refused(1, 'undefine', '-u', U1, '-p', 'other')).toBe(
      `tsvirt-mdev: ${U1} is not defined on parent other`,
    );
  });

  it('a bad --jsonfile: missing, not JSON, an unknown key, a bad start, bad attrs', async () => {
    const missing = join(dir, 'missing.json');
    expect(await refused(1, 'define', '-p', 'p', '--jsonfile', missing)).toBe(
      `tsvirt-mdev: --jsonfile ${missing}: ENOENT`,
    );
    const cases: [string, string][] = [
      ['{', 'not JSON: '],
      ['[]', 'not a JSON object'],
      ['{"mdev_type": "t", "parent": "p"}', 'unknown key "parent"'],
      ['{"start": "auto"}', '"mdev_type" must be a non-empty string'],
      ['{"mdev_type": "t", "start": "boot"}', '"start" must be "auto" or "manual"'],
      ['{"mdev_type": "t", "attrs": {}}', '"attrs" must be an array'],
      [
        '{"mdev_type": "t", "attrs": [{"a": "1", "b": "2"}]}',
        '"attrs"[0] must be one {"name": "value"} pair of strings',
      ],
      ['{"mdev_type": "t", "attrs": [{"a": 1}]}', '"attrs"[0] must be one {"name": "value"} pair of strings'],
    ];
    for (const [body, why] of cases) {
      const f = join(dir, 'bad.json');
      writeFileSync(f, body);
      expect(await refused(1, 'define', '-p', 'p', '--jsonfile', f)).toContain(
        `tsvirt-mdev: --jsonfile ${f}: ${why}`,
      );
    }
  });

  it('a malformed file in the store is one line naming it, not a stack trace', async () => {
    mkdirSync(join(dir, 'sample-gpu'));
    writeFileSync(join(dir, 'sample-gpu', U1), '{"mdev_type": 5}');
    expect(await refused(1, 'list', '-d')).toBe(
      `tsvirt-mdev: ${join(dir, 'sample-gpu', U1)}: "mdev_type" must be a non-empty string`,
    );
    // Files that are not UUIDs are not definitions (mdevctl skips them).
    writeFileSync(join(dir, 'sample-gpu', U1), '{"mdev_type": "x"}');
    writeFileSync(join(dir, 'sample-gpu', 'README'), 'notes');
    expect((await mdev('list', '-d')).out).toBe(`${U1} sample-gpu x manual\n`);
  });
});

describe('tsvirt-mdev start / stop', () => {
  it('start marks a defined device started (list shows it, "(defined)"); stop clears it', async () => {
    await mdev('define', '-u', U1, '-p', 'sample-gpu', '-t', SMALL);
    expect(await mdev('start', '-u', U1)).toEqual({ status: 0, out: '', err: '' });
    expect((await mdev('list')).out).toBe(`${U1} sample-gpu ${SMALL} (defined)\n`);
    expect(JSON.parse((await mdev('list', '--dumpjson')).out)).toEqual([
      { 'sample-gpu': [{ [U1]: { mdev_type: SMALL, start: 'manual', attrs: [] } }] },
    ]);
    expect(await mdev('stop', '-u', U1)).toEqual({ status: 0, out: '', err: '' });
    expect((await mdev('list')).out).toBe('');
    expect((await mdev('list', '-d')).out).toBe(`${U1} sample-gpu ${SMALL} manual\n`);
  });

  it('a transient device: start -p -t prints a new UUID; it is not defined', async () => {
    const r = await mdev('start', '-p', 'sample-gpu', '-t', SMALL);
    const uuid = r.out.trim();
    expect(new MdevStore(dir).findActive(uuid)?.config.mdev_type).toBe(SMALL);
    expect((await mdev('list')).out).toBe(`${uuid} sample-gpu ${SMALL}\n`);
    expect((await mdev('list', '-d')).out).toBe('');
  });

  it('refuses: started twice, not defined without -p/-t, a conflicting type, ambiguous parents, stop of a stopped one', async () => {
    await mdev('define', '-u', U1, '-p', 'sample-gpu', '-t', SMALL);
    await mdev('start', '-u', U1);
    expect(await refused(1, 'start', '-u', U1)).toBe(`tsvirt-mdev: ${U1} is already started`);
    expect(await refused(1, 'start', '-u', U1, '-t', 'sample_gpu-large')).toBe(
      `tsvirt-mdev: ${U1} is defined with type ${SMALL}, not sample_gpu-large`,
    );
    expect(await refused(1, 'start', '-u', U2)).toBe(
      `tsvirt-mdev: ${U2} is not defined; give --parent and --type`,
    );
    expect(await refused(1, 'start')).toBe('tsvirt-mdev: start needs --uuid, or --parent and --type');
    expect(await refused(1, 'start', '-p', 'sample-gpu')).toBe(
      'tsvirt-mdev: start needs --type or --jsonfile',
    );
    expect(await refused(1, 'start', '-p', 'sample-gpu', '-t', 'nope')).toMatch(
      /parent sample-gpu has no type nope/,
    );
    await mdev('define', '-u', U2, '-p', 'a', '-t', 'x');
    await mdev('define', '-u', U2, '-p', 'b', '-t', 'x');
    expect(await refused(1, 'start', '-u', U2)).toBe(
      `tsvirt-mdev: ${U2} is defined on several parents; give --parent`,
    );
    expect((await mdev('start', '-u', U2, '-p', 'b')).status).toBe(0);
    expect(await refused(1, 'stop', '-u', U1.replace('8', '9'))).toMatch(/is not started$/);
    expect(await refused(1, 'start', '-u', U1, '--jsonfile', 'f.json')).toBe(
      `tsvirt-mdev: ${U1} is defined; --jsonfile is for a transient device`,
    );
  });
});

describe('tsvirt-mdev modify', () => {
  beforeEach(async () => {
    await mdev('define', '-u', U1, '-p', 'sample-gpu', '-t', SMALL);
  });
  const config = () => JSON.parse(readFileSync(join(dir, 'sample-gpu', U1), 'utf8'));

  it('changes type and start mode; adds attributes at the end or at --index; deletes by --index', async () => {
    expect((await mdev('modify', '-u', U1, '-t', 'sample_gpu-large', '--auto')).status).toBe(0);
    expect(config()).toEqual({ mdev_type: 'sample_gpu-large', start: 'auto', attrs: [] });
    await mdev('modify', '-u', U1, '--manual');
    await mdev('modify', '-u', U1, '--addattr', 'a', '--value', '1');
    await mdev('modify', '-u', U1, '--addattr', 'b', '--value', '2');
    await mdev('modify', '-u', U1, '--addattr', 'c', '--value', '3', '--index', '0');
    expect(config()).toEqual({
      mdev_type: 'sample_gpu-large',
      start: 'manual',
      attrs: [{ c: '3' }, { a: '1' }, { b: '2' }],
    });
    await mdev('modify', '-u', U1, '--delattr', '--index', '1');
    expect(config().attrs).toEqual([{ c: '3' }, { b: '2' }]);
    const f = join(dir, 'new.json');
    writeFileSync(f, JSON.stringify({ mdev_type: SMALL }));
    await mdev('modify', '-u', U1, '--jsonfile', f);
    expect(config()).toEqual({ mdev_type: SMALL, start: 'manual', attrs: [] });
  });

  it('leaves a started device as it was started', async () => {
    await mdev('start', '-u', U1);
    await mdev('modify', '-u', U1, '-t', 'sample_gpu-large');
    expect(new MdevStore(dir).findActive(U1)?.config.mdev_type).toBe(SMALL);
  });

  it('refuses, one line each, changing nothing', async () => {
    const before = config();
    const cases: [string[], string][] = [
      [['--auto', '--manual'], '--auto and --manual together'],
      [['--addattr', 'a'], '--addattr needs --value'],
      [['--value', '1'], '--value needs --addattr'],
      [['--addattr', 'a', '--value', '1', '--delattr'], '--addattr and --delattr together'],
      [['--delattr'], '--delattr needs --index'],
      [['--delattr', '--index', '0'], '--index 0: there are 0 attributes'],
      [['--addattr', 'a', '--value', '1', '--index', '3'], '--index 3: there are 0 attributes'],
      [['--index', '0'], '--index needs --addattr or --delattr'],
      [
        ['-t', 'nope'],
        'parent sample-gpu has no type nope (it has: sample_gpu-small, sample_gpu-medium, sample_gpu-large)',
      ],
      [['--jsonfile', 'x.json', '--auto'], '--jsonfile replaces the whole config; give no other change'],
    ];
    for (const [args, why] of cases)
      expect(await refused(1, 'modify', '-u', U1, ...args)).toBe(`tsvirt-mdev: ${why}`);
    expect(await refused(1, 'modify', '-u', U2, '--auto')).toBe(`tsvirt-mdev: ${U2} is not defined`);
    expect(await refused(2, 'modify', '-u', U1, '--delattr', '--index', '-1')).toMatch(
      /the index is a non-negative integer/,
    );
    await mdev('define', '-u', U1, '-p', 'other', '-t', 'x');
    expect(await refused(1, 'modify', '-u', U1, '--auto')).toBe(
      `tsvirt-mdev: ${U1} is defined on several parents; give --parent`,
    );
    expect(config()).toEqual(before);
  });
});

describe('tsvirt-mdev: a bad command line is status 2 and one line', () => {
  it.each([
    [['bogus'], "unknown command 'bogus'"],
    [['list', '--bogus'], "unknown option '--bogus'"],
    [['list', '-u', 'abc'], '"abc" is not a UUID'],
    [['stop'], "required option '-u, --uuid <uuid>' not specified"],
    [['undefine'], "required option '-u, --uuid <uuid>' not specified"],
    [['list', 'extra'], 'too many arguments'],
  ])('%j', async (argv, why) => {
    expect(await refused(2, ...argv)).toContain(why);
    expect(existsSync(join(dir, '.active'))).toBe(false);
  });

  it('--version is status 0 and the package version', async () => {
    expect(await mdev('--version')).toEqual({ status: 0, out: `${vmVersion()}\n`, err: '' });
  });

  it('--help is status 0 and names every command', async () => {
    const r = await mdev('--help');
    expect(r.status).toBe(0);
    for (const c of ['types', 'list', 'define', 'undefine', 'start', 'stop', 'modify'])
      expect(r.out).toContain(c);
  });
});

describe('tsvirt-mdev as a command', () => {
  it('a reader that has gone (| true) ends it quietly with status 141, no stack trace', () => {
    const bin = join(import.meta.dirname, '..', 'bin', 'tsvirt-mdev.mjs');
    const r = spawnSync(
      'bash',
      ['-c', `"${process.execPath}" "${bin}" types | true; echo "status \${PIPESTATUS[0]}"`],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.stdout.trim()).toBe('status 141');
    expect(r.stderr).toBe('');
  }, 150_000);
});
