import { runSuite } from '@tsvirt/bench-harness';
import { BAR0, openMdev, REG_SCRATCH, stack } from '../test/fake-vendor.ts';

// Trapped register access through the whole VFIO path: pwrite/pread on the
// device file -> vfio-core -> vfio-mpci (region lookup, access splitting)
// -> the vendor's read/write. 10,000 accesses per iteration; the baseline is
// the same vendor callback called directly.
const PER_ITER = 10_000;
const s = stack({ quiet: true });
const { file, mdev } = openMdev(s);
const ops = s.vendor.ops;
const buf4 = new Uint8Array(4);
const buf8 = new Uint8Array(8);
const pos = BAR0 + BigInt(REG_SCRATCH);

await runSuite('vfio-mpci: trapped register access (device fd -> vfio-mpci -> vendor)', [
  {
    name: 'vendor write, called directly (4 B)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) ops.write(mdev, buf4, pos);
    },
    work: { count: PER_ITER, unit: 'accesses' },
  },
  {
    name: 'device fd write (4 B)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) file.write(buf4, pos);
    },
    work: { count: PER_ITER, unit: 'accesses' },
    baseline: 'vendor write, called directly (4 B)',
  },
  {
    name: 'device fd read (4 B)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) file.read(buf4, pos);
    },
    work: { count: PER_ITER, unit: 'accesses' },
    baseline: 'vendor write, called directly (4 B)',
  },
  {
    name: 'device fd read (8 B, split in two)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) file.read(buf8, pos);
    },
    work: { count: PER_ITER, unit: 'accesses' },
    baseline: 'vendor write, called directly (4 B)',
  },
]);
