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
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  type MmStruct,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import { iommuType1Module } from '@tsvirt/iommu-type1';
import {
  createKvmCoreModule,
  KVM,
  KVM_CAP_VM_GPA_BITS,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_MP_STATE_STOPPED,
  type Kvm,
  type KvmVcpu,
  type KvmVm,
} from '@tsvirt/kvm-core';
import { createKvmRiscvModule, riscvCoreReg, setExternalInterrupt } from '@tsvirt/kvm-riscv';
import { kvmVfioModule } from '@tsvirt/kvm-vfio';
import { MDEV_CORE, type MdevCore, type MdevDevice, mdevCoreModule } from '@tsvirt/mdev-core';
import { WasmArena } from '@tsvirt/riscv-hart';
import sampleGpuModule, { sampleGpuOf } from '@tsvirt/sample-vendor-gpu';
import { VFIO_CORE, type VfioCore, vfioCoreModule } from '@tsvirt/vfio-core';
import { vfioMpciModule } from '@tsvirt/vfio-mpci';
import { defaultVmHost } from '#default-host';
import { GuestAddressSpace } from './board/address-space.ts';
import { buildDtb } from './board/device-tree.ts';
import {
  FLASH_BASES,
  PCIE_ECAM_BASE,
  PCIE_ECAM_SIZE,
  PCIE_MMIO32_BASE,
  PCIE_MMIO32_SIZE,
  PCIE_MMIO64_SIZE,
  PCIE_PIO_BASE,
  PCIE_PIO_SIZE,
  PLIC_BASE,
  PLIC_NDEV,
  pcieMmio64Base,
  pciIntxIrq,
  RAM_BASE,
  ramLayoutProblem,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
} from './board/layout.ts';
import { MemoryRegion } from './board/memory-region.ts';
import type { VmOptions } from './cli.ts';
import { VmConfigError } from './config-error.ts';
import { CFI_BANK_SIZE, CfiFlash } from './devices/cfi-flash.ts';
import { KvmAiaChip } from './devices/kvm-aia.ts';
import { Plic, plicSize } from './devices/plic.ts';
import { Uart16550 } from './devices/uart16550.ts';
import { kernelFootprint, placeInitrd } from './initrd.ts';
import { type LoadedKernel, prepareKernel } from './kernel-loader.ts';
import { EcamHost } from './pci/ecam-host.ts';
import type { BarChange } from './pci/pci-function.ts';
import { PciHostSpaces } from './pci/pci-host-spaces.ts';
import { VfioPassthroughSetup } from './pci/vfio-passthrough.ts';
import type { MsiMessage, VfioPciFunction } from './pci/vfio-pci.ts';
import { loadHostModules } from './plugins.ts';
import { formatMemSize } from './size.ts';
import type { VmHost } from './vm-host.ts';

/** The VM comes from a migration stream (--restore, --incoming): no kernel, no DTB, state from the stream. */
export function isIncoming(opts: VmOptions): boolean {
  return opts.restore !== undefined || opts.incoming !== undefined;
}

/** DI token of a VM's KvmVm in its child container. */
export const KVM_VM = Symbol.for('vm.KvmVm');

/**
 * The guest ISA the device tree advertises: what riscv-hart implements for a
 * VS-mode guest. Zicntr: cycle/time/instret (hcounteren is all ones); Sstc:
 * `stimecmp`, as kvm-riscv sets henvcfg.STCE.
 */
export const GUEST_ISA = {
  base: 'rv64i',
  extensions: ['i', 'm', 'a', 'f', 'd', 'c', 'zicntr', 'zicsr', 'zifencei', 'sstc'],
} as const;

/** With --irqchip aia the harts also advertise Ssaia (the S-level AIA CSRs), which Linux's IMSIC driver requires. */
export const GUEST_ISA_AIA = {
  base: 'rv64i',
  extensions: ['i', 'm', 'a', 'f', 'd', 'c', 'zicntr', 'zicsr', 'zifencei', 'ssaia', 'sstc'],
} as const;

/** A passed-through mdev: its PCI function, slot and INTx wiring. */
export interface Passthrough {
  mdev: MdevDevice;
  fn: VfioPciFunction;
  slot: number;
  irq: number;
  /** --irqchip aia, MSI on: the trigger eventfd's descriptor and the GSI its irqfd raises. */
  msi?: { fd: number; gsi: number };
}

