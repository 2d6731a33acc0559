import { defineModule, type VmmModule } from '@tsvirt/core-bus';
import { KVM, type Kvm } from '@tsvirt/kvm-core';
import { KvmArmArch, type KvmArmOptions } from './arch.ts';

/** DI token for the registered KvmArmArch. */
export const KVM_ARM = Symbol.for('kvm-arm.KvmArmArch');

/** The arch module: registers KvmArmArch into the host's Kvm (kvm_arm_init()). */
export function createKvmArmModule(opts: KvmArmOptions): VmmModule {
  return defineModule({
    name: 'kvm-arm',
    scope: 'host',
    dependsOn: ['kvm-core'],
    register(c) {
      const arch = new KvmArmArch(opts);
      c.resolve<Kvm>(KVM).registerArch(arch);
      c.registerInstance(KVM_ARM, arch);
    },
  });
}
