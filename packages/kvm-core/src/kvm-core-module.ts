import { defineModule } from '@tsvirt/core-bus';
import { Kvm } from './kvm.ts';
import { KVM } from './tokens.ts';

/**
 * The host's /dev/kvm. Arch modules (kvm-riscv) depend on it and call
 * registerArch() on the resolved Kvm; device modules (kvm-vfio) call
 * registerDeviceOps(), as their kernel counterparts do at module init.
 */
export const kvmCoreModule = defineModule({
  name: 'kvm-core',
  scope: 'host',
  dependsOn: ['core-bus'],
  register(c) {
    c.registerInstance(KVM, new Kvm());
  },
});
