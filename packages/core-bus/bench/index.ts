import { runSuite } from '@tsvirt/bench-harness';
import { AddressBus, type BusDevice } from '../src/index.ts';

// Address-bus dispatch on the VM-exit path: one read through lookup and
// the device callback, over buses of 10, 1,000 and 100,000 ranges. Each
// iteration does 10,000 dispatches at pseudo-random addresses, so the
// one-entry cache rarely hits and the binary search is what is measured.
const sink: BusDevice = {
  read: (o, d) => {
    d[0] = o;
  },
  write: () => {},
};
const PER_ITER = 10_000;

function makeCase(n: number) {
  const bus = new AddressBus();
  for (let i = 0; i < n; i++) bus.insert(sink, i * 0x1000, 0x800);
  const addrs = new Float64Array(PER_ITER);
  let seed = 12345;
  for (let i = 0; i < PER_ITER; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    addrs[i] = (seed % n) * 0x1000 + (seed & 0x7fc);
  }
  const data = new Uint8Array(4);
  return {
    name: `dispatch, ${n.toLocaleString('en')} ranges`,
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) bus.read(addrs[i]!, data);
    },
    work: { count: PER_ITER, unit: 'lookups' },
  };
}

await runSuite('core-bus: address-bus dispatch (read through lookup + device)', [
  makeCase(10),
  makeCase(1_000),
  makeCase(100_000),
]);
