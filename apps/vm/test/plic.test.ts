import { describe, expect, it } from 'vitest';
import { PLIC_CONTEXT_BASE, PLIC_ENABLE_BASE, PLIC_PENDING_BASE, Plic } from '../src/devices/plic.ts';

function setup() {
  const lines: string[] = [];
  const plic = new Plic(31, 2, (ctx, l) => lines.push(`${ctx}:${l ? 1 : 0}`));
  const rd = (off: number) => {
    const d = new Uint8Array(4);
    plic.read(off, d);
    return new DataView(d.buffer).getUint32(0, true);
  };
  const wr = (off: number, v: number) => {
    const d = new Uint8Array(4);
    new DataView(d.buffer).setUint32(0, v, true);
    plic.write(off, d);
  };
  return { plic, lines, rd, wr };
}

describe('Plic', () => {
  it('tells the VMM of each completion before re-sampling the level', () => {
    const done: number[] = [];
    let plic: Plic;
    // The relay drops the line on completion (it will be re-raised by the device if still asserted).
    plic = new Plic(
      31,
      1,
      () => {},
      (src) => {
        done.push(src);
        plic.setLevel(src, false);
      },
    );
    const d = new Uint8Array(4);
    const wr = (off: number, v: number) => {
      new DataView(d.buffer).setUint32(0, v, true);
      plic.write(off, d);
    };
    wr(4 * 7, 1);
    wr(PLIC_ENABLE_BASE, 1 << 7);
    plic.setLevel(7, true);
    plic.read(PLIC_CONTEXT_BASE + 4, d);
    expect(new DataView(d.buffer).getUint32(0, true)).toBe(7);
    wr(PLIC_CONTEXT_BASE + 4, 7);
    expect(done).toEqual([7]);
    expect(plic.isPending(7)).toBe(false);
    wr(PLIC_CONTEXT_BASE + 4, 7); // not claimed: ignored
    expect(done).toEqual([7]);
  });

  it('delivers an enabled source above threshold, with claim and complete', () => {
    const { plic, lines, rd, wr } = setup();
    wr(4 * 10, 3); // priority of source 10
    wr(PLIC_ENABLE_BASE, 1 << 10); // context 0 enables it
    plic.setLevel(10, true);
    expect(lines).toEqual(['0:1']);
    expect(rd(PLIC_PENDING_BASE)).toBe(1 << 10);
    expect(rd(PLIC_CONTEXT_BASE + 4)).toBe(10);
    expect(lines).toEqual(['0:1', '0:0']);
    expect(rd(PLIC_CONTEXT_BASE + 4)).toBe(0); // nothing more to claim
    // Still high at completion: pending again (level-triggered gateway).
    wr(PLIC_CONTEXT_BASE + 4, 10);
    expect(lines).toEqual(['0:1', '0:0', '0:1']);
    plic.setLevel(10, false);
    expect(lines.at(-1)).toBe('0:0');
  });

  it('keeps a claimed source from pending again until completion', () => {
    const { plic, rd, wr } = setup();
    wr(4 * 5, 1);
    wr(PLIC_ENABLE_BASE, 1 << 5);
    plic.setLevel(5, true);
    expect(rd(PLIC_CONTEXT_BASE + 4)).toBe(5);
    plic.setLevel(5, false);
    plic.setLevel(5, true);
    expect(plic.isPending(5)).toBe(false);
    wr(PLIC_CONTEXT_BASE + 4, 5);
    expect(plic.isPending(5)).toBe(true);
  });

  it('honours threshold, priority order and per-context enables', () => {
    const { plic, lines, rd, wr } = setup();
    wr(4 * 3, 2);
    wr(4 * 4, 5);
    wr(PLIC_ENABLE_BASE + 0x80, (1 << 3) | (1 << 4)); // context 1
    wr(PLIC_CONTEXT_BASE + 0x1000, 2); // threshold 2 on context 1
    plic.setLevel(3, true);
    expect(lines).toEqual([]); // priority 2 is not above threshold 2
    plic.setLevel(4, true);
    expect(lines).toEqual(['1:1']);
    expect(rd(PLIC_CONTEXT_BASE + 0x1000 + 4)).toBe(4);
    expect(rd(PLIC_CONTEXT_BASE + 4)).toBe(0); // context 0 enables nothing
  });

  it('ignores source 0, odd widths, and writes to pending bits', () => {
    const { plic, rd, wr } = setup();
    wr(PLIC_ENABLE_BASE, 0xffff_ffff);
    expect(rd(PLIC_ENABLE_BASE) & 1).toBe(0);
    wr(0, 7);
    expect(rd(0)).toBe(0);
    wr(4, 0xff);
    expect(rd(4)).toBe(7); // 3-bit priority
    wr(PLIC_PENDING_BASE, 0xffff_ffff);
    expect(rd(PLIC_PENDING_BASE)).toBe(0);
    const d = new Uint8Array(2);
    plic.read(4, d);
    expect([...d]).toEqual([0, 0]);
    plic.setLevel(99, true); // no such source: nothing happens
    expect(rd(PLIC_PENDING_BASE)).toBe(0);
  });
});
