import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
  VFIO_IOMMU_MAP_DMA,
} from '@tsvirt/iommu-type1';
import {
  ioctl,
  VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_INTX_IRQ_INDEX,
} from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import {
  DRM_FORMAT_XRGB8888,
  ERR_BAD_LENGTH,
  ERR_BAD_MODE,
  ERR_BAD_OPCODE,
  ERR_DMA_DISABLED,
  ERR_DMA_FAULT,
  ERR_RING_FAULT,
  ERR_VRAM_RANGE,
  INT_ERROR,
  INT_FENCE,
  OP_COPY_FROM_VRAM,
  OP_COPY_TO_VRAM,
  OP_FENCE,
  OP_FILL,
  REG_ERROR_CODE,
  REG_ERROR_INDEX,
  REG_FENCE_VALUE,
  REG_INT_ENABLE,
  REG_INT_STATUS,
  REG_MODE_ENABLE,
  REG_MODE_FORMAT,
  REG_MODE_HEIGHT,
  REG_MODE_OFFSET,
  REG_MODE_STRIDE,
  REG_MODE_WIDTH,
  REG_RING_BASE_HI,
  REG_RING_BASE_LO,
  REG_RING_HEAD,
  REG_RING_SIZE,
  REG_RING_TAIL,
  sampleGpuOf,
} from '../src/index.ts';
import { BAR0, BAR2, CFG, cmd, gpu, RAM_IOVA, RAM_SIZE } from './stack.ts';

const PAGE = 4096n;
const R = (off: number) => BAR0 + BigInt(off);
const VRAM = 4 << 20;

/** A GPU with a 16-entry ring at RAM page 0, both interrupts enabled, dirty tracking on. */
function setup(ringIova = RAM_IOVA) {
  const g = gpu('small');
  ioctl(g.fds, g.cfd, VFIO_IOMMU_DIRTY_PAGES, { argsz: 8, flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_START });
  g.wr32(R(REG_RING_BASE_LO), Number(ringIova & 0xffffffffn));
  g.wr32(R(REG_RING_BASE_HI), Number(ringIova >> 32n));
  g.wr32(R(REG_RING_SIZE), 16);
  g.wr32(R(REG_INT_ENABLE), INT_FENCE | INT_ERROR);
  let tail = 0;
  const submit = (...cmds: Uint8Array[]) => {
    for (const c of cmds) {
      g.guestWrite(RAM_IOVA + BigInt((tail % 16) * 32), c);
      tail++;
    }
    g.wr32(R(REG_RING_TAIL), tail % 16);
    g.drain();
  };
  const dirty = () => {
    const bitmap = { pgsize: PAGE, size: 128n, data: new Uint8Array(128) };
    ioctl(g.fds, g.cfd, VFIO_IOMMU_DIRTY_PAGES, {
      argsz: 48,
      flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
      data: { iova: RAM_IOVA, size: BigInt(RAM_SIZE), bitmap },
    });
    return [...bitmap.data.keys()].flatMap((i) =>
      [0, 1, 2, 3, 4, 5, 6, 7].filter((b) => bitmap.data[i]! & (1 << b)).map((b) => i * 8 + b),
    );
  };
  const vram = () => {
    const v = new Uint8Array(VRAM);
    sampleGpuOf(g.mdev).vram.read(0, v);
    return v;
  };
  return { ...g, submit, dirty, vram };
}

function expectError(g: ReturnType<typeof setup>, err: number, index: number) {
  expect(g.rd32(R(REG_ERROR_CODE))).toBe(err);
  expect(g.rd32(R(REG_ERROR_INDEX))).toBe(index);
  expect(g.rd32(R(REG_INT_STATUS)) & INT_ERROR).toBe(INT_ERROR);
  expect(g.rd32(R(REG_RING_HEAD))).toBe(index);
  expect(g.intx.read()).toBe(1n);
}

