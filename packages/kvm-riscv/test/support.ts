import { FdTable } from '@tsvirt/core-bus';
import { HostPhysMemory, MAP_ANONYMOUS, MAP_PRIVATE, MmStruct, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import { Kvm, type KvmVcpu, type KvmVm } from '@tsvirt/kvm-core';
import { KvmRiscvArch, type KvmRiscvOptions, riscvVcpu, riscvVm } from '../src/index.ts';

export const RAM_GPA = 0x8000_0000;
export const MMIO = 0x1000_0000;

export interface TestVm {
  phys: HostPhysMemory;
  mm: MmStruct;
  kvm: Kvm;
  vm: KvmVm;
  files: FdTable;
  ram: number;
  ramSize: number;
  /** Write 32-bit instructions (or data words) at a guest physical address in RAM. */
  load(gpa: number, words: readonly number[]): void;
  vcpu(id?: number, pc?: number): KvmVcpu;
}

/** A VM with `ramSize` bytes of RAM at 0x8000_0000 in memslot 0. */
export function makeVm(ramSize = 4 << 20, opts: KvmRiscvOptions = {}): TestVm {
  const phys = new HostPhysMemory({ totalFrames: 1 << 19 });
  const mm = new MmStruct(phys);
  const files = new FdTable();
  const kvm = new Kvm({ arch: new KvmRiscvArch(opts), mm, files });
  const vm = kvm.createVm();
  const ram = mm.mmap({ length: ramSize, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  vm.setUserMemoryRegion({
    slot: 0,
    flags: 0,
    guest_phys_addr: BigInt(RAM_GPA),
    memory_size: BigInt(ramSize),
    userspace_addr: BigInt(ram),
  });
  return {
    phys,
    mm,
    kvm,
    vm,
    files,
    ram,
    ramSize,
    load(gpa, words) {
      const b = new Uint8Array(words.length * 4);
      new DataView(b.buffer).setUint32(0, 0);
      for (let i = 0; i < words.length; i++) new DataView(b.buffer).setUint32(i * 4, words[i]! >>> 0, true);
      mm.copyToUser(ram + (gpa - RAM_GPA), b);
    },
    vcpu(id = 0, pc = RAM_GPA) {
      const v = vm.createVcpu(id);
      riscvVcpu(v).hart.pc = BigInt(pc);
      return v;
    },
  };
}

/** KVM_RUN until something other than a quantum end (KVM_EXIT_INTR) comes back, at most `max` times. */
export function runToExit(v: KvmVcpu, max = 1000): number {
  for (let i = 0; i < max; i++) {
    v.kvmRun();
    if (v.run.exit_reason !== 10) return v.run.exit_reason;
  }
  throw new Error('no exit');
}

export const x = (v: KvmVcpu, r: number) => riscvVcpu(v).hart.getX(r);
export const hartOf = (v: KvmVcpu) => riscvVcpu(v).hart;
export const mmuOf = (vm: KvmVm) => riscvVm(vm).mmu;