/** Arena room beyond guest RAM: G-stage tables, firmware copies, device memory, the harts' registers and TLBs. */
const WASM_ARENA_EXTRA = 256 << 20;

/** The host modules every VM needs, in no particular order (the loader sorts them). */
export function hostModules(
  files: FdTable,
  opts: Pick<VmOptions, 'mem' | 'quantum' | 'jit' | 'jitThreshold' | 'jitTier'>,
): VmmModule[] {
  const memBytes = opts.mem;
  // Enough host frames for guest RAM, every GPU's VRAM and page tables; frames cost nothing until touched.
  // host-mm holds under 2^32 frames; RAM that large is refused before anything maps it.
  const totalFrames = Math.min(2 ** 32 - 1, Math.max(1 << 20, Math.ceil((memBytes + (1 << 30)) / 4096)));
  // The wasm tier (the default; --jit-tier js for JavaScript blocks): host memory is backed by a wasm
  // arena so the harts' wasm blocks reach guest RAM (past the arena's size, or if the engine cannot
  // reserve it, memory is ordinary and the blocks there run through the interpreter or as JavaScript).
  const wasm = opts.jit && (opts.jitTier ?? 'wasm') === 'wasm';
  const arena = wasm ? WasmArena.create(memBytes + WASM_ARENA_EXTRA) : undefined;
  return [
    coreBusModule,
    createHostMmModule({
      phys: { totalFrames, ...(arena === undefined ? {} : { allocChunk: (n: number) => arena.chunk(n) }) },
      mm: { capIpcLock: true },
    }),
    vfioCoreModule,
    iommuType1Module,
    mdevCoreModule,
    vfioMpciModule,
    createKvmCoreModule({ files }),
    kvmVfioModule,
    createKvmRiscvModule({
      quantum: opts.quantum,
      jit: opts.jit,
      ...(opts.jitThreshold === undefined ? {} : { jitThreshold: opts.jitThreshold }),
      ...(arena === undefined ? {} : { arena }),
    }),
  ];
}

/** The VM-scoped module: a KVM VM of its own in the VM's child container. */
const kvmVmModule = defineModule({
  name: 'vm',
  scope: 'vm',
  dependsOn: ['kvm-core', 'kvm-riscv'],
  register(c) {
    c.registerInstance(KVM_VM, c.resolve<Kvm>(KVM).createVm());
  },
});

/** Guest physical addresses the board decodes: below 2^52, exact as JavaScript numbers. */
const SYSTEM_MEMORY_SIZE = 2 ** 52;

/**
 * One virtual machine on a `virt`-like board: the host stack loaded as
 * modules, a KVM VM, the guest's memory map (RAM, the UART, PLIC, flash and
 * ECAM host bridge, and the bridge's PCI windows) rendered into memslots and
 * MMIO bus ranges, each --mdev passed through as a PCI function with guest
 * RAM mapped in its VFIO container, and the kernel and DTB in RAM.
 */
export class Machine {
  readonly files = new FdTable();
  readonly loader = new ModuleLoader();
  /** Trapped pieces of the memory map; `memory` keeps it in step with the region tree. */
  readonly mmio = new AddressBus('mmio');
  /** System memory, as QEMU's get_system_memory(): board devices at priority 0 and the PCI windows. */
  readonly system = MemoryRegion.container('system', SYSTEM_MEMORY_SIZE);
  memory!: GuestAddressSpace;
  pci!: PciHostSpaces;
  vmContainer!: DependencyContainer;
  vm!: KvmVm;
  mm!: MmStruct;
  vcpus: KvmVcpu[] = [];
  uart!: Uart16550;
  /** The two CFI flash banks (QEMU virt's pflash0/pflash1), erased at power-on. */
  readonly flash: CfiFlash[] = [];
  plic!: Plic;
  /** --irqchip aia: KVM's in-kernel AIA (the PLIC above is then not on the bus). */
  aia: KvmAiaChip | undefined;
  /** Device interrupts the VMM relayed (INTx eventfd -> PLIC line): the path the AIA's bypass avoids. */
  relayedIrqs = 0;
  ecam!: EcamHost;
  ramHva = 0;
  kernel!: LoadedKernel;
  dtbGpa = 0;
  readonly passthrough: Passthrough[] = [];
  /** The type1v2 container fd the mdevs' groups share (live migration reads its dirty bitmap); none without mdevs. */
  vfioContainer: number | undefined;
  /** Each function's BAR regions (by BAR number), made when it is plugged in. */
  private readonly barRegions = new Map<VfioPciFunction, (MemoryRegion | undefined)[]>();