describe('guest mistakes are device errors; nothing outside the device changes', () => {
  it.each([
    ['BAD_OPCODE', cmd(9), ERR_BAD_OPCODE],
    ['BAD_LENGTH (FILL)', cmd(OP_FILL, { length: 6 }), ERR_BAD_LENGTH],
    ['BAD_LENGTH (COPY)', cmd(OP_COPY_FROM_VRAM, { addr: RAM_IOVA + 8n * PAGE, length: 2 }), ERR_BAD_LENGTH],
    ['VRAM_RANGE (FILL)', cmd(OP_FILL, { vram: VRAM - 4, length: 8 }), ERR_VRAM_RANGE],
    [
      'VRAM_RANGE (COPY_FROM_VRAM)',
      cmd(OP_COPY_FROM_VRAM, { addr: RAM_IOVA + 8n * PAGE, vram: VRAM, length: 4 }),
      ERR_VRAM_RANGE,
    ],
    ['DMA_FAULT (unmapped source)', cmd(OP_COPY_TO_VRAM, { addr: 0x1000n, length: 64 }), ERR_DMA_FAULT],
    [
      'DMA_FAULT (FENCE write-back to an unmapped IOVA)',
      cmd(OP_FENCE, { addr: 0x1000n, value: 3 }),
      ERR_DMA_FAULT,
    ],
    [
      'DMA_FAULT (copy-out running past guest RAM)',
      cmd(OP_COPY_FROM_VRAM, { addr: RAM_IOVA + BigInt(RAM_SIZE) - 8n, length: 16 }),
      ERR_DMA_FAULT,
    ],
  ])('%s stops the engine at the command with ERROR and an interrupt', (_n, bad, err) => {
    const g = setup();
    g.guestWrite(RAM_IOVA + 8n * PAGE, new Uint8Array(64).fill(0xaa));
    const ramBefore = Buffer.from(g.guestRead(RAM_IOVA + 4n * PAGE, RAM_SIZE - 4 * 4096));
    g.submit(cmd(OP_FILL, { length: 64, value: 0x11111111 }), bad, cmd(OP_FENCE, { value: 7 }));
    expectError(g, err, 1);
    // The FILL before it ran; the FENCE after it did not; guest memory and the dirty log are untouched.
    expect(g.vram()[63]).toBe(0x11);
    expect(g.rd32(R(REG_FENCE_VALUE))).toBe(0);
    expect(Buffer.from(g.guestRead(RAM_IOVA + 4n * PAGE, RAM_SIZE - 4 * 4096)).equals(ramBefore)).toBe(true);
    expect(g.dirty()).toEqual([]);
  });

  it('a FENCE with an address writes its value there (dirty-tracked) before FENCE_VALUE and the interrupt', () => {
    const g = setup();
    const at = RAM_IOVA + 8n * PAGE + 12n;
    g.submit(cmd(OP_FENCE, { addr: at, value: 0xfeedf00d }));
    g.drain();
    expect([...g.guestRead(at, 4)]).toEqual([0x0d, 0xf0, 0xed, 0xfe]);
    expect(g.rd32(R(REG_FENCE_VALUE))).toBe(0xfeedf00d);
    expect(g.rd32(R(REG_INT_STATUS)) & INT_ERROR).toBe(0);
    expect(g.dirty()).toContain(Number((at - RAM_IOVA) / PAGE));
  });

  it('DMA_FAULT: a copy out of VRAM into a read-only mapping writes nothing', () => {
    const g = setup();
    const ro = g.h.mm.mmap({
      length: 4096,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS,
    });
    g.h.mm.copyToUser(ro, Uint8Array.of(9, 9, 9, 9));
    ioctl(g.fds, g.cfd, VFIO_IOMMU_MAP_DMA, {
      argsz: 32,
      flags: VFIO_DMA_MAP_FLAG_READ,
      vaddr: BigInt(ro),
      iova: 0x1_0000_0000n,
      size: 4096n,
    });
    // Reading from it is allowed; writing into it is not.
    g.submit(cmd(OP_COPY_TO_VRAM, { addr: 0x1_0000_0000n, vram: 16, length: 4 }));
    expect([...g.vram().subarray(16, 20)]).toEqual([9, 9, 9, 9]);
    g.submit(
      cmd(OP_FILL, { length: 4, value: 0x01020304 }),
      cmd(OP_COPY_FROM_VRAM, { addr: 0x1_0000_0000n, length: 4 }),
    );
    expectError(g, ERR_DMA_FAULT, 2);
    const b = new Uint8Array(4);
    g.h.mm.copyFromUser(ro, b);
    expect([...b]).toEqual([9, 9, 9, 9]);
  });

  it('a stopped engine ignores doorbells until ERROR is cleared, then resumes from HEAD', () => {
    const g = setup();
    g.submit(cmd(OP_FILL, { length: 4, value: 1 }), cmd(42), cmd(OP_FENCE, { value: 5 }));
    expectError(g, ERR_BAD_OPCODE, 1);
    // The guest fixes the command in place; a doorbell while ERROR is set does nothing.
    g.guestWrite(RAM_IOVA + 32n, cmd(OP_FILL, { vram: 4, length: 4, value: 2 }));
    g.wr32(R(REG_RING_TAIL), 3);
    g.drain();
    expect(g.rd32(R(REG_RING_HEAD))).toBe(1);
    // Clearing ERROR (RW1C) clears the code and index and drops the line.
    g.wr32(R(REG_INT_STATUS), INT_ERROR);
    expect(g.rd32(R(REG_INT_STATUS))).toBe(0);
    expect(g.rd32(R(REG_ERROR_CODE))).toBe(0);
    expect(g.rd32(R(REG_ERROR_INDEX))).toBe(0);
    // INTx automasked when it fired: unmask it, as the VMM does on the guest's EOI.
    g.device.ioctl(VFIO_DEVICE_SET_IRQS, {
      argsz: 20,
      flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
      index: VFIO_PCI_INTX_IRQ_INDEX,
      start: 0,
      count: 1,
    });
    g.wr32(R(REG_RING_TAIL), 3);
    g.drain();
    expect(g.rd32(R(REG_RING_HEAD))).toBe(3);
    expect(g.rd32(R(REG_FENCE_VALUE))).toBe(5);
    expect(g.intx.read()).toBe(1n);
    expect([...g.vram().subarray(0, 8)]).toEqual([1, 0, 0, 0, 2, 0, 0, 0]);
  });

  it('RING_FAULT: ring base unmapped, misaligned, tail outside the ring, no ring', () => {
    let g = setup(0x10_0000n);
    g.wr32(R(REG_RING_TAIL), 1);
    g.drain();
    expectError(g, ERR_RING_FAULT, 0);

    g = setup(RAM_IOVA + 16n);
    g.submit(cmd(OP_FENCE, { value: 1 }));
    expectError(g, ERR_RING_FAULT, 0);
    expect(g.rd32(R(REG_FENCE_VALUE))).toBe(0);

    g = setup();
    g.wr32(R(REG_RING_TAIL), 16);
    expectError(g, ERR_RING_FAULT, 0);
    expect(g.rd32(R(REG_RING_TAIL))).toBe(0);

    const fresh = gpu('small');
    fresh.wr32(R(REG_INT_ENABLE), INT_ERROR);
    fresh.wr32(R(REG_RING_TAIL), 0);
    expect(fresh.rd32(R(REG_ERROR_CODE))).toBe(ERR_RING_FAULT);
  });

  it('DMA_DISABLED: a doorbell with bus mastering off', () => {
    const g = setup();
    g.wr16(CFG + 4n, 0x2);
    g.submit(cmd(OP_FILL, { length: 4, value: 9 }));
    expectError(g, ERR_DMA_DISABLED, 0);
    expect(g.vram()[0]).toBe(0);
  });

  it('BAD_MODE: each invalid mode keeps the display off and raises ERROR', () => {
    const good = { w: 64, h: 32, s: 256, f: DRM_FORMAT_XRGB8888, o: 0 };
    const bad = [
      { w: 0 },
      { w: 4097, s: 4097 * 4 },
      { h: 0 },
      { h: 4097 },
      { s: 254 },
      { s: 252 },
      { f: 0x34325241 },
      { o: 2 },
      { o: VRAM - 256 * 31 },
      { w: 4096, h: 4096, s: 4096 * 4 },
    ];
    for (const b of bad) {
      const m = { ...good, ...b };
      const g = setup();
      g.wr32(R(REG_MODE_WIDTH), m.w);
      g.wr32(R(REG_MODE_HEIGHT), m.h);
      g.wr32(R(REG_MODE_STRIDE), m.s);
      g.wr32(R(REG_MODE_FORMAT), m.f);
      g.wr32(R(REG_MODE_OFFSET), m.o);
      g.wr32(R(REG_MODE_ENABLE), 1);
      expect(g.rd32(R(REG_MODE_ENABLE)), JSON.stringify(b)).toBe(0);
      expect(g.rd32(R(REG_ERROR_CODE))).toBe(ERR_BAD_MODE);
      expect(g.intx.read()).toBe(1n);
      expect(sampleGpuOf(g.mdev).displaySnapshot()).toBeUndefined();
    }
    // The largest mode that fits is accepted.
    const g = setup();
    g.wr32(R(REG_MODE_WIDTH), 1024);
    g.wr32(R(REG_MODE_HEIGHT), 1024);
    g.wr32(R(REG_MODE_STRIDE), 4096);
    g.wr32(R(REG_MODE_FORMAT), DRM_FORMAT_XRGB8888);
    g.wr32(R(REG_MODE_ENABLE), 1);
    expect(g.rd32(R(REG_MODE_ENABLE))).toBe(1);
    expect(g.rd32(R(REG_INT_STATUS))).toBe(0);
  });

  it('a faulting copy out of VRAM across segments writes no guest memory and dirties nothing', () => {
    const g = setup();
    const seg = sampleGpuOf(g.mdev).vram.segBytes;
    g.submit(cmd(OP_FILL, { vram: seg - 4096, length: 8192, value: 0x5a5a5a5a }));
    g.guestWrite(RAM_IOVA + BigInt(RAM_SIZE) - 4096n, new Uint8Array(4096).fill(1));
    // The target's first page is guest RAM, its second lies past the mapping.
    g.submit(
      cmd(OP_COPY_FROM_VRAM, { addr: RAM_IOVA + BigInt(RAM_SIZE) - 4096n, vram: seg - 4096, length: 8192 }),
    );
    expectError(g, ERR_DMA_FAULT, 1);
    expect(g.guestRead(RAM_IOVA + BigInt(RAM_SIZE) - 4096n, 4096)).toEqual(new Uint8Array(4096).fill(1));
    expect(g.dirty()).toEqual([]);
  });

  it('copies spanning VRAM segments and unaligned fills land exactly', () => {
    const g = setup();
    const seg = sampleGpuOf(g.mdev).vram.segBytes;
    const data = new Uint8Array(8192);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    g.guestWrite(RAM_IOVA + 4n * PAGE, data);
    g.submit(
      cmd(OP_COPY_TO_VRAM, { addr: RAM_IOVA + 4n * PAGE, vram: seg - 4096, length: 8192 }),
      cmd(OP_FILL, { vram: 2, length: 8, value: 0x44332211 }),
      cmd(OP_COPY_FROM_VRAM, { addr: RAM_IOVA + 12n * PAGE, vram: seg - 4096, length: 8192 }),
    );
    expect(g.rd32(R(REG_RING_HEAD))).toBe(3);
    expect(g.vram().subarray(seg - 4096, seg + 4096)).toEqual(data);
    expect([...g.vram().subarray(0, 12)]).toEqual([
      0, 0, 0x11, 0x22, 0x33, 0x44, 0x11, 0x22, 0x33, 0x44, 0, 0,
    ]);
    expect(g.guestRead(RAM_IOVA + 12n * PAGE, 8192)).toEqual(data);
    expect(g.dirty()).toEqual([12, 13]);
    // A trapped BAR2 read sees the same bytes.
    const b = new Uint8Array(4);
    g.device.read(b, BAR2 + BigInt(seg - 4));
    expect(b).toEqual(data.subarray(4092, 4096));
  });
});
