import { FdTable } from '@tsvirt/core-bus';
import { Kvm, type KvmUserspaceMemoryRegion, type KvmVm } from '../src/index.ts';
import { FakeArch } from './fake-arch.ts';

export function setup() {
  const arch = new FakeArch();
  const files = new FdTable();
  const kvm = new Kvm({ arch, files });
  const vm = kvm.createVm();
  return { arch, files, kvm, vm };
}

export const MiB = 1n << 20n;

export function region(
  slot: number,
  gpa: bigint,
  size: bigint,
  hva: bigint = 0x1000_0000n + gpa,
  flags = 0,
): KvmUserspaceMemoryRegion {
  return { slot, flags, guest_phys_addr: gpa, memory_size: size, userspace_addr: hva };
}

/** Everything observable about a VM's memslots, for "unchanged" checks. */
export function slotState(vm: KvmVm) {
  return {
    slots: vm.memslots
      .list()
      .map((s) => [s.id, s.baseGfn, s.npages, s.userspaceAddr, s.flags, s.dirtyBitmap?.slice(), s.invalid]),
    generation: vm.memslots.generation,
    pages: vm.nrMemslotPages,
  };
}