  /**
   * Bytes the guest has written to its console (the UART and the legacy SBI
   * putchar): the vCPU loop hands new output to the host soon after it
   * changes, without waiting for the end of its slice.
   */
  consoleBytes = 0;
  /** Every guest console byte, to the host's callback. */
  private readonly consoleOut = (byte: number): void => {
    this.consoleBytes++;
    this.hostConsole(byte);
  };

  private constructor(
    readonly opts: VmOptions,
    private readonly hostConsole: (byte: number) => void,
    /** Files, plugins, the mdev store and the event loop, from Node or a browser. */
    readonly host: VmHost,
  ) {}

  /** Guest console output that did not come through the UART (the legacy SBI putchar). */
  uartOut(byte: number): void {
    this.consoleOut(byte);
  }

  static async create(
    opts: VmOptions,
    kernelName: string,
    kernelBytes: Uint8Array,
    consoleOut: (byte: number) => void,
    host: VmHost = defaultVmHost,
  ): Promise<Machine> {
    const m = new Machine(opts, consoleOut, host);
    // Refuse a bad kernel before building anything. A VM restored from a stream (--restore) gets its RAM,
    // vCPUs and devices from the stream instead, so it loads no kernel and no DTB.
    if (!isIncoming(opts)) m.kernel = prepareKernel(kernelName, kernelBytes, RAM_BASE, opts.mem);
    const plugins = await host.loadPlugins(opts.plugin);
    loadHostModules(m.loader, [...hostModules(m.files, opts), sampleGpuModule], plugins);
    const why = ramLayoutProblem(
      opts.mem,
      m.loader.host.resolve<Kvm>(KVM).checkExtension(KVM_CAP_VM_GPA_BITS),
    );
    if (why) throw new VmConfigError(`--mem ${formatMemSize(opts.mem)}: ${why}`);
    m.vmContainer = m.loader.createVm([kvmVmModule]);
    m.vm = m.vmContainer.resolve<KvmVm>(KVM_VM);
    m.mm = m.loader.host.resolve<MmStruct>(HOST_MM);
    m.buildBoard();
    m.attachMdevs();
    if (!isIncoming(opts)) m.loadImages();
    return m;
  }

  private buildBoard(): void {
    const { opts, vm, mm } = this;
    this.ramHva = mm.mmap({
      length: opts.mem,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    });
    // Transparent huge pages for guest RAM, as QEMU's ram_block_add() asks (QEMU_MADV_HUGEPAGE): a
    // guest's first touch of a 2 MiB block then faults it in whole, and KVM maps it as one G-stage
    // block (transparent_hugepage_adjust()), not 512 faults of 4 KiB. Dirty logging still splits it.
    mm.madvise(this.ramHva, opts.mem, MADV_HUGEPAGE);
    for (let i = 0; i < opts.cpus; i++) this.vcpus.push(vm.createVcpu(i));
    this.plic = new Plic(
      PLIC_NDEV,
      opts.cpus,
      (ctx, level) => setExternalInterrupt(this.vcpus[ctx]!, level),
      (src) => this.intxEoi(src),
    );
    if (opts.irqchip === 'aia') this.aia = new KvmAiaChip(vm, opts.cpus);
    const aia = this.aia;
    this.uart = new Uart16550(this.consoleOut, (level) =>
      aia !== undefined ? aia.setLevel(UART0_IRQ, level) : this.plic.setLevel(UART0_IRQ, level),
    );
    this.ecam = new EcamHost((fn, change) => this.barMoved(fn as VfioPciFunction, change));
    // The memory map, as QEMU's virt builds it: RAM (the first memslot, slot 0) and the devices.
    const system = this.system;
    system.addSubregion(RAM_BASE, MemoryRegion.ram('ram', opts.mem, this.ramHva));
    system.addSubregion(UART0_BASE, MemoryRegion.io('uart0', UART0_SIZE, this.uart));
    for (const [i, base] of FLASH_BASES.entries()) {
      this.flash[i] = new CfiFlash();
      system.addSubregion(base, MemoryRegion.io(`flash${i}`, CFI_BANK_SIZE, this.flash[i]!));
    }
    if (aia === undefined)
      system.addSubregion(PLIC_BASE, MemoryRegion.io('plic', plicSize(opts.cpus), this.plic));
    system.addSubregion(PCIE_ECAM_BASE, MemoryRegion.io('pcie-ecam', PCIE_ECAM_SIZE, this.ecam));
    const mmio64 = pcieMmio64Base(opts.mem);
    // The host bridge's windows: PCI bus addresses are CPU addresses in the MMIO windows, I/O starts at 0.
    this.pci = new PciHostSpaces(system, {
      mem: [
        { cpuBase: PCIE_MMIO32_BASE, busBase: PCIE_MMIO32_BASE, size: PCIE_MMIO32_SIZE },
        { cpuBase: mmio64, busBase: mmio64, size: PCIE_MMIO64_SIZE },
      ],
      io: [{ cpuBase: PCIE_PIO_BASE, busBase: 0, size: PCIE_PIO_SIZE }],
    });
    this.memory = new GuestAddressSpace(system, this.mmio, vm, mm);
    this.memory.commit();
  }

