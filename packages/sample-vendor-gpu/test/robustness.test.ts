import { expect, it } from 'vitest';
import {
  REG_ERROR_CODE,
  REG_INT_STATUS,
  REG_RING_BASE_HI,
  REG_RING_BASE_LO,
  REG_RING_HEAD,
  REG_RING_SIZE,
  REG_RING_TAIL,
  sampleGpuOf,
} from '../src/index.ts';
import { BAR0, gpu, RAM_IOVA } from './stack.ts';

it('random guest register writes and ring contents never throw and keep the registers consistent', () => {
  // Small slices, so register writes land while the engine is part-way through commands.
  const g = gpu('small', { engine: { sliceBytes: 4096, sliceCommands: 2 } });
  let seed = 0x1234567;
  const rnd = () => {
    // xorshift32: every bit is usable (an LCG's low bits cycle quickly).
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed;
  };
  // 64 KiB of guest RAM where rings may point: half the slots plausible commands, half junk.
  const ram = new Uint8Array(1 << 16).map(() => rnd() & 0xff);
  const dv = new DataView(ram.buffer);
  for (let at = 0; at < ram.length; at += 32) {
    if (rnd() % 2) continue;
    dv.setUint32(at, 1 + (rnd() % 5), true);
    dv.setBigUint64(at + 8, RAM_IOVA + BigInt(rnd() % 0x30000), true);
    dv.setUint32(at + 16, rnd() % (5 << 20), true);
    dv.setUint32(at + 20, (rnd() % 0x4000) & ~(rnd() % 4 ? 3 : 0), true);
  }
  g.guestWrite(RAM_IOVA, ram);
  const reg = (off: number) => g.rd32(BAR0 + BigInt(off));
  for (let i = 0; i < 3000; i++) {
    const r = rnd() % 8;
    const size = reg(REG_RING_SIZE);
    if (r === 0) g.wr32(BAR0 + BigInt((rnd() % 0x68) & ~3), rnd());
    else if (r === 1) g.wr32(BAR0 + BigInt(REG_RING_SIZE), 1 << (rnd() % 14));
    else if (r === 2) g.wr32(BAR0 + BigInt(REG_RING_BASE_LO), Number(RAM_IOVA) + ((rnd() % 0x8000) & ~31));
    else if (r === 3) g.wr32(BAR0 + BigInt(REG_RING_BASE_HI), rnd() % 8 ? 0 : rnd());
    else if (r === 4) g.wr32(BAR0 + BigInt(REG_INT_STATUS), 3);
    else g.wr32(BAR0 + BigInt(REG_RING_TAIL), rnd() % (rnd() % 16 ? Math.max(size, 1) : 8192));
    // One turn of the host workqueue between guest accesses, as the VMM's loop gives it.
    g.h.wq.runPending();
    // Any state it reaches mid-ring is one save/restore accepts.
    if (i % 97 === 0) sampleGpuOf(g.mdev).restore(sampleGpuOf(g.mdev).save());
    const s = reg(REG_RING_SIZE);
    expect(s === 0 || (s <= 4096 && (s & (s - 1)) === 0)).toBe(true);
    expect(reg(REG_RING_HEAD)).toBeLessThan(Math.max(s, 1));
    expect(reg(REG_ERROR_CODE)).toBeLessThanOrEqual(7);
  }
  expect(sampleGpuOf(g.mdev).dma.executed).toBeGreaterThan(20);
  g.drain();
  // The state it reached is one save/restore accepts.
  sampleGpuOf(g.mdev).restore(sampleGpuOf(g.mdev).save());
});
