import { fail } from '@tsvirt/core-bus';
import type { KvmVm } from '@tsvirt/kvm-core';
import { aiaInjectMsi } from './aia.ts';
import { aiaBypassRoutingChanged } from './aia-bypass.ts';
import {
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_IRQCHIP_NUM_PINS,
  KVM_MAX_IRQ_ROUTES,
  KVM_MSI_VALID_DEVID,
  type KvmIrqRouting,
  type KvmIrqRoutingEntry,
  type KvmMsi,
} from './aia-uapi.ts';
import { riscvVm } from './state.ts';

/**
 * KVM_SET_GSI_ROUTING (kvm_set_irq_routing() with RISC-V's
 * kvm_set_routing_entry()): EINVAL without the in-kernel AIA
 * (kvm_arch_can_set_irq_routing()), past KVM_MAX_IRQ_ROUTES, with flags,
 * for a GSI past the table, an unknown type, an irqchip other than 0 or a
 * pin past KVM_IRQCHIP_NUM_PINS, bad MSI flags, or a GSI routed to the
 * irqchip twice. The table is replaced whole or not at all.
 */
export function kvmSetGsiRouting(vm: KvmVm, r: KvmIrqRouting): void {
  const S = 'KVM_SET_GSI_ROUTING';
  const aia = riscvVm(vm).aia;
  if (!aia.inKernel) fail('EINVAL', 'no in-kernel irqchip', S);
  if (r.nr > KVM_MAX_IRQ_ROUTES) fail('EINVAL', `${r.nr} routes > KVM_MAX_IRQ_ROUTES`, S);
  if (r.flags) fail('EINVAL', `flags 0x${r.flags.toString(16)}`, S);
  if (r.entries.length < r.nr) fail('EFAULT', `${r.nr} entries not readable`, S);
  const table = new Map<number, KvmIrqRoutingEntry[]>();
  for (const e of r.entries.slice(0, r.nr)) {
    if (!Number.isInteger(e.gsi) || e.gsi < 0 || e.gsi >= KVM_MAX_IRQ_ROUTES)
      fail('EINVAL', `gsi ${e.gsi}`, S);
    const list = table.get(e.gsi) ?? [];
    if (e.type === KVM_IRQ_ROUTING_IRQCHIP) {
      if (e.flags) fail('EINVAL', 'irqchip entries take no flags', S);
      const c = e.irqchip;
      if (c === undefined || c.irqchip !== 0 || c.pin < 0 || c.pin >= KVM_IRQCHIP_NUM_PINS)
        fail('EINVAL', `irqchip ${c?.irqchip} pin ${c?.pin}`, S);
      // setup_routing_entry(): one irqchip route per GSI.
      if (list.some((o) => o.type === KVM_IRQ_ROUTING_IRQCHIP))
        fail('EINVAL', `gsi ${e.gsi} already has a pin`, S);
    } else if (e.type === KVM_IRQ_ROUTING_MSI) {
      if (e.flags & ~KVM_MSI_VALID_DEVID) fail('EINVAL', `MSI flags 0x${e.flags.toString(16)}`, S);
      if (e.msi === undefined) fail('EINVAL', 'MSI entry without address/data', S);
    } else fail('EINVAL', `routing type ${e.type}`, S);
    list.push({ ...e });
    table.set(e.gsi, list);
  }
  aia.routes = table;
  aiaBypassRoutingChanged(vm);
}

/**
 * KVM_SIGNAL_MSI (kvm_send_userspace_msi() -> kvm_set_msi() ->
 * kvm_riscv_aia_inject_msi()): EINVAL without the in-kernel AIA or with
 * flags other than KVM_MSI_VALID_DEVID; EBUSY before CTRL_INIT; ENODEV /
 * EINVAL from the IMSIC for a bad offset or identity. Returns 0.
 */
export function kvmSignalMsi(vm: KvmVm, msi: KvmMsi): number {
  const S = 'KVM_SIGNAL_MSI';
  if (!riscvVm(vm).aia.inKernel || msi.flags & ~KVM_MSI_VALID_DEVID)
    fail('EINVAL', 'no in-kernel irqchip, or bad flags', S);
  try {
    aiaInjectMsi(vm, msi);
  } catch (e) {
    (e as { syscall?: string }).syscall ??= S;
    throw e;
  }
  return 0;
}

/**
 * kvm_set_irq() with the in-kernel AIA: every route of the GSI fires, an
 * irqchip pin through kvm_riscv_aia_aplic_inject(), an MSI (on a rising
 * level only, as kvm_set_msi()) into an IMSIC. Without a routing table,
 * kvm_riscv_setup_default_irq_routing()'s identity map: GSI n is APLIC pin n.
 * Errors are not the injector's (an irqfd has no one to tell): dropped.
 */
export function aiaSetIrq(vm: KvmVm, gsi: number, level: number): void {
  const aia = riscvVm(vm).aia;
  const posted = aia.posted.size === 0 ? undefined : aia.posted.get(gsi);
  if (posted !== undefined) {
    // A posted device interrupt: straight into the vCPU's file (an edge; the low half is nothing).
    if (level !== 0) {
      posted.file.setPending(posted.id);
      aia.postedDelivered++;
    }
    return;
  }
  const routes = aia.routes;
  try {
    if (routes === undefined) {
      if (gsi < KVM_IRQCHIP_NUM_PINS) aia.aplic?.inject(gsi, level !== 0);
      return;
    }
    for (const e of routes.get(gsi) ?? []) {
      if (e.type === KVM_IRQ_ROUTING_IRQCHIP) aia.aplic?.inject(e.irqchip!.pin, level !== 0);
      else if (level !== 0) aiaInjectMsi(vm, { ...e.msi!, flags: e.flags });
    }
  } catch {
    // ENODEV (no such pin) or EBUSY (not initialised): nothing is delivered.
  }
}
