import { describe, expect, it } from 'vitest';
import { expandCompressed, RVC_TABLE, rvcExpand } from '../src/rvc.ts';

describe('RVC_TABLE is filled on first use', () => {
  it('nothing is expanded when the module loads', () => {
    // This file imports rvc.ts alone, in its own module graph: no hart has run.
    expect(RVC_TABLE.some((v) => v !== 0)).toBe(false);
  });

  it('rvcExpand gives expandCompressed for every 16-bit encoding and remembers it', () => {
    for (let c = 0; c < 65536; c++) {
      const want = (c & 3) === 3 ? 0 : expandCompressed(c);
      expect(rvcExpand(c)).toBe(want);
      expect(RVC_TABLE[c]).toBe(want);
    }
    expect(rvcExpand(0)).toBe(0); // the defined-illegal all-zero encoding stays illegal
  });
});
