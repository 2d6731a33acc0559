import { defineModule, type VmmModule } from '@tsvirt/core-bus';
import { KVM, type Kvm } from '@tsvirt/kvm-core';
import { registerRiscvAia } from './aia-device.ts';
import { KvmRiscvArch, type KvmRiscvOptions } from './arch.ts';

/** DI token for the registered KvmRiscvArch. */
export const KVM_RISCV = Symbol.for('kvm-riscv.KvmRiscvArch');

/** The arch module: registers KvmRiscvArch into the host's Kvm (kvm_init()), as kvm.ko's arch part does at load. */
export function createKvmRiscvModule(opts: KvmRiscvOptions = {}): VmmModule {
  return defineModule({
    name: 'kvm-riscv',
    scope: 'host',
    dependsOn: ['kvm-core'],
    register(c) {
      const arch = new KvmRiscvArch(opts);
      const kvm = c.resolve<Kvm>(KVM);
      kvm.registerArch(arch);
      registerRiscvAia(kvm);
      c.registerInstance(KVM_RISCV, arch);
    },
  });
}

/** The VMM module that registers the RISC-V arch with kvm-core (module_init(riscv_kvm_init)). */
export const kvmRiscvModule = createKvmRiscvModule();
