export {
  archBypassForwardOps,
  defaultIrqResolver,
  type KvmArchForwardOps,
  KvmVfioForwarding,
  type KvmVfioFwdIrq,
  type VfioIrqResolver,
} from './forward.ts';
export { IrqBypass, irqBypass } from './irq-bypass.ts';
export { EventfdIrqProducer } from './irq-producer.ts';
export { KvmVfio, KvmVfioOps, type KvmVfioOptions, kvmVfioOf, registerKvmVfio } from './kvm-vfio.ts';
export { createKvmVfioModule, IRQ_BYPASS, kvmVfioModule } from './module.ts';
export * from './uapi.ts';
