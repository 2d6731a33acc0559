import type { BusDevice } from '@tsvirt/core-bus';
import { MAP_SHARED, type MmStruct, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import {
  VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_SET_IRQS,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_REGION_INFO_FLAG_MMAP,
  type VfioDeviceFile,
  type VfioRegionInfo,
} from '@tsvirt/vfio-core';
import { BarEmulation, type BarSpec } from './bar-emulation.ts';
import {
  type BarChange,
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_MEM_PREFETCH,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_BASE_ADDRESS_SPACE_IO,
  PCI_CAPABILITY_LIST,
  PCI_COMMAND,
  PCI_ROM_ADDRESS,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  type PciFunction,
} from './pci-function.ts';

const PCI_CAP_ID_MSI = 0x05;
const PCI_MSI_FLAGS_ENABLE = 0x1;
const PCI_MSI_FLAGS_64BIT = 0x80;

/** The MSI message the guest programmed (address and data), or undefined when it turned MSI off. */
export type MsiMessage = { address: bigint; data: number } | undefined;
const CONFIG_OFFSET = BigInt(VFIO_PCI_CONFIG_REGION_INDEX) << 40n;

/** How a BAR reaches the guest: trapped (each access a VFIO region read/write) or mmapped (a KVM memslot). */
export type BarBacking = { kind: 'trap'; device: BusDevice } | { kind: 'mmap'; hva: number };

/**
 * A VFIO device passed through to the guest as a PCI function, as QEMU's
 * vfio-pci does it: config space reads and writes go to the device's VFIO
 * config region, except the BARs and the ROM BAR, which the VMM emulates
 * (the guest's BAR addresses are guest-physical and mean nothing to the
 * device), and MSI enable: with the PLIC (no MSI controller) it stays off
 * and interrupts are INTx; with an MSI controller (`onMsi`, --irqchip aia) the
 * enable bit is virtualised as QEMU's vfio_msi_enable() does it, and the VMM
 * is told each message the guest programs so it can route it in KVM. BARs the device marks mmap-able are
 * mmapped from the device file into the VMM's address space once, so KVM
 * can back them with a memslot and the guest reaches them without exits.
 */
export class VfioPciFunction implements PciFunction {
  readonly bars: BarEmulation;
  readonly regions: ({ size: number; mmap: boolean } | undefined)[] = [];
  private readonly hvas = new Map<number, number>();
  private msiCap = 0;
  /** The guest's MSI enable bit (never written to the device: user space enables vectors with SET_IRQS). */
  private msiOn = false;

  /** Whether the guest has MSI enabled (the VMM's virtualised bit). */
  get msiEnabled(): boolean {
    return this.msiOn;
  }

  /**
   * A migrated guest's MSI enable (QEMU's vfio_pci_load_config() then
   * vfio_msi_enable()): with the device's config space loaded, the VMM is
   * told the message as if the guest had just enabled it. Ignored without
   * an MSI controller or capability.
   */
  loadMsiEnable(on: boolean): void {
    if (this.onMsi === undefined || this.msiCap === 0 || on === this.msiOn) return;
    this.msiOn = on;
    this.onMsi(on ? this.msiMessage() : undefined);
  }
  /** Told when the guest enables, re-programs or disables MSI; absent: MSI stays off. */
  onMsi: ((msg: MsiMessage) => void) | undefined;

  constructor(
    readonly device: VfioDeviceFile,
    private readonly mm: MmStruct,
  ) {
    const specs: BarSpec[] = [];
    for (let i = 0; i < 6; i++) {
      const info: VfioRegionInfo = { argsz: 32, flags: 0, index: i, cap_offset: 0, size: 0n, offset: 0n };
      device.ioctl(VFIO_DEVICE_GET_REGION_INFO, info);
      const size = Number(info.size);
      this.regions.push(size ? { size, mmap: (info.flags & VFIO_REGION_INFO_FLAG_MMAP) !== 0 } : undefined);
      // The BAR's type bits come from the device's own BAR register.
      const raw = size ? this.rawConfig(PCI_BASE_ADDRESS_0 + 4 * i, 4) : 0;
      const upperOf64 = i > 0 && specs[i - 1]?.is64;
      specs.push(
        size && !upperOf64
          ? {
              size,
              io: (raw & PCI_BASE_ADDRESS_SPACE_IO) !== 0,
              is64: !(raw & PCI_BASE_ADDRESS_SPACE_IO) && (raw & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64,
              prefetch: (raw & PCI_BASE_ADDRESS_MEM_PREFETCH) !== 0,
            }
          : { size: 0 },
      );
    }
    this.bars = new BarEmulation(specs);
    this.msiCap = this.findCapability(PCI_CAP_ID_MSI);
  }

  /** A config-space read from the device itself; all-ones if the device fails it (as a failed PCI read). */
  private rawConfig(offset: number, size: 1 | 2 | 4): number {
    const buf = new Uint8Array(size);
    try {
      this.device.read(buf, CONFIG_OFFSET + BigInt(offset));
    } catch {
      return size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1;
    }
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | buf[i]!;
    return v >>> 0;
  }

  private rawConfigWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    const buf = new Uint8Array(size);
    for (let i = 0; i < size; i++) buf[i] = (value >>> (8 * i)) & 0xff;
    try {
      this.device.write(buf, CONFIG_OFFSET + BigInt(offset));
    } catch {
      // A write the device refuses is dropped, as on a real bus.
    }
  }

  /** pci_find_capability(): walk the list (at most 48 steps, as the kernel's TTL). */
  private findCapability(id: number): number {
    if (!(this.rawConfig(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) return 0;
    let pos = this.rawConfig(PCI_CAPABILITY_LIST, 1) & ~3;
    for (let ttl = 48; ttl > 0 && pos >= 0x40; ttl--) {
      if (this.rawConfig(pos, 1) === id) return pos;
      pos = this.rawConfig(pos + 1, 1) & ~3;
    }
    return 0;
  }

  configRead(offset: number, size: 1 | 2 | 4): number {
    const dw = offset & ~3;
    if (BarEmulation.isBarOffset(dw)) {
      const v = this.bars.readReg((dw - PCI_BASE_ADDRESS_0) >> 2);
      return (v >>> ((offset & 3) * 8)) & (size === 4 ? 0xffff_ffff : (1 << (size * 8)) - 1);
    }
    if (dw === PCI_ROM_ADDRESS) return 0; // no expansion ROM
    const v = this.rawConfig(offset, size);
    if (this.msiEnabled && dw === this.msiCap && (offset & 3) + size > 2)
      return v | (PCI_MSI_FLAGS_ENABLE << (16 - (offset & 3) * 8));
    return v;
  }

  configWrite(offset: number, size: 1 | 2 | 4, value: number): BarChange[] {
    const dw = offset & ~3;
    if (BarEmulation.isBarOffset(dw)) {
      // Merge a partial write into the dword, as the config space would.
      const reg = (dw - PCI_BASE_ADDRESS_0) >> 2;
      const shift = (offset & 3) * 8;
      const mask = size === 4 ? 0xffff_ffff : ((1 << (size * 8)) - 1) << shift;
      const merged = ((this.bars.readReg(reg) & ~mask) | ((value << shift) & mask)) >>> 0;
      return this.bars.writeReg(reg, merged);
    }
    if (dw === PCI_ROM_ADDRESS) return [];
    let msiTouched = false;
    if (this.msiCap && dw === this.msiCap && (offset & 3) + size > 2) {
      // Message Control is bytes 2-3 of the capability's first dword: the device never sees the enable bit.
      const enableBit = PCI_MSI_FLAGS_ENABLE << (16 - (offset & 3) * 8);
      if (this.onMsi !== undefined) {
        const on = (value & enableBit) !== 0;
        msiTouched = on !== this.msiEnabled;
        this.msiOn = on;
      }
      value &= ~enableBit;
    } else if (this.msiEnabled && this.msiCap && offset >= this.msiCap + 4 && offset < this.msiCap + 16) {
      msiTouched = true; // address or data re-programmed while enabled (QEMU's vfio_update_msi())
    }
    this.rawConfigWrite(offset, size, value);
    if (msiTouched) this.onMsi?.(this.msiEnabled ? this.msiMessage() : undefined);
    if (dw === PCI_COMMAND && (offset & 3) < 2) return this.bars.setCommand(this.rawConfig(PCI_COMMAND, 2));
    return [];
  }

  /** What backs BAR `bar` once it is decoded: an mmap of the region when the device allows it. */
  backing(bar: number): BarBacking {
    const region = this.regions[bar];
    if (region?.mmap) return { kind: 'mmap', hva: this.mmapRegion(bar, region.size) };
    return { kind: 'trap', device: this.trapped(bar) };
  }

  private mmapRegion(bar: number, size: number): number {
    let hva = this.hvas.get(bar);
    if (hva === undefined) {
      hva = this.mm.mmap({
        length: size,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_SHARED,
        file: this.device,
        offset: bar * 2 ** 40,
      });
      this.hvas.set(bar, hva);
    }
    return hva;
  }

  /** A bus device forwarding accesses to the VFIO region; failures read all-ones and drop writes. */
  private trapped(bar: number): BusDevice {
    const base = BigInt(bar) << 40n;
    const device = this.device;
    return {
      read(offset, data) {
        try {
          device.read(data, base + BigInt(offset));
        } catch {
          data.fill(0xff);
        }
      },
      write(offset, data) {
        try {
          device.write(data, base + BigInt(offset));
        } catch {
          // dropped, as a write to a device that does not claim it
        }
      },
    };
  }

  /** The message in the MSI capability: 32- or 64-bit address, 16-bit data. */
  private msiMessage(): MsiMessage {
    const cap = this.msiCap;
    const is64 = (this.rawConfig(cap + 2, 2) & PCI_MSI_FLAGS_64BIT) !== 0;
    const lo = BigInt(this.rawConfig(cap + 4, 4));
    const hi = is64 ? BigInt(this.rawConfig(cap + 8, 4)) : 0n;
    return { address: (hi << 32n) | lo, data: this.rawConfig(cap + (is64 ? 12 : 8), 2) };
  }

  /** vfio_enable_vectors(): MSI vector 0 signals `triggerFd`; undefined turns MSI off at the device. */
  setMsiTrigger(triggerFd: number | undefined): void {
    this.device.ioctl(
      VFIO_DEVICE_SET_IRQS,
      triggerFd === undefined
        ? {
            argsz: 20,
            flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
            index: VFIO_PCI_MSI_IRQ_INDEX,
            start: 0,
            count: 0,
          }
        : {
            argsz: 24,
            flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
            index: VFIO_PCI_MSI_IRQ_INDEX,
            start: 0,
            count: 1,
            data: [triggerFd],
          },
    );
  }

  /** Route INTx to `trigger`; `unmask()` re-arms it after the guest's end of interrupt. */
  enableIntx(triggerFd: number): void {
    this.device.ioctl(VFIO_DEVICE_SET_IRQS, {
      argsz: 24,
      flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
      index: VFIO_PCI_INTX_IRQ_INDEX,
      start: 0,
      count: 1,
      data: [triggerFd],
    });
  }

  unmaskIntx(): void {
    this.device.ioctl(VFIO_DEVICE_SET_IRQS, {
      argsz: 20,
      flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
      index: VFIO_PCI_INTX_IRQ_INDEX,
      start: 0,
      count: 1,
    });
  }
}
