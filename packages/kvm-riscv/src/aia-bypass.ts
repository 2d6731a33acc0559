import type { KvmVm } from '@tsvirt/kvm-core';
import type { ImsicFile } from '@tsvirt/riscv-hart';
import { KVM_IRQ_ROUTING_MSI } from './aia-uapi.ts';
import { riscvVcpu, riscvVm } from './state.ts';

/**
 * A posted route: a device interrupt (host irq) whose irqfd's GSI is an MSI
 * route, resolved once to the target vCPU's interrupt file and identity, so
 * the interrupt is written straight into the file: the IMSIC counterpart of
 * x86's posted-interrupt IRTE (vmx_pi_update_irte()).
 */
export interface AiaPostedRoute {
  /** The producer's host irq. */
  hostIrq: number;
  /** The file the MSI's address names. */
  file: ImsicFile;
  /** The MSI's data: the identity. */
  id: number;
}

/** Resolve a GSI's MSI route to (file, identity); undefined if it is not a single MSI naming a vCPU's file. */
function resolve(vm: KvmVm, gsi: number): { file: ImsicFile; id: number } | undefined {
  const aia = riscvVm(vm).aia;
  const list = aia.routes?.get(gsi);
  if (!aia.initialized || list === undefined || list.length !== 1) return undefined;
  const e = list[0]!;
  if (e.type !== KVM_IRQ_ROUTING_MSI || e.msi === undefined) return undefined;
  const addr = (BigInt(e.msi.address_hi >>> 0) << 32n) | BigInt(e.msi.address_lo >>> 0);
  // Only guest index 0 at the seteipnum_le offset is a file KVM can post to (as kvm_riscv_vcpu_aia_imsic_inject()).
  if ((addr & 0xfffn) !== 0n) return undefined;
  const id = e.msi.data >>> 0;
  if (id === 0 || id > aia.nrIds) return undefined;
  for (const v of vm.vcpus) {
    const va = riscvVcpu(v).aia;
    if (va.file !== undefined && va.imsicAddr === addr) return { file: va.file, id };
  }
  return undefined;
}

/**
 * kvm_arch_irq_bypass_add_producer(): a VFIO MSI producer met the irqfd of
 * `gsi`. When the GSI is an MSI route to a vCPU's IMSIC file, post it; other
 * routes keep the irqfd path (still without the VMM).
 */
export function aiaBypassAddProducer(vm: KvmVm, hostIrq: number, gsi: number): void {
  const r = resolve(vm, gsi);
  if (r !== undefined) riscvVm(vm).aia.posted.set(gsi, { hostIrq, ...r });
}

/** kvm_arch_irq_bypass_del_producer(): back to the irqfd path. */
export function aiaBypassDelProducer(vm: KvmVm, _hostIrq: number, gsi: number): void {
  riscvVm(vm).aia.posted.delete(gsi);
}

/** kvm_arch_update_irqfd_routing(): a new routing table re-resolves every posted GSI (or unposts it). */
export function aiaBypassRoutingChanged(vm: KvmVm): void {
  const posted = riscvVm(vm).aia.posted;
  for (const [gsi, p] of [...posted]) {
    const r = resolve(vm, gsi);
    if (r === undefined) posted.delete(gsi);
    else posted.set(gsi, { hostIrq: p.hostIrq, ...r });
  }
}
