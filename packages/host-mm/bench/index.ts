import { runSuite } from '@tsvirt/bench-harness';
import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MmStruct,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../src/index.ts';

// The host-mm paths on KVM's and VFIO's hot paths: translating a present
// page (a G-stage fault on memory already touched), faulting fresh
// anonymous pages in, and pin + unpin (VFIO's pin_pages).
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

const phys = new HostPhysMemory();
const mm = new MmStruct(phys, { capIpcLock: true });
for (let i = 0; i < 64; i++) mm.mmap({ length: 1 << 20, prot: RW, flags: ANON }); // other VMAs around
const PAGES = 1 << 16; // 256 MiB of "guest RAM", all touched
const ram = mm.mmap({ length: PAGES * PAGE_SIZE, prot: RW, flags: ANON });
for (let i = 0; i < PAGES; i++) mm.hvaToPfn(ram + i * PAGE_SIZE, true);

const LOOKUPS = 10_000;
const addrs = new Float64Array(LOOKUPS);
let seed = 99;
for (let i = 0; i < LOOKUPS; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  addrs[i] = ram + (seed % PAGES) * PAGE_SIZE + (seed & 0xff8);
}

const FRESH = 1024;
const pinVa = ram;

await runSuite('host-mm: translation, fault-in, pinning', [
  {
    name: `hvaToPfn, present pages (${LOOKUPS.toLocaleString('en')} random)`,
    fn: () => {
      for (let i = 0; i < LOOKUPS; i++) mm.hvaToPfn(addrs[i]!, true);
    },
    work: { count: LOOKUPS, unit: 'lookups' },
  },
  {
    name: `mmap + fault in + munmap ${FRESH} fresh pages`,
    fn: () => {
      const a = mm.mmap({ length: FRESH * PAGE_SIZE, prot: RW, flags: ANON });
      for (let i = 0; i < FRESH; i++) mm.hvaToPfn(a + i * PAGE_SIZE, true);
      mm.munmap(a, FRESH * PAGE_SIZE);
    },
    work: { count: FRESH, unit: 'pages' },
  },
  {
    name: 'pinUserPages + unpinUserPages, 512 pages',
    fn: () => mm.unpinUserPages(mm.pinUserPages(pinVa, 512, true)),
    work: { count: 512, unit: 'pages' },
  },
]);
