import { PassThrough } from 'node:stream';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { CONSOLE_HELP, EscapeParser, TerminalConsole } from '../src/console.ts';
import { encodePng } from '../src/screenshot.ts';

describe('console escape', () => {
  it('passes bytes through and recognises C-a x, C-a h and C-a C-a', () => {
    const p = new EscapeParser();
    expect(p.feed([0x61, 0x62])).toEqual({ guest: [0x61, 0x62], commands: [] });
    expect(p.feed([0x01])).toEqual({ guest: [], commands: [] }); // escape split across reads
    expect(p.feed([0x01, 0x63])).toEqual({ guest: [0x01, 0x63], commands: [] });
    expect(p.feed([0x01, 0x68, 0x01, 0x78])).toEqual({ guest: [], commands: ['help', 'quit'] });
    expect(p.feed([0x01, 0x7a, 0x64])).toEqual({ guest: [0x64], commands: [] }); // unknown key dropped
  });

  it('delivers input, prints help and quits through the stream console', () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const got: number[] = [];
    let quits = 0;
    const c = new TerminalConsole(
      input,
      output,
      (b) => got.push(...b),
      () => quits++,
    );
    c.start();
    input.write(Buffer.from([0x6c, 0x73, 0x01, 0x68, 0x01, 0x78]));
    c.putByte(0x41);
    c.stop();
    expect(got).toEqual([0x6c, 0x73]);
    expect(quits).toBe(1);
    expect(output.read().toString()).toBe(`${CONSOLE_HELP}A`);
  });
});

describe('screenshot', () => {
  it('encodes RGBA pixels as a PNG that decodes to the same pixels', () => {
    const rgba = new Uint8Array(2 * 3 * 4).map((_, i) => (i * 37) & 0xff);
    const back = PNG.sync.read(encodePng({ width: 2, height: 3, rgba }));
    expect([back.width, back.height]).toEqual([2, 3]);
    expect([...back.data]).toEqual([...rgba]);
    expect(() => encodePng({ width: 2, height: 2, rgba })).toThrow(RangeError);
  });
});
