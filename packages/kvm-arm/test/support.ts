import { FdTable } from '@tsvirt/core-bus';
import { HostPhysMemory, MAP_ANONYMOUS, MAP_PRIVATE, MmStruct, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import {
  KVM_ARM_PREFERRED_TARGET,
  KVM_ARM_VCPU_INIT,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  type KvmVcpuInit,
} from '@tsvirt/kvm-arm-psci';
import { KVM_EXIT_INTR, Kvm, type KvmVcpu, type KvmVm } from '@tsvirt/kvm-core';
import { armVcpu, KvmArmArch, type KvmArmOptions } from '../src/index.ts';
import { FakeCpu } from './fake-cpu.ts';

export const RAM_GPA = 0x4000_0000;

export interface TestVm {
  phys: HostPhysMemory;
  mm: MmStruct;
  kvm: Kvm;
  vm: KvmVm;
  ram: number;
  /** Create and KVM_ARM_VCPU_INIT a vCPU (PSCI 0.2 features; secondaries powered off when `off`). */
  vcpu(id?: number, off?: boolean): KvmVcpu;
}

/** A VM with `ramSize` bytes of RAM at 0x4000_0000 in slot 0, CPUs from FakeCpu. */
export function makeVm(ramSize = 1 << 20, opts: Partial<KvmArmOptions> = {}): TestVm {
  const phys = new HostPhysMemory({ totalFrames: 1 << 16 });
  const mm = new MmStruct(phys);
  const kvm = new Kvm({
    arch: new KvmArmArch({ createCpu: (mem, id) => new FakeCpu(mem, id), ...opts }),
    mm,
    files: new FdTable(),
  });
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
    ram,
    vcpu(id = vm.vcpus.length, off = false) {
      const v = vm.createVcpu(id);
      const init: KvmVcpuInit = { target: 0, features: [] };
      vm.ioctl(KVM_ARM_PREFERRED_TARGET, init);
      init.features[0] = (1 << KVM_ARM_VCPU_PSCI_0_2) | (off ? 1 << KVM_ARM_VCPU_POWER_OFF : 0);
      v.ioctl(KVM_ARM_VCPU_INIT, init);
      return v;
    },
  };
}

export const cpuOf = (v: KvmVcpu): FakeCpu => armVcpu(v).cpu as FakeCpu;

/** KVM_RUN until an exit other than KVM_EXIT_INTR, at most `max` times. */
export function runToExit(v: KvmVcpu, max = 100): number {
  for (let i = 0; i < max; i++) {
    v.kvmRun();
    if (v.run.exit_reason !== KVM_EXIT_INTR) return v.run.exit_reason;
  }
  throw new Error('no exit');
}

/** KVM_RUN until the fake CPU's script is used up (each quantum ends with KVM_EXIT_INTR). */
export function drain(v: KvmVcpu, max = 100): void {
  for (let i = 0; i < max && cpuOf(v).steps.length > 0; i++) v.kvmRun();
  if (cpuOf(v).steps.length > 0) throw new Error('script not used up');
}
