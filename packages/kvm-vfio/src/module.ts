import { defineModule, type VmmModule } from '@tsvirt/core-bus';
import { KVM, type Kvm } from '@tsvirt/kvm-core';
import { VFIO_CORE, type VfioCore } from '@tsvirt/vfio-core';
import { type IrqBypass, irqBypass } from './irq-bypass.ts';
import { type KvmVfioOptions, registerKvmVfio } from './kvm-vfio.ts';

/** DI token for the host's IRQ bypass manager (an IrqBypass). */
export const IRQ_BYPASS = Symbol.for('kvm-vfio.IrqBypass');

/**
 * kvm-vfio at module init (kvm_vfio_ops_init()): the VFIO device type on
 * the host's /dev/kvm, and the IRQ bypass manager as a host service that
 * KVM's irqfds (consumers) and VFIO bus drivers (producers) register with:
 * it is given to /dev/kvm (kvm.irqBypass) and to VFIO (vfio.irqBypass),
 * unless either already has one. The manager defaults to the package-level one.
 */
export function createKvmVfioModule(opts: KvmVfioOptions & { bypass?: IrqBypass } = {}): VmmModule {
  return defineModule({
    name: 'kvm-vfio',
    scope: 'host',
    dependsOn: ['kvm-core', 'vfio-core'],
    register(c) {
      const kvm = c.resolve<Kvm>(KVM);
      const mgr = opts.bypass ?? irqBypass;
      registerKvmVfio(kvm, opts);
      kvm.irqBypass ??= mgr;
      const vfio = c.resolve<VfioCore>(VFIO_CORE);
      vfio.irqBypass ??= mgr;
      c.registerInstance(IRQ_BYPASS, mgr);
    },
  });
}

/** The VMM module that adds the KVM-VFIO device type and the IRQ bypass manager (kvm_vfio_ops_init()). */
export const kvmVfioModule = createKvmVfioModule();
