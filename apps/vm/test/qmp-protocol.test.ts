import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeEach, describe, expect, it } from 'vitest';
import { BarEmulation } from '../src/pci/bar-emulation.ts';
import type { PciFunction } from '../src/pci/pci-function.ts';
import type { QmpCommandContext } from '../src/qmp/command-table.ts';
import { defaultQmpCommands } from '../src/qmp/commands/index.ts';
import { JSON_MAX_NESTING } from '../src/qmp/json-streamer.ts';
import { RunControl } from '../src/qmp/run-control.ts';
import { QmpSession } from '../src/qmp/session.ts';
import type { QmpVm } from '../src/qmp/vm.ts';
import type { RgbaImage } from '../src/screenshot.ts';

/**
 * The protocol layer driven as a client would, with replies read as the QMP
 * specification defines them: one JSON object per CRLF-terminated line.
 */
type Msg = Record<string, any>;

/** A PCI function with a fixed config space: 1af4:1050 class 0x0380, pin A, line 5, BAR0 4 KiB, BAR2 64-bit prefetch 1 MiB. */
function fakeFunction(): { config: PciFunction; bars: BarEmulation } {
  const cfg = new Uint8Array(256);
  const dv = new DataView(cfg.buffer);
  dv.setUint16(0x00, 0x1af4, true);
  dv.setUint16(0x02, 0x1050, true);
  dv.setUint16(0x0a, 0x0380, true);
  dv.setUint16(0x2c, 0x1af4, true);
  dv.setUint16(0x2e, 0x1100, true);
  cfg[0x3c] = 5;
  cfg[0x3d] = 1;
  const config: PciFunction = {
    configRead: (off, size) =>
      size === 1 ? cfg[off]! : size === 2 ? dv.getUint16(off, true) : dv.getUint32(off, true),
    configWrite: () => [],
  };
  return {
    config,
    bars: new BarEmulation([{ size: 4096 }, { size: 0 }, { size: 1 << 20, is64: true, prefetch: true }]),
  };
}

class Harness {
  readonly lines: string[] = [];
  readonly calls: string[] = [];
  image: RgbaImage | undefined = undefined;
  readonly fn = fakeFunction();
  readonly run: RunControl;
  readonly session: QmpSession;
  private seen = 0;

  constructor() {
    this.run = new RunControl(
      {
        pause: () => this.calls.push('pause'),
        resume: () => this.calls.push('resume'),
        quit: () => this.calls.push('quit'),
      },
      (e, d) => this.session.event(e, d),
    );
    const vm: QmpVm = {
      run: this.run,
      display: () => this.image,
      pciFunctions: () => [{ bus: 0, slot: 3, function: 0, ...this.fn }],
    };
    const commands = defaultQmpCommands();
    const ctx: QmpCommandContext = {
      vm,
      commands,
      version: { qemu: { major: 0, minor: 1, micro: 0 }, package: 'test' },
    };
    this.session = new QmpSession(commands, ctx, (line) => this.lines.push(line));
    this.session.greet();
  }

  /** Send raw text; resolve with the messages it produced. */
  async send(text: string): Promise<Msg[]> {
    this.session.receive(text);
    await this.session.idle();
    const out = this.lines.slice(this.seen);
    this.seen = this.lines.length;
    return out.map((l) => {
      expect(l.endsWith('\r\n')).toBe(true);
      expect(l.slice(0, -2)).not.toContain('\n');
      return JSON.parse(l);
    });
  }

  async negotiated(): Promise<this> {
    await this.send('');
    expect(await this.send('{"execute":"qmp_capabilities"}')).toEqual([{ return: {} }]);
    return this;
  }

  async one(text: string): Promise<Msg> {
    const r = await this.send(text);
    expect(r).toHaveLength(1);
    return r[0]!;
  }
}

const generic = (desc: string) => ({ error: { class: 'GenericError', desc } });

