import { defineModule, type FdTable, type VmmModule } from '@tsvirt/core-bus';
import { HOST_MM, type MmStruct } from '@tsvirt/host-mm';
import { Kvm } from './kvm.ts';
import { KVM } from './tokens.ts';

/**
 * The host's /dev/kvm, used by the VMM process whose mm host-mm registers
 * (HOST_MM: current->mm, checked against memslot hvas and watched by each
 * VM's MMU notifier). `files` is the VMM's descriptor table, where VMs,
 * vCPUs, devices and the eventfds of KVM_IRQFD/KVM_IOEVENTFD live; share it
 * with VFIO so group and eventfd descriptors mean the same everywhere.
 * Arch modules (kvm-riscv) depend on this one and call registerArch() on the
 * resolved Kvm; device modules (kvm-vfio) call registerDeviceOps(), as their
 * kernel counterparts do at module init.
 */
export function createKvmCoreModule(opts: { files?: FdTable } = {}): VmmModule {
  return defineModule({
    name: 'kvm-core',
    scope: 'host',
    dependsOn: ['core-bus', 'host-mm'],
    register(c) {
      const mm = c.resolve<MmStruct>(HOST_MM);
      c.registerInstance(KVM, new Kvm({ mm, ...(opts.files ? { files: opts.files } : {}) }));
    },
  });
}

/** kvm-core with its own descriptor table. */
export const kvmCoreModule = createKvmCoreModule();