  /** Create each --mdev, put its group in one type1v2 container with guest RAM mapped, and plug it into a slot. */
  private attachMdevs(): void {
    const host = this.loader.host;
    const setup = new VfioPassthroughSetup(
      this.files,
      host.resolve<MdevCore>(MDEV_CORE),
      host.resolve<VfioCore>(VFIO_CORE),
      this.mm,
      { hva: this.ramHva, gpa: RAM_BASE, size: this.opts.mem },
      () => this.host.mdevStore(),
    );
    for (const [i, typeName] of this.opts.mdev.entries()) {
      const { mdev, fn } = setup.open(typeName);
      const slot = i + 1;
      this.registerBars(fn, slot);
      this.ecam.attach(slot, 0, fn);
      const pin = fn.configRead(0x3d, 1);
      // With the AIA the device's interrupts are MSIs through KVM; INTx (which needs a resample irqfd) is not wired.
      const irq = pin >= 1 && pin <= 4 && this.aia === undefined ? pciIntxIrq(slot, pin) : 0;
      const p: Passthrough = { mdev, fn, slot, irq };
      if (this.aia !== undefined) fn.onMsi = (msg) => this.msiChanged(p, msg);
      if (irq) {
        // The VMM relay: the device's INTx eventfd raises the PLIC line; the guest's completion unmasks.
        const trigger = new EventFd();
        trigger.listen((fd) => {
          if (fd.closed) return;
          fd.read();
          this.relayedIrqs++;
          this.plic.setLevel(irq, true);
        });
        fn.enableIntx(this.files.install(trigger));
      }
      this.passthrough.push(p);
    }
    this.vfioContainer = setup.container;
  }

  /**
   * The guest enabled, re-programmed or disabled a device's MSI (--irqchip
   * aia), as QEMU's vfio_msi_enable()/vfio_update_msi()/vfio_msi_disable():
   * an MSI route in KVM, the vector's trigger eventfd bound to it with
   * KVM_IRQFD, and the vector enabled with VFIO_DEVICE_SET_IRQS. The MSI
   * producer (vfio-mpci) and the irqfd (KVM) then meet in the IRQ bypass
   * manager, and KVM posts the device's interrupts into the target IMSIC.
   */
  private msiChanged(p: Passthrough, msg: MsiMessage): void {
    const aia = this.aia!;
    const files = this.files;
    if (msg !== undefined && p.msi !== undefined) {
      aia.setMsi(p.msi.gsi, msg.address, msg.data);
      return;
    }
    if (msg !== undefined) {
      const gsi = aia.addMsiRoute(msg.address, msg.data);
      const fd = files.install(new EventFd());
      p.fn.setMsiTrigger(fd);
      this.vm.irqfd({ fd, gsi, flags: 0 });
      p.msi = { fd, gsi };
      return;
    }
    if (p.msi === undefined) return;
    const { fd, gsi } = p.msi;
    p.msi = undefined;
    this.vm.irqfd({ fd, gsi, flags: KVM_IRQFD_FLAG_DEASSIGN });
    p.fn.setMsiTrigger(undefined);
    aia.removeRoute(gsi);
    files.close(fd);
  }

  /** QEMU's vfio_intx_eoi(): de-assert the line and unmask at the device, which re-triggers if still pending. */
  private intxEoi(src: number): void {
    for (const p of this.passthrough) {
      if (p.irq !== src) continue;
      this.plic.setLevel(src, false);
      p.fn.unmaskIntx();
    }
  }

