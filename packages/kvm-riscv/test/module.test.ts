import { coreBusModule, ModuleLoader } from '@tsvirt/core-bus';
import { hostMmModule, PROT_READ } from '@tsvirt/host-mm';
import { KVM, KVM_EXIT_MMIO, type Kvm, kvmCoreModule } from '@tsvirt/kvm-core';
import { PTE_W } from '@tsvirt/kvm-riscv-mmu';
import { jal, ld, li, sd } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { KVM_RISCV, KvmRiscvArch, kvmRiscvModule } from '../src/index.ts';
import { makeVm, mmuOf, RAM_GPA, runToExit } from './support.ts';

describe('kvmRiscvModule', () => {
  it('registers the RISC-V arch into the host Kvm; a second arch is EEXIST', () => {
    const loader = new ModuleLoader();
    loader.loadHost([coreBusModule, hostMmModule, kvmCoreModule, kvmRiscvModule]);
    const kvm = loader.host.resolve<Kvm>(KVM);
    expect(kvm.arch).toBe(loader.host.resolve(KVM_RISCV));
    expect(kvm.arch?.name).toBe('riscv');
    expect(() => kvm.registerArch(new KvmRiscvArch())).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  });
});

describe('VMA protection', () => {
  it('a read-only VMA maps read-only on a read; a guest write there fails KVM_RUN with EFAULT', () => {
    const t = makeVm();
    const DATA = 0x9000_0000;
    const hva = t.mm.mmap({ length: 0x4000, prot: PROT_READ | 2, flags: 0x22 });
    t.vm.setUserMemoryRegion({
      slot: 1,
      flags: 0,
      guest_phys_addr: BigInt(DATA),
      memory_size: 0x4000n,
      userspace_addr: BigInt(hva),
    });
    t.mm.mprotect(hva, 0x4000, PROT_READ);
    t.load(RAM_GPA, [
      ...li(6, BigInt(DATA)),
      ld(11, 6, 0),
      ...li(7, 0x1000_0000n),
      sd(0, 7, 0),
      sd(11, 6, 0),
      jal(0, 0),
    ]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(mmuOf(t.vm).gstage.getLeaf(DATA)!.flags & PTE_W).toBe(0);
    expect(() => runToExit(v)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
  });
});