describe('QMP protocol: greeting and capabilities negotiation', () => {
  it('greets with version and capabilities, then refuses commands before qmp_capabilities (CommandNotFound)', async () => {
    const h = new Harness();
    const [greeting] = await h.send('');
    expect(greeting).toEqual({
      QMP: { version: { qemu: { major: 0, minor: 1, micro: 0 }, package: 'test' }, capabilities: [] },
    });
    expect(await h.one('{"execute":"query-status","id":1}')).toEqual({
      id: 1,
      error: { class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" },
    });
    expect(await h.one('{"execute":"stop"}')).toMatchObject({ error: { class: 'CommandNotFound' } });
    expect(h.calls).toEqual([]);
    expect(await h.one('{"execute":"qmp_capabilities","id":"neg"}')).toEqual({ return: {}, id: 'neg' });
    expect(await h.one('{"execute":"qmp_capabilities"}')).toEqual({
      error: {
        class: 'CommandNotFound',
        desc: 'Capabilities negotiation is already complete, command ignored',
      },
    });
  });

  it('qmp_capabilities may enable only offered capabilities (none are)', async () => {
    const h = new Harness();
    await h.send('');
    expect(await h.one('{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}')).toEqual(
      generic("Capability 'oob' not available"),
    );
    expect(await h.one('{"execute":"qmp_capabilities","arguments":{"enable":["x"]}}')).toEqual(
      generic("Parameter 'enable[0]' does not accept value 'x'"),
    );
    expect(await h.one('{"execute":"qmp_capabilities","arguments":{"enable":"oob"}}')).toEqual(
      generic("Invalid parameter type for 'enable', expected: array"),
    );
    expect(await h.one('{"execute":"qmp_capabilities","arguments":{"enable":[]}}')).toEqual({ return: {} });
  });

  it('sends no events before negotiation completes', async () => {
    const h = new Harness();
    await h.send('');
    h.run.powerdown();
    expect(await h.send('')).toEqual([]);
    await h.one('{"execute":"qmp_capabilities"}');
    h.run.powerdown();
    const [ev] = await h.send('');
    expect(ev).toMatchObject({ event: 'POWERDOWN' });
    expect(Object.keys(ev!).sort()).toEqual(['event', 'timestamp']);
    expect(Number.isInteger(ev!.timestamp.seconds) && ev!.timestamp.seconds > 1.6e9).toBe(true);
    expect(ev!.timestamp.microseconds).toBeGreaterThanOrEqual(0);
    expect(ev!.timestamp.microseconds).toBeLessThan(1e6);
  });
});

describe('QMP protocol: input framing and JSON errors (GenericError, the VM unaffected)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await new Harness().negotiated();
  });

  it('messages need no delimiter, may share a read, or arrive one byte at a time', async () => {
    const r = await h.send('{"execute":"query-status","id":1}{"execute":"query-version","id":2}');
    expect(r.map((m) => m.id)).toEqual([1, 2]);
    const text = '{ "execute" : "query-status",\n "id" : {"a": [1, 2.5, true, null, "\\u00e9\\n"]} }';
    const out: Msg[] = [];
    for (const c of text) out.push(...(await h.send(c)));
    expect(out).toEqual([
      { return: { running: true, status: 'running' }, id: { a: [1, 2.5, true, null, 'é\n'] } },
    ]);
  });

  it('echoes any id exactly, including null, a huge integer and single-quoted strings', async () => {
    expect(await h.one('{"execute":"query-status","id":null}')).toMatchObject({ id: null });
    const raw = h.lines.length;
    await h.send('{"execute":"query-status","id":18446744073709551615}');
    expect(h.lines[raw]).toContain('"id": 18446744073709551615');
    expect(await h.one("{'execute':'query-status','id':'it''s'}")).toMatchObject({
      error: { class: 'GenericError' },
    });
    expect(await h.one("{'execute':'query-status','id':'q\\'s'}")).toMatchObject({ id: "q's" });
  });

  it.each([
    ['{"execute":"query-status",}', 'JSON parse error, expecting value'],
    ['}', 'JSON parse error, expecting value'],
    ['[}', 'JSON parse error, expecting value'],
    ['{"execute":"query-status" "x"}', 'JSON parse error, expected separator in dict'],
    ['[1 2]', 'JSON parse error, expected separator in list'],
    ['{"execute":"query-status","execute":"stop"}', 'JSON parse error, duplicate key'],
    ['{1:2}', 'JSON parse error, key is not a string in object'],
    ['{"a" 1}', 'JSON parse error, missing : in object pair'],
    ['{"execute":"q\\x"}', 'JSON parse error, invalid escape sequence in string'],
    ['{"execute":"q\\u00zz"}', 'JSON parse error, invalid escape sequence in string'],
    ['{"execute":"\\u0000"}', 'JSON parse error, \\u0000 is not supported'],
    ['tru ', "JSON parse error, invalid keyword 'tru'"],
    ['@', "JSON parse error, stray '@'"],
    ['01 ', "JSON parse error, stray '01'"],
  ])('%s -> %s', async (input, desc) => {
    expect(await h.one(input)).toEqual(generic(desc));
    // The stream resynchronises and the next command is answered.
    expect(await h.one('\n{"execute":"query-status"}')).toEqual({
      return: { running: true, status: 'running' },
    });
    expect(h.calls).toEqual([]);
  });

  it('after a lexical error it skips to a structural character, as QEMU: one error per bad message', async () => {
    expect(await h.send('{"a":@}{"execute":"query-status"}')).toEqual([
      generic("JSON parse error, stray '@'"),
      generic('JSON parse error, expecting value'),
      { return: { running: true, status: 'running' } },
    ]);
    expect(await h.send('{"a":"x\u0001"}\n{"execute":"query-status"}')).toEqual([
      generic(`JSON parse error, stray '"x'`),
      generic("JSON parse error, stray '\u0001'"),
      generic('JSON parse error, expecting value'),
      { return: { running: true, status: 'running' } },
    ]);
  });

  it('an unclosed object waits for more input; too deep a nesting is refused and forgotten', async () => {
    expect(await h.send('{"execute":')).toEqual([]);
    expect(await h.send('"query-status"}')).toEqual([{ return: { running: true, status: 'running' } }]);
    const deep = '['.repeat(JSON_MAX_NESTING + 1);
    expect(await h.send(deep)).toEqual([generic('JSON nesting depth limit exceeded')]);
    expect(await h.one('{"execute":"query-status"}')).toMatchObject({ return: { running: true } });
  });

  it.each([['42 '], ['[1,2]'], ['"str"'], ['null '], ['true ']])(
    'a non-object (%s) is refused: QMP input must be a JSON object',
    async (input) => {
      expect(await h.one(input)).toEqual(generic('QMP input must be a JSON object'));
    },
  );
});