  /**
   * QEMU's vfio_bars_register(): a region per BAR, made once, before the guest
   * can decode it: trapped BARs as io regions on the VFIO region, mmap-able
   * ones as ram regions over the device mmap (done here, host-side, so a
   * guest's BAR write never has to map anything).
   */
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

  /**
   * The guest (un)mapped or moved a BAR: its region moves in its PCI space
   * and the memory map is re-rendered; only what became visible or hidden
   * changes on the MMIO bus and in the memslots. A restored VM's BAR
   * placements come through here too.
   */
  barMoved(fn: VfioPciFunction, c: BarChange): void {
    const region = this.barRegions.get(fn)?.[c.bar];
    if (region === undefined) return; // not a BAR the function registered
    this.pci.update(region, c);
    this.memory.commit();
  }

  /** Copy the kernel, the initrd and the DTB into RAM and point vCPU 0 at the entry (a0 = hart id, a1 = DTB). */
  private loadImages(): void {
    const { mm, opts } = this;
    const initrd = opts.initrd === undefined ? undefined : this.host.readFile('--initrd', opts.initrd);
    // Where the DTB goes: the top of RAM, 2 MiB aligned below the end, as QEMU's virt
    // places it; its size changes by a few bytes with /chosen, never by 2 MiB.
    const dtbAt = (size: number) => Math.floor((RAM_BASE + opts.mem - size) / 0x20_0000) * 0x20_0000;
    const kernelEnd =
      this.kernel.format === 'flat'
        ? this.kernel.entry + kernelFootprint(this.kernel.segments[0]!.data)
        : this.kernel.end;
    const placed =
      initrd === undefined
        ? undefined
        : placeInitrd({
            name: opts.initrd!,
            size: initrd.length,
            kernelEntry: this.kernel.entry,
            kernelEnd,
            memBytes: opts.mem,
            limit: dtbAt(0x1_0000),
          });
    const dtb = buildDtb({
      irqchip: opts.irqchip ?? 'plic',
      cpus: opts.cpus,
      memBytes: opts.mem,
      isa: opts.irqchip === 'aia' ? GUEST_ISA_AIA : GUEST_ISA,
      mmuType: 'riscv,sv48',
      ...(opts.append !== undefined ? { bootargs: opts.append } : {}),
      ...(placed !== undefined ? { initrd: placed } : {}),
    });
    this.dtbGpa = dtbAt(dtb.length);
    if (this.dtbGpa < kernelEnd || (placed !== undefined && this.dtbGpa < placed.end)) {
      throw new VmConfigError(
        `--mem ${opts.mem >> 20}M is too small for the kernel and its device tree (raise --mem)`,
      );
    }
    for (const s of this.kernel.segments) mm.copyToUser(this.ramHva + (s.gpa - RAM_BASE), s.data);
    if (initrd !== undefined && placed !== undefined)
      mm.copyToUser(this.ramHva + (placed.start - RAM_BASE), initrd);
    mm.copyToUser(this.ramHva + (this.dtbGpa - RAM_BASE), dtb);
    const boot = this.vcpus[0]!;
    boot.setOneReg({ id: riscvCoreReg(0), addr: 0n, value: BigInt(this.kernel.entry) });
    boot.setOneReg({ id: riscvCoreReg(10), addr: 0n, value: 0n });
    boot.setOneReg({ id: riscvCoreReg(11), addr: 0n, value: BigInt(this.dtbGpa) });
    // Secondary harts wait for SBI HSM hart_start, as under OpenSBI.
    for (const v of this.vcpus.slice(1)) v.setMpState({ mp_state: KVM_MP_STATE_STOPPED });
  }

  /**
   * Guest RAM the guest has touched, in bytes: the pages of RAM's mapping
   * that have a host frame (a fault populated them, as a VMM's RSS counts
   * an anonymous mapping's present pages). Pages never touched cost nothing.
   */
  guestTouchedBytes(): number {
    const page = 4096;
    let present = 0;
    for (let hva = this.ramHva; hva < this.ramHva + this.opts.mem; hva += page)
      if (this.mm.pteOf(hva) !== undefined) present++;
    return present * page;
  }

  /** The first passthrough device's display, when it is a sample GPU. */
  display() {
    for (const p of this.passthrough) {
      try {
        const snap = sampleGpuOf(p.mdev).displaySnapshot();
        if (snap) return snap;
      } catch {
        // not a sample GPU
      }
    }
    return undefined;
  }
}
