import type { KvmDevice, KvmVm } from '@tsvirt/kvm-core';
import { KVM_DEV_TYPE_RISCV_AIA } from '@tsvirt/kvm-core';
import {
  KVM_DEV_RISCV_AIA_ADDR_APLIC,
  KVM_DEV_RISCV_AIA_ADDR_IMSIC,
  KVM_DEV_RISCV_AIA_CONFIG_HART_BITS,
  KVM_DEV_RISCV_AIA_CONFIG_IDS,
  KVM_DEV_RISCV_AIA_CONFIG_SRCS,
  KVM_DEV_RISCV_AIA_CTRL_INIT,
  KVM_DEV_RISCV_AIA_GRP_ADDR,
  KVM_DEV_RISCV_AIA_GRP_CONFIG,
  KVM_DEV_RISCV_AIA_GRP_CTRL,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_SET_GSI_ROUTING,
  type KvmIrqRoutingEntry,
  riscvVm,
} from '@tsvirt/kvm-riscv';
import { imsicHartBits } from '../board/device-tree.ts';
import {
  AIA_NUM_SOURCES,
  APLIC_S_BASE,
  IMSIC_NUM_IDS,
  IMSIC_PAGE_SIZE,
  IMSIC_S_BASE,
} from '../board/layout.ts';

const u32 = (v: number) => new Uint8Array(new Uint32Array([v]).buffer);
const u64 = (v: bigint) => new Uint8Array(new BigUint64Array([v]).buffer);

/**
 * --irqchip aia: KVM's in-kernel AIA set up as QEMU's kvm_riscv_aia_create()
 * does for `virt,aia=aplic-imsic`: the device, its configuration (sources,
 * ids, hart bits), the APLIC and each vCPU's IMSIC page, CTRL_INIT, and a
 * GSI routing table with one irqchip route per wired source
 * (kvm_irqchip_add_irq_route()) to which MSI routes are added
 * (kvm_irqchip_add_msi_route()) as the guest enables device MSIs.
 */
export class KvmAiaChip {
  readonly dev: KvmDevice;
  private readonly routes = new Map<number, KvmIrqRoutingEntry>();
  private nextGsi = AIA_NUM_SOURCES + 1;

  constructor(
    private readonly vm: KvmVm,
    cpus: number,
  ) {
    const dev = vm.createDevice({ type: KVM_DEV_TYPE_RISCV_AIA, fd: 0, flags: 0 })!;
    this.dev = dev;
    const cfg = (attr: number, v: number) =>
      dev.setAttr({
        flags: 0,
        group: KVM_DEV_RISCV_AIA_GRP_CONFIG,
        attr: BigInt(attr),
        addr: 0n,
        data: u32(v),
      });
    const addr = (attr: number, v: number) =>
      dev.setAttr({
        flags: 0,
        group: KVM_DEV_RISCV_AIA_GRP_ADDR,
        attr: BigInt(attr),
        addr: 0n,
        data: u64(BigInt(v)),
      });
    cfg(KVM_DEV_RISCV_AIA_CONFIG_SRCS, AIA_NUM_SOURCES);
    cfg(KVM_DEV_RISCV_AIA_CONFIG_IDS, IMSIC_NUM_IDS);
    cfg(KVM_DEV_RISCV_AIA_CONFIG_HART_BITS, imsicHartBits(cpus));
    addr(KVM_DEV_RISCV_AIA_ADDR_APLIC, APLIC_S_BASE);
    for (let i = 0; i < cpus; i++) addr(KVM_DEV_RISCV_AIA_ADDR_IMSIC(i), IMSIC_S_BASE + i * IMSIC_PAGE_SIZE);
    dev.setAttr({
      flags: 0,
      group: KVM_DEV_RISCV_AIA_GRP_CTRL,
      attr: BigInt(KVM_DEV_RISCV_AIA_CTRL_INIT),
      addr: 0n,
    });
    for (let pin = 1; pin <= AIA_NUM_SOURCES; pin++)
      this.routes.set(pin, {
        gsi: pin,
        type: KVM_IRQ_ROUTING_IRQCHIP,
        flags: 0,
        irqchip: { irqchip: 0, pin },
      });
    this.commit();
  }

  /** A wired source's level (KVM_IRQ_LINE): the UART. */
  setLevel(irq: number, level: boolean): void {
    this.vm.irqLine({ irq, level: level ? 1 : 0 });
  }

  /** kvm_irqchip_add_msi_route(): a new GSI for the message; returns it. */
  addMsiRoute(address: bigint, data: number): number {
    const gsi = this.nextGsi++;
    this.setMsi(gsi, address, data);
    return gsi;
  }

  /** kvm_irqchip_update_msi_route(): the guest re-programmed the message. */
  setMsi(gsi: number, address: bigint, data: number): void {
    this.routes.set(gsi, {
      gsi,
      type: KVM_IRQ_ROUTING_MSI,
      flags: 0,
      msi: { address_lo: Number(address & 0xffff_ffffn), address_hi: Number(address >> 32n), data },
    });
    this.commit();
  }

  /** kvm_irqchip_release_virq(). */
  removeRoute(gsi: number): void {
    this.routes.delete(gsi);
    this.commit();
  }

  /** kvm_irqchip_commit_routes(): KVM_SET_GSI_ROUTING with the whole table. */
  private commit(): void {
    const entries = [...this.routes.values()];
    this.vm.ioctl(KVM_SET_GSI_ROUTING, { nr: entries.length, flags: 0, entries });
  }

  /** Device interrupts KVM posted straight into an IMSIC file (the bypass). */
  get bypassed(): number {
    return riscvVm(this.vm).aia.postedDelivered;
  }

  /** MSIs KVM delivered into an IMSIC by routing (irqfds not posted, KVM_SIGNAL_MSI, the APLIC, guest IPIs). */
  get routedMsis(): number {
    return riscvVm(this.vm).aia.msisDelivered;
  }
}
