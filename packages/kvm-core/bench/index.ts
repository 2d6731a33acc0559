import { runSuite } from '@tsvirt/bench-harness';
import { EventFd, FdTable } from '@tsvirt/core-bus';
import { KVM_MEM_LOG_DIRTY_PAGES, Kvm } from '../src/index.ts';
import { FakeArch } from '../test/fake-arch.ts';

// The fault-path lookups kvm-core owns: gfn -> memslot -> hva over 1, 32
// and 500 slots (pseudo-random gfns, so the one-entry cache rarely helps),
// marking pages dirty in a logging slot, and an ioeventfd write on the MMIO
// bus against a write no one claims (what precedes a KVM_EXIT_MMIO).
const PER_ITER = 10_000;

function vmWithSlots(n: number, flags = 0) {
  const kvm = new Kvm({ arch: new FakeArch(), files: new FdTable() });
  const vm = kvm.createVm();
  for (let i = 0; i < n; i++) {
    vm.setUserMemoryRegion({
      slot: i,
      flags,
      guest_phys_addr: BigInt(i) * 0x400_0000n,
      memory_size: 0x200_0000n,
      userspace_addr: 0x1000_0000n + BigInt(i) * 0x200_0000n,
    });
  }
  return { kvm, vm };
}

function gfns(n: number): Float64Array {
  const out = new Float64Array(PER_ITER);
  let seed = 12345;
  for (let i = 0; i < PER_ITER; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out[i] = (seed % n) * 0x4000 + (seed & 0x1fff);
  }
  return out;
}

function lookupCase(n: number) {
  const { vm } = vmWithSlots(n);
  const g = gfns(n);
  let sink = 0;
  return {
    name: `gfnToHva, ${n} slots`,
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) sink += vm.gfnToHva(g[i]!) ?? 0;
      return sink;
    },
    work: { count: PER_ITER, unit: 'lookups' },
  };
}

const dirty = vmWithSlots(32, KVM_MEM_LOG_DIRTY_PAGES);
const dirtyGfns = gfns(32);

const io = vmWithSlots(1);
const ev = new EventFd();
io.vm.ioeventfd({ fd: io.kvm.files.install(ev), addr: 0x1000_0000n, len: 4, flags: 0, datamatch: 0n });
const word = Uint8Array.of(1, 0, 0, 0);

await runSuite('kvm-core: memslot lookup, dirty marking, MMIO bus', [
  lookupCase(1),
  lookupCase(32),
  lookupCase(500),
  {
    name: 'markPageDirty, 32 logging slots',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) dirty.vm.markPageDirty(dirtyGfns[i]!);
    },
    work: { count: PER_ITER, unit: 'pages' },
  },
  {
    name: 'MMIO write -> ioeventfd signal',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) io.vm.mmioBus.write(0x1000_0000, word);
      if (ev.value > 0n) ev.read();
    },
    work: { count: PER_ITER, unit: 'writes' },
  },
  {
    name: 'MMIO write, unclaimed (exit path check)',
    fn: () => {
      for (let i = 0; i < PER_ITER; i++) io.vm.mmioBus.write(0x2000_0000, word);
    },
    work: { count: PER_ITER, unit: 'writes' },
  },
]);
