import { describe, expect, it } from 'vitest';
import {
  createSampleGpuModule,
  DEFAULT_SLICE_BYTES,
  ENGINE_BUSY,
  ENGINE_CHUNK_BYTES,
  ERR_BAD_MODE,
  ERR_DMA_DISABLED,
  ERR_DMA_FAULT,
  INT_ERROR,
  INT_FENCE,
  OP_COPY_FROM_VRAM,
  OP_COPY_TO_VRAM,
  OP_FENCE,
  OP_FILL,
  REG_ENGINE_STATUS,
  REG_ERROR_CODE,
  REG_ERROR_INDEX,
  REG_FENCE_VALUE,
  REG_INT_ENABLE,
  REG_INT_STATUS,
  REG_MODE_ENABLE,
  REG_RESET,
  REG_RING_BASE_HI,
  REG_RING_BASE_LO,
  REG_RING_HEAD,
  REG_RING_SIZE,
  REG_RING_TAIL,
  sampleGpuOf,
} from '../src/index.ts';
import { BAR0, CFG, cmd, code, gpu, host, RAM_IOVA, UUIDS } from './stack.ts';

const R = (off: number) => BAR0 + BigInt(off);
const MiB = 1 << 20;
const VRAM = 4 * MiB;
const RAM = 16 * MiB;
/** The ring sits in the first page of guest RAM; data starts at 1 MiB. */
const DATA = RAM_IOVA + BigInt(MiB);

type Op = { op: number; addr?: bigint; vram?: number; length?: number; value?: number };

/**
 * A hostile ring: copies of the whole VRAM in and out, overlapping fills,
 * a copy out that feeds a later copy in, then a FENCE. `rounds` repeats it.
 */
function hugeRing(rounds: number): Op[] {
  const ops: Op[] = [];
  for (let r = 0; r < rounds; r++) {
    ops.push(
      { op: OP_COPY_TO_VRAM, addr: DATA, vram: 0, length: VRAM },
      { op: OP_FILL, vram: MiB + 4, length: MiB + 8, value: 0xa5000000 + r },
      { op: OP_COPY_FROM_VRAM, addr: DATA + BigInt(5 * MiB) + BigInt(r * 4096), vram: 12, length: 3 * MiB },
      { op: OP_COPY_TO_VRAM, addr: DATA + BigInt(5 * MiB + MiB / 2), vram: 2 * MiB, length: 2 * MiB - 4096 },
    );
  }
  ops.push({ op: OP_FENCE, value: 0xc0ffee });
  return ops;
}

/** What the ring does, computed with plain arrays: the synchronous reference. */
function reference(ops: Op[], ram: Uint8Array, vram: Uint8Array): void {
  const at = (iova: bigint) => Number(iova - RAM_IOVA);
  for (const c of ops) {
    const len = c.length ?? 0;
    const v = c.vram ?? 0;
    if (c.op === OP_COPY_TO_VRAM) vram.set(ram.subarray(at(c.addr!), at(c.addr!) + len), v);
    else if (c.op === OP_COPY_FROM_VRAM) ram.set(vram.subarray(v, v + len), at(c.addr!));
    else if (c.op === OP_FILL) {
      const pat = new Uint8Array(new Uint32Array([c.value! >>> 0]).buffer);
      for (let i = 0; i < len; i++) vram[v + i] = pat[i & 3]!;
    }
  }
}

/** A medium-RAM GPU with the ring written (not yet rung) and guest data laid out. */
function setup(ops: Op[], engine?: { sliceBytes?: number; sliceCommands?: number }) {
  const g = gpu('small', { ramSize: RAM, ...(engine ? { engine } : {}) });
  const data = new Uint8Array(RAM - MiB);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >>> 12)) & 0xff;
  g.guestWrite(DATA, data);
  g.wr32(R(REG_RING_BASE_LO), Number(RAM_IOVA & 0xffff_ffffn));
  g.wr32(R(REG_RING_BASE_HI), Number(RAM_IOVA >> 32n));
  g.wr32(R(REG_RING_SIZE), 128);
  g.wr32(R(REG_INT_ENABLE), INT_FENCE | INT_ERROR);
  for (const [i, c] of ops.entries()) g.guestWrite(RAM_IOVA + BigInt(i * 32), cmd(c.op, c));
  const model = sampleGpuOf(g.mdev);
  const vram = () => {
    const v = new Uint8Array(VRAM);
    model.vram.read(0, v);
    return v;
  };
  const ram = () => g.guestRead(RAM_IOVA, RAM);
  const regs = () =>
    [REG_RING_HEAD, REG_RING_TAIL, REG_FENCE_VALUE, REG_INT_STATUS, REG_ERROR_CODE, REG_ENGINE_STATUS].map(
      (r) => g.rd32(R(r)),
    );
  return { ...g, model, vram, ram, regs, ring: () => g.wr32(R(REG_RING_TAIL), ops.length) };
}

