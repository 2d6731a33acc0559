import { Arm64Cpu } from '@tsvirt/arm64-core';
import {
  AddressBus,
  coreBusModule,
  type DependencyContainer,
  defineModule,
  EventFd,
  FdTable,
  ModuleLoader,
  type VmmModule,
} from '@tsvirt/core-bus';
import {
  createHostMmModule,
  HOST_MM,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  type MmStruct,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import { iommuType1Module } from '@tsvirt/iommu-type1';
import {
  coreRegX,
  createKvmArmModule,
  KVM_ARM_IRQ_CPU_IRQ,
  KVM_REG_ARM_CORE_PC,
  kvmArmIrqCpu,
} from '@tsvirt/kvm-arm';
import {
  KVM_ARM_PREFERRED_TARGET,
  KVM_ARM_VCPU_INIT,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_REG_ARM_PSCI_VERSION,
  type KvmArmHostModel,
  type KvmVcpuInit,
} from '@tsvirt/kvm-arm-psci';
import {
  createKvmCoreModule,
  KVM,
  KVM_MEM_READONLY,
  type Kvm,
  type KvmVcpu,
  type KvmVm,
} from '@tsvirt/kvm-core';
import { MDEV_CORE, type MdevCore, type MdevDevice, mdevCoreModule } from '@tsvirt/mdev-core';
import sampleGpuModule from '@tsvirt/sample-vendor-gpu';
import { VFIO_CORE, type VfioCore, vfioCoreModule } from '@tsvirt/vfio-core';
import { vfioMpciModule } from '@tsvirt/vfio-mpci';
import { GuestAddressSpace } from '../board/address-space.ts';
import { MemoryRegion } from '../board/memory-region.ts';
import { VmConfigError } from '../config-error.ts';
import { MdevStore } from '../mdev-cli/store.ts';
import { EcamHost } from '../pci/ecam-host.ts';
import type { BarChange } from '../pci/pci-function.ts';
import { PciHostSpaces } from '../pci/pci-host-spaces.ts';
import { VfioPassthroughSetup } from '../pci/vfio-passthrough.ts';
import type { VfioPciFunction } from '../pci/vfio-pci.ts';
import { buildArm64Dtb } from './device-tree.ts';
import { GicV2 } from './gic-v2.ts';
import {
  FLASH_BANK_SIZE,
  FLASH_BASE,
  GIC_CPU_BASE,
  GIC_CPU_SIZE,
  GIC_DIST_BASE,
  GIC_DIST_SIZE,
  GIC_NR_IRQS,
  PCIE_ECAM_BASE,
  PCIE_ECAM_SIZE,
  PCIE_MMIO32_BASE,
  PCIE_MMIO32_SIZE,
  PCIE_MMIO64_BASE,
  PCIE_MMIO64_SIZE,
  PCIE_PIO_BASE,
  PCIE_PIO_SIZE,
  pciIntxSpi,
  RAM_BASE,
  UART_BASE,
  UART_SIZE,
  UART_SPI,
} from './layout.ts';
import { Pl011 } from './pl011.ts';

/** What the arm64 board is built from. */
export interface Arm64MachineOptions {
  /** RAM bytes at 0x40000000. */
  mem: number;
  /** vCPUs. */
  cpus: number;
  /** Firmware (e.g. U-Boot's u-boot.bin) for flash bank 0, entered at 0 as QEMU's -bios. */
  bios: Uint8Array;
  /** mdev types (or UUIDs) to pass through, in slot order. */
  mdev: string[];
  /** Instructions per vCPU quantum. */
  quantum: number;
  /** /chosen/bootargs. */
  append?: string;
  /** The host kernel kvm-arm-psci models (default today's upstream). */
  host?: KvmArmHostModel;
  /** KVM_ARM_VCPU_PSCI_0_2 for the vCPUs (default true; without it KVM offers PSCI 0.1). */
  psci02?: boolean;
  /** KVM_REG_ARM_PSCI_VERSION, set before the first run (default: not set, the host's latest). */
  psciVersion?: bigint;
  /** More KVM_ARM_VCPU_INIT feature bits (e.g. the review's KVM_ARM_VCPU_FORCE_PSCI_0_2 on its host). */
  extraFeatures?: number;
}

/** The generic timer's frequency here: the counter counts retired instructions at a nominal 10 MHz. */
export const ARM64_CNTFRQ = 10_000_000n;

/** The flash banks' memslots: past any the address space allocates for RAM and BARs. */
const FLASH_SLOT = 400;

/** The host modules of an arm64 VM: kvm-arm with arm64-core's CPU instead of kvm-riscv. */
export function arm64HostModules(
  files: FdTable,
  opts: { mem: number; quantum: number; host?: KvmArmHostModel },
): VmmModule[] {
  const totalFrames = Math.min(2 ** 32 - 1, Math.max(1 << 20, Math.ceil((opts.mem + (1 << 30)) / 4096)));
  return [
    coreBusModule,
    createHostMmModule({ phys: { totalFrames }, mm: { capIpcLock: true } }),
    vfioCoreModule,
    iommuType1Module,
    mdevCoreModule,
    vfioMpciModule,
    createKvmCoreModule({ files }),
    createKvmArmModule({
      quantum: opts.quantum,
      ...(opts.host !== undefined ? { host: opts.host } : {}),
      createCpu: (mem, id) => new Arm64Cpu(mem, { mpidr: BigInt(id), cntfrq: ARM64_CNTFRQ }),
    }),
  ];
}

const KVM_VM = Symbol.for('vm.arm64.KvmVm');
const kvmVmModule = defineModule({
  name: 'vm',
  scope: 'vm',
  dependsOn: ['kvm-core', 'kvm-arm'],
  register(c) {
    c.registerInstance(KVM_VM, c.resolve<Kvm>(KVM).createVm());
  },
});

/** A passed-through mdev: its PCI function, slot and SPI. */
export interface Arm64Passthrough {
  mdev: MdevDevice;
  fn: VfioPciFunction;
  slot: number;
  spi: number;
}

/**
 * The arm64 board, QEMU's `virt` for arm64 in miniature: RAM at
 * 0x40000000, the firmware in read-only flash at 0 (QEMU's -bios: the CPU
 * executes it in place; the second bank erased), a GICv2 in user space driving each vCPU's IRQ
 * input through KVM_IRQ_LINE, a PL011, the ECAM PCIe host with each --mdev
 * passed through, and a device tree at the start of RAM, where QEMU leaves
 * it for firmware (U-Boot's qemu-arm board reads it there). vCPU 0 starts
 * at 0 with x0 = the DTB; the others are powered off until PSCI CPU_ON.
 */
export class Arm64Machine {
  readonly files = new FdTable();
  readonly loader = new ModuleLoader();
  readonly mmio = new AddressBus('mmio');
  readonly system = MemoryRegion.container('system', 2 ** 40);
  memory!: GuestAddressSpace;
  pci!: PciHostSpaces;
  vmContainer!: DependencyContainer;
  vm!: KvmVm;
  mm!: MmStruct;
  vcpus: KvmVcpu[] = [];
  uart!: Pl011;
  gic!: GicV2;
  ecam!: EcamHost;
  ramHva = 0;
  flashHva = 0;
  readonly dtbGpa = RAM_BASE;
  readonly passthrough: Arm64Passthrough[] = [];
  private readonly barRegions = new Map<VfioPciFunction, (MemoryRegion | undefined)[]>();

  /**
   * Bytes the guest has written to its console (the PL011): the vCPU loop
   * hands new output to the host soon after it changes (ConsoleHandover).
   */
  consoleBytes = 0;
  /** Every guest console byte, to the host's callback. */
  private readonly consoleOut = (byte: number): void => {
    this.consoleBytes++;
    this.hostConsole(byte);
  };

  private constructor(
    readonly opts: Arm64MachineOptions,
    private readonly hostConsole: (byte: number) => void,
  ) {}

  static create(opts: Arm64MachineOptions, consoleOut: (byte: number) => void): Arm64Machine {
    if (opts.bios.length > FLASH_BANK_SIZE)
      throw new VmConfigError(`--bios: ${opts.bios.length} bytes do not fit the 64 MiB flash bank`);
    const m = new Arm64Machine(opts, consoleOut);
    m.loader.loadHost([...arm64HostModules(m.files, opts), sampleGpuModule]);
    m.vmContainer = m.loader.createVm([kvmVmModule]);
    m.vm = m.vmContainer.resolve<KvmVm>(KVM_VM);
    m.mm = m.loader.host.resolve<MmStruct>(HOST_MM);
    m.buildBoard();
    m.attachMdevs();
    m.loadImages();
    return m;
  }

  private buildBoard(): void {
    const { opts, vm, mm } = this;
    this.ramHva = mm.mmap({
      length: opts.mem,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    });
    const init: KvmVcpuInit = { target: 0, features: [] };
    vm.ioctl(KVM_ARM_PREFERRED_TARGET, init);
    for (let i = 0; i < opts.cpus; i++) {
      const v = vm.createVcpu(i);
      // PSCI 0.2+ for every vCPU; the secondaries start powered off, for CPU_ON.
      init.features[0] =
        (opts.psci02 === false ? 0 : 1 << KVM_ARM_VCPU_PSCI_0_2) |
        (i > 0 ? 1 << KVM_ARM_VCPU_POWER_OFF : 0) |
        (opts.extraFeatures ?? 0);
      v.ioctl(KVM_ARM_VCPU_INIT, init);
      // The firmware register is VM-wide; setting it through one vCPU is enough, before any runs.
      if (i === 0 && opts.psciVersion !== undefined)
        v.setOneReg({ id: KVM_REG_ARM_PSCI_VERSION, addr: 0n, value: opts.psciVersion });
      this.vcpus.push(v);
    }
    this.gic = new GicV2(GIC_NR_IRQS, opts.cpus, (cpu, level) =>
      vm.irqLine({ irq: kvmArmIrqCpu(cpu, KVM_ARM_IRQ_CPU_IRQ), level: level ? 1 : 0 }),
    );
    this.uart = new Pl011(this.consoleOut, (level) => this.gic.setSpi(UART_SPI, level));
    this.ecam = new EcamHost((fn, change) => this.barMoved(fn as VfioPciFunction, change));
    const system = this.system;
    system.addSubregion(RAM_BASE, MemoryRegion.ram('ram', opts.mem, this.ramHva));
    system.addSubregion(UART_BASE, MemoryRegion.io('pl011', UART_SIZE, this.uart));
    system.addSubregion(GIC_DIST_BASE, MemoryRegion.io('gic-dist', GIC_DIST_SIZE, this.gic.dist));
    system.addSubregion(GIC_CPU_BASE, MemoryRegion.io('gic-cpu', GIC_CPU_SIZE, this.gic.cpuIf));
    system.addSubregion(PCIE_ECAM_BASE, MemoryRegion.io('pcie-ecam', PCIE_ECAM_SIZE, this.ecam));
    this.pci = new PciHostSpaces(system, {
      mem: [
        { cpuBase: PCIE_MMIO32_BASE, busBase: PCIE_MMIO32_BASE, size: PCIE_MMIO32_SIZE },
        { cpuBase: PCIE_MMIO64_BASE, busBase: PCIE_MMIO64_BASE, size: PCIE_MMIO64_SIZE },
      ],
      io: [{ cpuBase: PCIE_PIO_BASE, busBase: 0, size: PCIE_PIO_SIZE }],
    });
    this.memory = new GuestAddressSpace(system, this.mmio, vm, mm);
    this.memory.commit();
    // The flash banks as read-only memslots: the CPU fetches the firmware from bank 0 in
    // place; bank 1 reads erased (0xff), as QEMU's blank pflash1. A write (a CFI command)
    // exits to user space, where no flash device answers it yet.
    this.flashHva = mm.mmap({
      length: 2 * FLASH_BANK_SIZE,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    });
    mm.copyToUser(this.flashHva + FLASH_BANK_SIZE, new Uint8Array(FLASH_BANK_SIZE).fill(0xff));
    for (let bank = 0; bank < 2; bank++)
      vm.setUserMemoryRegion({
        slot: FLASH_SLOT + bank,
        flags: KVM_MEM_READONLY,
        guest_phys_addr: BigInt(FLASH_BASE + bank * FLASH_BANK_SIZE),
        memory_size: BigInt(FLASH_BANK_SIZE),
        userspace_addr: BigInt(this.flashHva + bank * FLASH_BANK_SIZE),
      });
  }

  /** As the riscv board: each --mdev in a shared type1v2 container with guest RAM mapped, INTx relayed to its SPI. */
  private attachMdevs(): void {
    const host = this.loader.host;
    const setup = new VfioPassthroughSetup(
      this.files,
      host.resolve<MdevCore>(MDEV_CORE),
      host.resolve<VfioCore>(VFIO_CORE),
      this.mm,
      { hva: this.ramHva, gpa: RAM_BASE, size: this.opts.mem },
      () => new MdevStore(),
    );
    for (const [i, typeName] of this.opts.mdev.entries()) {
      const { mdev, fn } = setup.open(typeName);
      const slot = i + 1;
      this.registerBars(fn, slot);
      this.ecam.attach(slot, 0, fn);
      const pin = fn.configRead(0x3d, 1);
      const spi = pin >= 1 && pin <= 4 ? pciIntxSpi(slot, pin) : 0;
      if (spi) {
        // The VMM relay: the INTx eventfd raises the SPI; the line drops when the device is unmasked.
        const trigger = new EventFd();
        trigger.listen((fd) => {
          if (fd.closed) return;
          fd.read();
          this.gic.setSpi(spi, true);
        });
        fn.enableIntx(this.files.install(trigger));
      }
      this.passthrough.push({ mdev, fn, slot, spi });
    }
  }

  private registerBars(fn: VfioPciFunction, slot: number): void {
    const regions = fn.bars.bars.map((spec, bar) => {
      if (spec.size === 0) return undefined;
      const name = `00:${slot.toString(16).padStart(2, '0')}.0 BAR${bar}`;
      const backing = fn.backing(bar);
      return backing.kind === 'trap'
        ? MemoryRegion.io(name, spec.size, backing.device)
        : MemoryRegion.ram(name, spec.size, backing.hva);
    });
    this.barRegions.set(fn, regions);
  }

  /** A BAR was (un)mapped or moved by the guest: move its region and re-render the map. */
  barMoved(fn: VfioPciFunction, c: BarChange): void {
    const region = this.barRegions.get(fn)?.[c.bar];
    if (region === undefined) return;
    this.pci.update(region, c);
    this.memory.commit();
  }

  /** The firmware into flash, the DTB at the start of RAM, vCPU 0 at 0 with x0 = the DTB (QEMU's -bios boot). */
  private loadImages(): void {
    const { mm, opts } = this;
    mm.copyToUser(this.flashHva, opts.bios);
    const dtb = buildArm64Dtb({
      cpus: opts.cpus,
      memBytes: opts.mem,
      ...(opts.append !== undefined ? { bootargs: opts.append } : {}),
    });
    mm.copyToUser(this.ramHva + (this.dtbGpa - RAM_BASE), dtb);
    const boot = this.vcpus[0]!;
    boot.setOneReg({ id: KVM_REG_ARM_CORE_PC, addr: 0n, value: BigInt(FLASH_BASE) });
    boot.setOneReg({ id: coreRegX(0), addr: 0n, value: BigInt(this.dtbGpa) });
  }
}
