import { runSuite } from '@tsvirt/bench-harness';
import { vfio_dma_rw } from '@tsvirt/vfio-core';
import { mpciVfioDevice } from '@tsvirt/vfio-mpci';
import {
  OP_COPY_TO_VRAM,
  REG_ID,
  REG_MODE_WIDTH,
  REG_RING_BASE_HI,
  REG_RING_BASE_LO,
  REG_RING_HEAD,
  REG_RING_SIZE,
  REG_RING_TAIL,
} from '../src/index.ts';
import { BAR0, cmd, gpu, RAM_IOVA } from '../test/stack.ts';

// 1. Trapped register access through the whole VFIO path: a write/read of
//    the device file -> vfio-core -> vfio-mpci (region lookup) -> this
//    vendor driver's register decode. 10,000 accesses per iteration.
const PER_ITER = 10_000;
const g = gpu('small');
const buf4 = new Uint8Array(4);
const wpos = BAR0 + BigInt(REG_MODE_WIDTH);
const rpos = BAR0 + BigInt(REG_ID);

await runSuite('sample-vendor-gpu: trapped BAR0 access (device fd -> vfio-mpci -> vendor)', [
  {
    name: 'register write (MODE_WIDTH, 4 B)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) g.device.write(buf4, wpos);
    },
    work: { count: PER_ITER, unit: 'accesses' },
  },
  {
    name: 'register read (ID, 4 B)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) g.device.read(buf4, rpos);
    },
    work: { count: PER_ITER, unit: 'accesses' },
  },
]);

// 2. The DMA engine copying 64 MiB of guest memory (mapped in the type1
//    container) into VRAM with one COPY_TO_VRAM command, next to a plain
//    typed-array copy of the same size.
const SIZE = 64 << 20;
const RING = RAM_IOVA + BigInt(SIZE);
const big = gpu('large', { ramSize: SIZE + 4096 });
const src = RAM_IOVA;
// Touch the guest memory so the copy reads real frames, not zero pages.
const pattern = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
for (let off = 0; off < SIZE; off += pattern.length) big.guestWrite(src + BigInt(off), pattern);
big.guestWrite(RING, cmd(OP_COPY_TO_VRAM, { addr: src, vram: 0, length: SIZE }));
big.wr32(BAR0 + BigInt(REG_RING_BASE_LO), Number(RING & 0xffffffffn));
big.wr32(BAR0 + BigInt(REG_RING_BASE_HI), Number(RING >> 32n));
const plainSrc = new Uint8Array(SIZE).fill(7);
const plainDst = new Uint8Array(SIZE);
const vdev = mpciVfioDevice(big.mdev)!;
const staging = new Uint8Array(SIZE);
const MiB = SIZE / (1 << 20);

await runSuite(
  'sample-vendor-gpu: DMA COPY_TO_VRAM of 64 MiB',
  [
    {
      name: 'plain Uint8Array.set, 64 MiB',
      fn: () => plainDst.set(plainSrc),
      work: { count: MiB, unit: 'MiB' },
    },
    {
      name: 'vfio_dma_rw read of 64 MiB (type1, no VRAM)',
      fn: () => vfio_dma_rw(vdev, src, staging, false),
      work: { count: MiB, unit: 'MiB' },
      baseline: 'plain Uint8Array.set, 64 MiB',
    },
    {
      name: 'GPU COPY_TO_VRAM command, 64 MiB (doorbell -> workqueue slices -> vfio_dma_rw -> VRAM)',
      fn: () => {
        big.wr32(BAR0 + BigInt(REG_RING_SIZE), 1); // HEAD = TAIL = 0
        big.wr32(BAR0 + BigInt(REG_RING_SIZE), 2);
        big.wr32(BAR0 + BigInt(REG_RING_TAIL), 1);
        big.drain(); // the engine's slices, back to back
        if (big.rd32(BAR0 + BigInt(REG_RING_HEAD)) !== 1) throw new Error('copy failed');
      },
      work: { count: MiB, unit: 'MiB' },
      baseline: 'plain Uint8Array.set, 64 MiB',
    },
  ].map((c) => ({ ...c, iterations: 5 })),
);