describe('the DMA engine runs beside the vCPUs, in bounded slices on the host workqueue', () => {
  it('a doorbell for a ring of huge copies only queues the work: the MMIO write moves no byte', () => {
    const ops = hugeRing(8); // 33 commands, about 100 MiB moved
    const g = setup(ops);
    const vramBefore = g.vram();
    g.ring();
    // The write returned with nothing done: HEAD at 0, BUSY, VRAM untouched, no interrupt, work queued.
    expect(g.rd32(R(REG_RING_HEAD))).toBe(0);
    expect(g.rd32(R(REG_RING_TAIL))).toBe(ops.length);
    expect(g.rd32(R(REG_ENGINE_STATUS))).toBe(ENGINE_BUSY);
    expect(Buffer.from(g.vram()).equals(Buffer.from(vramBefore))).toBe(true);
    expect(g.intx.value).toBe(0n);
    expect(g.h.wq.size).toBe(1);
    expect(g.model.dma.slices).toBe(0);
  });

  it('the work completes across many slices, each bounded; the FENCE interrupt comes at the end; memory equals the synchronous reference', () => {
    const ops = hugeRing(4);
    const g = setup(ops);
    const wantRam = g.ram();
    const wantVram = g.vram();
    reference(ops, wantRam, wantVram);
    g.ring();
    let turns = 0;
    let lastHead = 0;
    while (g.h.wq.size > 0) {
      const before = g.model.dma.bytes;
      expect(g.h.wq.runPending()).toBe(1);
      turns++;
      // A slice stops at its byte budget (checked after each chunk).
      expect(g.model.dma.bytes - before).toBeLessThanOrEqual(DEFAULT_SLICE_BYTES + ENGINE_CHUNK_BYTES);
      const head = g.rd32(R(REG_RING_HEAD));
      expect(head).toBeGreaterThanOrEqual(lastHead);
      lastHead = head;
      if (head < ops.length) {
        expect(g.rd32(R(REG_ENGINE_STATUS))).toBe(ENGINE_BUSY);
        expect(g.intx.value).toBe(0n);
      }
    }
    const moved = ops.reduce((n, c) => n + (c.length ?? 0), 0);
    expect(turns).toBeGreaterThanOrEqual(Math.floor(moved / DEFAULT_SLICE_BYTES));
    expect(g.regs()).toEqual([ops.length, ops.length, 0xc0ffee, INT_FENCE, 0, 0]);
    expect(g.intx.read()).toBe(1n);
    expect(Buffer.from(g.vram()).equals(Buffer.from(wantVram))).toBe(true);
    expect(Buffer.from(g.ram()).equals(Buffer.from(wantRam))).toBe(true);
  });

  it('a slice fetches at most sliceCommands commands, so a ring of FENCEs also yields', () => {
    const ops: Op[] = Array.from({ length: 100 }, (_, i) => ({ op: OP_FENCE, value: i + 1 }));
    const g = setup(ops, { sliceCommands: 8 });
    g.ring();
    g.h.wq.runPending();
    expect(g.rd32(R(REG_RING_HEAD))).toBe(8);
    expect(g.rd32(R(REG_FENCE_VALUE))).toBe(8);
    expect(g.h.wq.drain()).toBe(Math.ceil(100 / 8) - 1);
    expect(g.rd32(R(REG_FENCE_VALUE))).toBe(100);
    expect(g.rd32(R(REG_ENGINE_STATUS))).toBe(0);
  });

  it('a doorbell while busy moves TAIL and the engine runs on to it', () => {
    const ops = hugeRing(1);
    const g = setup([...ops, { op: OP_FENCE, value: 2 }]);
    g.wr32(R(REG_RING_TAIL), 2);
    g.h.wq.runPending();
    g.wr32(R(REG_RING_TAIL), ops.length + 1);
    expect(g.h.wq.size).toBe(1);
    g.drain();
    expect(g.regs()).toEqual([ops.length + 1, ops.length + 1, 2, INT_FENCE, 0, 0]);
  });

  it('save in the middle of a command, restore on another instance: it resumes and finishes identically', () => {
    const ops = hugeRing(3);
    const a = setup(ops);
    a.ring();
    for (let i = 0; i < 7; i++) a.h.wq.runPending();
    expect(a.model.dma.state.progress).toBeGreaterThan(0); // part-way through a command
    const blob = a.model.save();
    const ramAtSave = a.ram();
    const slicesAtSave = a.model.dma.slices;
    a.drain();
    const slicesLeft = a.model.dma.slices - slicesAtSave;

    // A destination host: another instance, guest RAM migrated as it was at the save.
    const b = setup([]);
    b.guestWrite(RAM_IOVA, ramAtSave);
    b.model.restore(blob);
    expect(b.rd32(R(REG_ENGINE_STATUS))).toBe(ENGINE_BUSY);
    expect(b.h.wq.size).toBe(1);
    b.drain();
    // Resumed from the chunk it stopped at, not from the command's start.
    expect(b.model.dma.slices).toBe(slicesLeft);
    expect(b.regs()).toEqual(a.regs());
    expect(b.intx.read()).toBe(1n);
    expect(Buffer.from(b.vram()).equals(Buffer.from(a.vram()))).toBe(true);
    expect(Buffer.from(b.ram()).equals(Buffer.from(a.ram()))).toBe(true);
  });

  it('the in-flight command is not fetched again after a restore (the blob carries it)', () => {
    const ops: Op[] = [{ op: OP_FILL, vram: 0, length: VRAM, value: 0x11111111 }];
    const a = setup(ops);
    a.ring();
    a.h.wq.runPending();
    const blob = a.model.save();
    // The guest scribbles over the ring entry after the engine fetched it.
    a.guestWrite(RAM_IOVA, cmd(OP_FILL, { vram: 0, length: VRAM, value: 0x22222222 }));
    a.model.restore(blob);
    a.drain();
    expect(a.vram().every((b) => b === 0x11)).toBe(true);
  });

  it('a major-1 blob (the synchronous engine) restores with the engine idle', () => {
    const g = setup(hugeRing(1));
    g.ring();
    g.h.wq.runPending();
    const v2 = g.model.save();
    // Cut the 44-byte engine section out and mark it 1.0, as the old driver wrote it.
    const v1len = 256 + 64 + 24;
    const v1 = new Uint8Array(v2.length - 44);
    v1.set(v2.subarray(0, 16 + v1len));
    v1.set(v2.subarray(16 + v1len + 44), 16 + v1len);
    const dv = new DataView(v1.buffer);
    dv.setUint16(4, 1, true);
    dv.setUint32(12, v1len, true);
    g.model.restore(v1);
    expect(g.rd32(R(REG_ENGINE_STATUS))).toBe(0);
    expect(g.h.wq.size).toBe(0);
    expect(g.rd32(R(REG_RING_HEAD))).toBe(0);
  });

  it('engine state no engine could reach is EINVAL and changes nothing', () => {
    const g = setup(hugeRing(1));
    g.ring();
    g.h.wq.runPending();
    const blob = g.model.save();
    const before = Buffer.from(blob);
    const E = 16 + 256 + 64 + 24; // the engine section
    const mutate = (f: (dv: DataView) => void) => {
      const b = blob.slice();
      f(new DataView(b.buffer));
      return b;
    };
    const bad = {
      busyNotBoolean: mutate((dv) => dv.setUint32(E, 2, true)),
      inflightWhileIdle: mutate((dv) => dv.setUint32(E, 0, true)),
      busyWithError: mutate((dv) => dv.setUint32(16 + 256 + 6 * 4, INT_ERROR, true)),
      progressOffChunk: mutate((dv) => dv.setUint32(E + 8, 4, true)),
      progressPastEnd: mutate((dv) => dv.setUint32(E + 8, VRAM, true)),
      inflightNotData: mutate((dv) => dv.setUint32(E + 12, OP_FENCE, true)),
      inflightBadRange: mutate((dv) => dv.setUint32(E + 12 + 16, 4, true)),
      busyNothingToRun: mutate((dv) => {
        dv.setUint32(E + 4, 0, true);
        dv.setUint32(E + 8, 0, true);
        dv.setUint32(16 + 256 + 12 * 4, 0, true); // TAIL = HEAD
      }),
    };
    for (const [name, b] of Object.entries(bad)) {
      expect(
        code(() => g.model.restore(b)),
        name,
      ).toBe('EINVAL');
      expect(Buffer.from(g.model.save()).equals(before), name).toBe(true);
      expect(g.h.wq.size, name).toBe(1);
    }
  });
});