describe('QMP protocol: request members and arguments (GenericError / CommandNotFound)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await new Harness().negotiated();
  });

  it.each([
    ['{"id":1}', "QMP input lacks member 'execute'", 1],
    ['{"execute":5,"id":2}', "QMP input member 'execute' must be a string", 2],
    [
      '{"execute":"query-status","arguments":[]}',
      "QMP input member 'arguments' must be an object",
      undefined,
    ],
    [
      '{"execute":"query-status","arguments":null}',
      "QMP input member 'arguments' must be an object",
      undefined,
    ],
    ['{"execute":"query-status","control":{}}', "QMP input member 'control' is unexpected", undefined],
    ['{"exec-oob":"query-status","id":3}', "QMP input member 'exec-oob' is unexpected", 3],
  ])('%s', async (input, desc, id) => {
    expect(await h.one(input)).toEqual({ ...generic(desc), ...(id === undefined ? {} : { id }) });
  });

  it('an unknown command is CommandNotFound (names are case-sensitive)', async () => {
    expect(await h.one('{"execute":"Query-Status","id":"x"}')).toEqual({
      id: 'x',
      error: { class: 'CommandNotFound', desc: 'The command Query-Status has not been found' },
    });
  });

  it.each([
    ['{}', "Parameter 'filename' is missing"],
    ['{"filename":5}', "Invalid parameter type for 'filename', expected: string"],
    ['{"filename":null}', "Invalid parameter type for 'filename', expected: string"],
    ['{"filename":"/x","foo":1}', "Parameter 'foo' is unexpected"],
    ['{"foo":1}', "Parameter 'filename' is missing"],
    ['{"filename":"/x","format":"jpg"}', "Parameter 'format' does not accept value 'jpg'"],
    ['{"filename":"/x","format":5}', "Invalid parameter type for 'format', expected: string"],
    ['{"filename":"/x","head":1.5}', "Invalid parameter type for 'head', expected: integer"],
    ['{"filename":"/x","head":18446744073709551615}', "Invalid parameter type for 'head', expected: integer"],
    ['{"filename":"/x","head":1}', "'head' must be specified together with 'device'"],
  ])('screendump %s -> %s', async (args, desc) => {
    expect(await h.one(`{"execute":"screendump","arguments":${args}}`)).toEqual(generic(desc));
  });

  it('a command with no arguments refuses any, and accepts an empty object', async () => {
    expect(await h.one('{"execute":"query-status","arguments":{"x":1}}')).toEqual(
      generic("Parameter 'x' is unexpected"),
    );
    expect(await h.one('{"execute":"query-status","arguments":{}}')).toMatchObject({ return: {} });
  });
});

