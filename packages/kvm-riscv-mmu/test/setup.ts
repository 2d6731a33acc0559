import { HostPhysMemory, MAP_ANONYMOUS, MAP_PRIVATE, MmStruct, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import { Kvm, type KvmArchOps, type KvmVm } from '@tsvirt/kvm-core';
import { KvmRiscvMmu } from '../src/index.ts';

export const mmuOf = (vm: KvmVm) => vm.arch as KvmRiscvMmu;

/** The MMU hooks wired as kvm-riscv wires them, with no vCPUs. */
export function setup() {
  const phys = new HostPhysMemory({ totalFrames: 1 << 16 });
  const mm = new MmStruct(phys);
  let flushes = 0;
  const arch: KvmArchOps = {
    name: 'mmu-test',
    vmInit: (vm) => {
      vm.arch = new KvmRiscvMmu(vm, { phys });
    },
    vmDestroy: (vm) => mmuOf(vm).destroy(),
    prepareMemoryRegion: (vm, _o, n, c) => mmuOf(vm).prepareMemoryRegion(n, c),
    commitMemoryRegion: () => {},
    flushShadowMemslot: (vm, s) => mmuOf(vm).flushShadowMemslot(s),
    unmapGfnRange: (vm, _s, a, b) => mmuOf(vm).unmapGfnRange(a, b),
    flushShadowAll: (vm) => mmuOf(vm).flushShadowAll(),
    enableLogDirtyPtMasked: (vm, s, o, m) => mmuOf(vm).enableLogDirtyPtMasked(s, o, m),
    writeProtectMemslot: (vm, s) => mmuOf(vm).writeProtectMemslot(s),
    flushRemoteTlbs: () => {
      flushes++;
    },
    vcpuCreate: () => {},
    vcpuDestroy: () => {},
    vcpuRun: () => {},
  };
  const kvm = new Kvm({ arch, mm });
  const vm = kvm.createVm();
  const hva = mm.mmap({ length: 0x10000, prot: PROT_READ | PROT_WRITE, flags: MAP_PRIVATE | MAP_ANONYMOUS });
  return { phys, mm, vm, hva, flushes: () => flushes };
}