describe('what stops a busy engine', () => {
  function busy() {
    const ops = hugeRing(2);
    const g = setup(ops);
    g.ring();
    g.h.wq.runPending();
    expect(g.rd32(R(REG_ENGINE_STATUS))).toBe(ENGINE_BUSY);
    return g;
  }

  it('bus mastering turned off: the next slice stops with DMA_DISABLED at HEAD', () => {
    const g = busy();
    g.wr16(CFG + 4n, 0x2);
    g.h.wq.runPending();
    expect(g.regs()).toEqual([0, 9, 0, INT_ERROR, ERR_DMA_DISABLED, 0]);
    expect(g.h.wq.size).toBe(0);
    expect(g.intx.read()).toBe(1n);
  });

  it('RESET, a new ring size, or removal take the work off the queue', () => {
    let g = busy();
    g.wr32(R(REG_RESET), 1);
    expect([g.rd32(R(REG_ENGINE_STATUS)), g.h.wq.size]).toEqual([0, 0]);
    g = busy();
    g.wr32(R(REG_RING_SIZE), 64);
    expect([g.rd32(R(REG_ENGINE_STATUS)), g.h.wq.size, g.rd32(R(REG_RING_HEAD))]).toEqual([0, 0, 0]);
    g = busy();
    g.h.mdevs.removeDevice(g.mdev.uuid, { force: true });
    expect(g.h.wq.size).toBe(0);
  });

  it('any error (a bad mode) stops it; after ERROR is cleared a doorbell restarts the command at HEAD', () => {
    const g = busy();
    g.wr32(R(REG_MODE_ENABLE), 1); // no mode programmed: BAD_MODE
    expect(g.regs()).toEqual([0, 9, 0, INT_ERROR, ERR_BAD_MODE, 0]);
    expect(g.h.wq.size).toBe(0);
    g.wr32(R(REG_INT_STATUS), INT_ERROR);
    g.wr32(R(REG_RING_TAIL), 9);
    g.drain();
    expect(g.regs()).toEqual([9, 9, 0xc0ffee, INT_FENCE, 0, 0]);
  });

  it('a copy out of VRAM that faults part-way wrote the chunks before the fault, and no byte of the faulting chunk', () => {
    // 3 chunks; the last one's IOVA range runs past the end of guest RAM.
    const len = 3 * ENGINE_CHUNK_BYTES;
    const dst = RAM_IOVA + BigInt(RAM - len + 4096);
    const g = setup([
      { op: OP_FILL, vram: 0, length: len, value: 0x77777777 },
      { op: OP_COPY_FROM_VRAM, addr: dst, vram: 0, length: len },
    ]);
    const before = g.guestRead(dst, len - 4096);
    g.ring();
    g.drain();
    expect(g.rd32(R(REG_ERROR_CODE))).toBe(ERR_DMA_FAULT);
    expect(g.rd32(R(REG_ERROR_INDEX))).toBe(1);
    const after = g.guestRead(dst, len - 4096);
    expect(after.subarray(0, 2 * ENGINE_CHUNK_BYTES).every((b) => b === 0x77)).toBe(true);
    expect(after.subarray(2 * ENGINE_CHUNK_BYTES)).toEqual(before.subarray(2 * ENGINE_CHUNK_BYTES));
  });
});

it('an engine budget that is not a positive integer is EINVAL when the plugin loads', () => {
  for (const engine of [{ sliceBytes: 0 }, { sliceCommands: 1.5 }, { sliceBytes: -1 }]) {
    expect(
      code(() => host({ plugin: createSampleGpuModule({ engine }) })),
      JSON.stringify(engine),
    ).toBe('EINVAL');
  }
  // The default one loads.
  expect(host().mdevs.createDevice('sample-gpu', 'sample_gpu-small', UUIDS[0]!)).toBeDefined();
});
