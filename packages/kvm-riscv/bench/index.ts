import { runSuite } from '@tsvirt/bench-harness';
import { FdTable } from '@tsvirt/core-bus';
import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MmStruct,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import { KVM_EXIT_MMIO, KVM_MEM_LOG_DIRTY_PAGES, Kvm, type KvmVcpu, type KvmVm } from '@tsvirt/kvm-core';
import { KvmRiscvArch, RiscvVcpuScheduler, riscvVcpu, riscvVm } from '../src/index.ts';
import { mmioLoop, writeLoop } from './guest.ts';

// The guest-facing costs of KVM on the emulated hart: G-stage faults (a
// guest touching fresh RAM), the MMIO exit round trip, and dirty logging.

const MiB = 1 << 20;
const CODE_GPA = 0x8000_0000;
const DATA_MIB = 4096; // data slot at 4 GiB

const phys = new HostPhysMemory({ totalFrames: 1 << 20 }); // 4 GiB of host frames, backed as touched
const mm = new MmStruct(phys);
const files = new FdTable();
const kvm = new Kvm({ arch: new KvmRiscvArch({ quantum: 1 << 24 }), mm, files });

interface Guest {
  vm: KvmVm;
  vcpu: KvmVcpu;
  sched: RiscvVcpuScheduler;
  data: number;
  close(): void;
}

function guest(code: number[], dataMiB: number, opts: { huge?: boolean; log?: boolean } = {}): Guest {
  const vm = kvm.createVm();
  const codeHva = mm.mmap({
    length: 0x1000,
    prot: PROT_READ | PROT_WRITE,
    flags: MAP_PRIVATE | MAP_ANONYMOUS,
  });
  mm.copyToUser(codeHva, new Uint8Array(new Uint32Array(code).buffer));
  vm.setUserMemoryRegion({
    slot: 0,
    flags: 0,
    guest_phys_addr: BigInt(CODE_GPA),
    memory_size: 0x1000n,
    userspace_addr: BigInt(codeHva),
  });
  let data = 0;
  if (dataMiB > 0) {
    const flags = MAP_PRIVATE | MAP_ANONYMOUS | (opts.huge ? MAP_HUGETLB : 0);
    data = mm.mmap({ length: dataMiB * MiB, prot: PROT_READ | PROT_WRITE, flags });
    vm.setUserMemoryRegion({
      slot: 1,
      flags: opts.log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
      guest_phys_addr: BigInt(DATA_MIB * MiB),
      memory_size: BigInt(dataMiB * MiB),
      userspace_addr: BigInt(data),
    });
  }
  const vcpu = vm.createVcpu(0);
  riscvVcpu(vcpu).hart.pc = BigInt(CODE_GPA);
  return {
    vm,
    vcpu,
    sched: new RiscvVcpuScheduler(vm),
    data,
    close() {
      files.close(vcpu.fd);
      files.close(vm.fd);
      mm.munmap(codeHva, 0x1000);
      if (data) mm.munmap(data, dataMiB * MiB);
    },
  };
}

/** Run until the guest's next MMIO store (one pass of its loop). */
function toMmio(g: Guest): void {
  const v = g.sched.run();
  if (v === undefined || v.run.exit_reason !== KVM_EXIT_MMIO)
    throw new Error('guest did not reach its MMIO store');
}

/** Fault in 1 GiB, touching each 4 KiB page once: a fresh VM and mapping per iteration. */
function faultIn(huge: boolean) {
  let faults = 0;
  return {
    name: `fault in 1 GiB, ${huge ? '2 MiB' : '4 KiB'} G-stage mappings`,
    fn: () => {
      const g = guest(writeLoop(DATA_MIB, 1024, 4096), 1024, { huge });
      toMmio(g);
      faults = riscvVm(g.vm).mmu.stats.faults;
      g.close();
    },
    teardown: () =>
      console.log(`  (${faults} G-stage faults per GiB with ${huge ? '2 MiB' : '4 KiB'} mappings)`),
    work: { count: huge ? 512 + 1 : 262_144 + 1, unit: 'faults' },
    iterations: 2,
    time: 0,
  };
}

let mmioGuest: Guest | undefined;
const MMIO_PER_ITER = 10_000;

/** 256 MiB written with a 64-byte stride, one pass per iteration, logging off or on (then GET_DIRTY_LOG per pass). */
function dirtyPass(log: boolean) {
  let g: Guest | undefined;
  const bitmap = { slot: 1, dirty_bitmap: undefined as Uint8Array | undefined };
  const name = `write 256 MiB (64 B stride), dirty logging ${log ? 'on + GET_DIRTY_LOG' : 'off'}`;
  return {
    name,
    setup: () => {
      g = guest(writeLoop(DATA_MIB, 256, 64), 256, { log });
      toMmio(g); // first pass faults everything in
      if (log) g.vm.getDirtyLog(bitmap);
    },
    fn: () => {
      toMmio(g!);
      if (log) g!.vm.getDirtyLog(bitmap);
    },
    teardown: () => g!.close(),
    work: { count: (256 * MiB) / 64, unit: 'stores' },
    iterations: 3,
    time: 0,
    ...(log ? { baseline: 'write 256 MiB (64 B stride), dirty logging off' } : {}),
  };
}

await runSuite('kvm-riscv: G-stage faults, MMIO exits, dirty logging', [
  faultIn(false),
  faultIn(true),
  {
    name: 'MMIO exit round trip (store -> KVM_EXIT_MMIO -> VMM -> resume)',
    setup: () => {
      mmioGuest = guest(mmioLoop(), 0);
    },
    fn: () => {
      for (let i = 0; i < MMIO_PER_ITER; i++) toMmio(mmioGuest!);
    },
    teardown: () => mmioGuest!.close(),
    work: { count: MMIO_PER_ITER, unit: 'exits' },
  },
  dirtyPass(false),
  dirtyPass(true),
]);