describe('QMP commands against the run control', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await new Harness().negotiated();
  });

  it('stop pauses (STOP before the reply), a second stop is silent, cont resumes (RESUME), a second cont is silent', async () => {
    const r = await h.send('{"execute":"stop","id":1}');
    expect(r.map((m) => m.event ?? m.return)).toEqual(['STOP', {}]);
    expect(await h.one('{"execute":"query-status"}')).toEqual({
      return: { running: false, status: 'paused' },
    });
    expect(await h.send('{"execute":"stop"}')).toEqual([{ return: {} }]);
    const c = await h.send('{"execute":"cont"}');
    expect(c.map((m) => m.event ?? m.return)).toEqual(['RESUME', {}]);
    expect(await h.send('{"execute":"cont"}')).toEqual([{ return: {} }]);
    expect(h.calls).toEqual(['pause', 'resume']);
  });

  it('quit sends SHUTDOWN (host-qmp-quit) before its reply; cont after a shutdown needs a reset', async () => {
    const r = await h.send('{"execute":"quit","id":7}');
    expect(r[0]).toMatchObject({ event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' } });
    expect(r[1]).toEqual({ return: {}, id: 7 });
    expect(h.calls).toEqual(['quit']);
    expect(await h.one('{"execute":"query-status"}')).toEqual({
      return: { running: false, status: 'shutdown' },
    });
    expect(await h.one('{"execute":"cont"}')).toEqual(generic('Resetting the Virtual Machine is required'));
    expect(await h.send('{"execute":"stop"}')).toEqual([{ return: {} }]);
  });

  it('a guest shutdown is SHUTDOWN {guest: true, reason: guest-shutdown}, sent once', async () => {
    h.run.shutdown(true, 'guest-shutdown');
    h.run.shutdown(true, 'guest-shutdown');
    const r = await h.send('');
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } });
  });

  it('system_powerdown sends POWERDOWN and leaves the VM running', async () => {
    const r = await h.send('{"execute":"system_powerdown"}');
    expect(r.map((m) => m.event ?? m.return)).toEqual(['POWERDOWN', {}]);
    expect(h.calls).toEqual([]);
    expect(await h.one('{"execute":"query-status"}')).toEqual({
      return: { running: true, status: 'running' },
    });
  });

  it('query-commands lists every command; query-version is the greeting version', async () => {
    const { return: cmds } = await h.one('{"execute":"query-commands"}');
    expect(cmds.map((c: { name: string }) => c.name).sort()).toEqual(
      [
        'cont',
        'qmp_capabilities',
        'query-commands',
        'query-pci',
        'query-status',
        'query-version',
        'quit',
        'screendump',
        'stop',
        'system_powerdown',
      ].sort(),
    );
    expect(await h.one('{"execute":"query-version"}')).toEqual({
      return: { qemu: { major: 0, minor: 1, micro: 0 }, package: 'test' },
    });
  });

  it('query-pci: identity from config space, BARs unmapped (-1) until decoded, then at their address', async () => {
    const dev = (await h.one('{"execute":"query-pci"}')).return[0].devices[0];
    expect(dev).toEqual({
      bus: 0,
      slot: 3,
      function: 0,
      class_info: { class: 0x0380, desc: 'Display controller' },
      id: { device: 0x1050, vendor: 0x1af4, subsystem: 0x1100, 'subsystem-vendor': 0x1af4 },
      irq: 5,
      irq_pin: 1,
      qdev_id: '',
      regions: [
        { bar: 0, type: 'memory', address: -1, size: 4096, prefetch: false, mem_type_64: false },
        { bar: 2, type: 'memory', address: -1, size: 1 << 20, prefetch: true, mem_type_64: true },
      ],
    });
    h.fn.bars.writeReg(0, 0x4000_0000);
    h.fn.bars.writeReg(2, 0x0);
    h.fn.bars.writeReg(3, 0x1);
    h.fn.bars.setCommand(0x2);
    const regions = (await h.one('{"execute":"query-pci"}')).return[0].devices[0].regions;
    expect(regions.map((r: { address: number }) => r.address)).toEqual([0x4000_0000, 2 ** 32]);
  });

  it('screendump writes PPM by default and PNG with format png; a bad path or no display is GenericError; a device is DeviceNotFound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qmp-shot-'));
    expect(await h.one(`{"execute":"screendump","arguments":{"filename":"${dir}/a.ppm"}}`)).toEqual(
      generic('There is no console to take a screendump from'),
    );
    h.image = { width: 2, height: 1, rgba: Uint8Array.of(255, 0, 0, 255, 0, 0, 255, 255) };
    expect(await h.one(`{"execute":"screendump","arguments":{"filename":"${dir}/a.ppm"}}`)).toEqual({
      return: {},
    });
    expect([...readFileSync(join(dir, 'a.ppm'))]).toEqual([
      ...Buffer.from('P6\n2 1\n255\n'),
      255,
      0,
      0,
      0,
      0,
      255,
    ]);
    expect(
      await h.one(`{"execute":"screendump","arguments":{"filename":"${dir}/a.png","format":"png"}}`),
    ).toEqual({
      return: {},
    });
    const png = PNG.sync.read(readFileSync(join(dir, 'a.png')));
    expect([png.width, png.height, ...png.data.subarray(4, 8)]).toEqual([2, 1, 0, 0, 255, 255]);
    expect(await h.one(`{"execute":"screendump","arguments":{"filename":"${dir}/no/such/dir.ppm"}}`)).toEqual(
      generic(`failed to open file '${dir}/no/such/dir.ppm': No such file or directory`),
    );
    expect(
      await h.one(`{"execute":"screendump","arguments":{"filename":"${dir}/b.ppm","device":"gpu0"}}`),
    ).toEqual({
      error: { class: 'DeviceNotFound', desc: "Device 'gpu0' not found" },
    });
  });

  it('a session closed mid-command writes nothing more and runs nothing it had not fully received', async () => {
    h.session.receive('{"execute":"stop"');
    h.session.close();
    h.session.receive('}');
    await h.session.idle();
    expect(h.calls).toEqual([]);
    expect(h.run.state).toBe('running');
  });
});
