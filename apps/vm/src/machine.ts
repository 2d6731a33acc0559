import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  AddressBus,
  coreBusModule,
  type DependencyContainer,
  defineModule,
  EventFd,
  FdTable,
  loadPluginModule,
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
  createKvmCoreModule,
  KVM,
  KVM_MP_STATE_STOPPED,
  type Kvm,
  type KvmVcpu,
  type KvmVm,
} from '@tsvirt/kvm-core';
import { createKvmRiscvModule, riscvCoreReg, setExternalInterrupt } from '@tsvirt/kvm-riscv';
import { MDEV_CORE, type MdevCore, type MdevDevice, mdevCoreModule } from '@tsvirt/mdev-core';
import sampleGpuModule, { sampleGpuOf } from '@tsvirt/sample-vendor-gpu';
import {
  ioctl,
  VFIO_CORE,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_IOMMU_MAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  type VfioCore,
  type VfioDeviceFile,
  vfioCoreModule,
} from '@tsvirt/vfio-core';
import { vfioMpciModule } from '@tsvirt/vfio-mpci';
import { buildDtb } from './board/device-tree.ts';
import {
  FLASH_BASES,
  PCIE_ECAM_BASE,
  PCIE_ECAM_SIZE,
  PLIC_BASE,
  PLIC_NDEV,
  pciIntxIrq,
  RAM_BASE,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
} from './board/layout.ts';
import type { VmOptions } from './cli.ts';
import { VmConfigError } from './config-error.ts';
import { CFI_BANK_SIZE, CfiFlash } from './devices/cfi-flash.ts';
import { Plic, plicSize } from './devices/plic.ts';
import { Uart16550 } from './devices/uart16550.ts';
import { kernelFootprint, placeInitrd } from './initrd.ts';
import { type LoadedKernel, prepareKernel } from './kernel-loader.ts';
import { EcamHost } from './pci/ecam-host.ts';
import type { BarChange } from './pci/pci-function.ts';
import { VfioPciFunction } from './pci/vfio-pci.ts';

/** The --initrd file's bytes; a missing or unreadable file is a one-line configuration error. */
function readInitrd(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new VmConfigError(
      code === 'ENOENT' ? `--initrd ${path}: no such file` : `--initrd ${path}: ${(e as Error).message}`,
    );
  }
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

/** A passed-through mdev: its PCI function, slot and INTx wiring. */
export interface Passthrough {
  mdev: MdevDevice;
  fn: VfioPciFunction;
  slot: number;
  irq: number;
}

/** The host modules every VM needs, in no particular order (the loader sorts them). */
function hostModules(files: FdTable, opts: VmOptions): VmmModule[] {
  const memBytes = opts.mem;
  // Enough host frames for guest RAM, every GPU's VRAM and page tables; frames cost nothing until touched.
  const totalFrames = Math.max(1 << 20, Math.ceil((memBytes + (1 << 30)) / 4096));
  return [
    coreBusModule,
    createHostMmModule({ phys: { totalFrames }, mm: { capIpcLock: true } }),
    vfioCoreModule,
    iommuType1Module,
    mdevCoreModule,
    vfioMpciModule,
    createKvmCoreModule({ files }),
    createKvmRiscvModule({
      quantum: opts.quantum,
      jit: opts.jit,
      ...(opts.jitThreshold === undefined ? {} : { jitThreshold: opts.jitThreshold }),
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

/**
 * One virtual machine on a `virt`-like board: the host stack loaded as
 * modules, a KVM VM with RAM in memslot 0, the UART, PLIC and ECAM host
 * bridge on the MMIO bus, each --mdev passed through as a PCI function with
 * guest RAM mapped in its VFIO container, and the kernel and DTB in RAM.
 */
export class Machine {
  readonly files = new FdTable();
  readonly loader = new ModuleLoader();
  readonly mmio = new AddressBus('mmio');
  vmContainer!: DependencyContainer;
  vm!: KvmVm;
  mm!: MmStruct;
  vcpus: KvmVcpu[] = [];
  uart!: Uart16550;
  /** The two CFI flash banks (QEMU virt's pflash0/pflash1), erased at power-on. */
  readonly flash: CfiFlash[] = [];
  plic!: Plic;
  ecam!: EcamHost;
  ramHva = 0;
  kernel!: LoadedKernel;
  dtbGpa = 0;
  readonly passthrough: Passthrough[] = [];
  private nextMemslot = 1;
  private readonly barSlots = new Map<string, number>();

  private constructor(
    readonly opts: VmOptions,
    private readonly consoleOut: (byte: number) => void,
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
  ): Promise<Machine> {
    const m = new Machine(opts, consoleOut);
    // Refuse a bad kernel before building anything.
    m.kernel = prepareKernel(kernelName, kernelBytes, RAM_BASE, opts.mem);
    const plugins: VmmModule[] = [sampleGpuModule];
    for (const p of opts.plugin) {
      try {
        plugins.push(await loadPluginModule(p));
      } catch (e) {
        throw new VmConfigError(`--plugin ${p}: ${(e as Error).message}`);
      }
    }
    m.loader.loadHost([...hostModules(m.files, opts), ...plugins]);
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
    vm.setUserMemoryRegion({
      slot: 0,
      flags: 0,
      guest_phys_addr: BigInt(RAM_BASE),
      memory_size: BigInt(opts.mem),
      userspace_addr: BigInt(this.ramHva),
    });
    for (let i = 0; i < opts.cpus; i++) this.vcpus.push(vm.createVcpu(i));
    this.plic = new Plic(
      PLIC_NDEV,
      opts.cpus,
      (ctx, level) => setExternalInterrupt(this.vcpus[ctx]!, level),
      (src) => this.intxEoi(src),
    );
    this.uart = new Uart16550(this.consoleOut, (level) => this.plic.setLevel(UART0_IRQ, level));
    this.ecam = new EcamHost((fn, change) => this.barMoved(fn as VfioPciFunction, change));
    this.mmio.insert(this.uart, UART0_BASE, UART0_SIZE);
    for (const [i, base] of FLASH_BASES.entries()) {
      this.flash[i] = new CfiFlash();
      this.mmio.insert(this.flash[i]!, base, CFI_BANK_SIZE);
    }
    this.mmio.insert(this.plic, PLIC_BASE, plicSize(opts.cpus));
    this.mmio.insert(this.ecam, PCIE_ECAM_BASE, PCIE_ECAM_SIZE);
  }

  /** Create each --mdev, put its group in one type1v2 container with guest RAM mapped, and plug it into a slot. */
  private attachMdevs(): void {
    const host = this.loader.host;
    const mdevs = host.resolve<MdevCore>(MDEV_CORE);
    const vfio = host.resolve<VfioCore>(VFIO_CORE);
    const files = this.files;
    let container: number | undefined;
    for (const [i, typeName] of this.opts.mdev.entries()) {
      const parent = mdevs.parents.find((p) => p.findType(typeName) !== undefined);
      if (parent === undefined) {
        const known = mdevs.parents.flatMap((p) => p.types.map((t) => t.sysfsName));
        throw new VmConfigError(`unknown mdev type ${typeName} (available: ${known.join(', ')})`);
      }
      let mdev: MdevDevice;
      try {
        mdev = mdevs.createDevice(parent.name, typeName, randomUUID());
      } catch (e) {
        throw new VmConfigError(`--mdev ${typeName}: ${(e as Error).message}`);
      }
      const group = vfio.open(files, `/dev/vfio/${mdev.iommuGroup!.id}`);
      if (container === undefined) container = vfio.open(files, '/dev/vfio/vfio');
      ioctl(files, group, VFIO_GROUP_SET_CONTAINER, container);
      if (i === 0) {
        ioctl(files, container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
        // Guest RAM at IOVA = guest physical address, so the device's DMA addresses are the guest's.
        ioctl(files, container, VFIO_IOMMU_MAP_DMA, {
          argsz: 32,
          flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
          vaddr: BigInt(this.ramHva),
          iova: BigInt(RAM_BASE),
          size: BigInt(this.opts.mem),
        });
      }
      const device = files.get(ioctl(files, group, VFIO_GROUP_GET_DEVICE_FD, mdev.uuid)) as VfioDeviceFile;
      const fn = new VfioPciFunction(device, this.mm);
      const slot = i + 1;
      this.ecam.attach(slot, 0, fn);
      const pin = fn.configRead(0x3d, 1);
      const irq = pin >= 1 && pin <= 4 ? pciIntxIrq(slot, pin) : 0;
      if (irq) {
        // The VMM relay: the device's INTx eventfd raises the PLIC line; the guest's completion unmasks.
        const trigger = new EventFd();
        trigger.listen((fd) => {
          if (fd.closed) return;
          fd.read();
          this.plic.setLevel(irq, true);
        });
        fn.enableIntx(files.install(trigger));
      }
      this.passthrough.push({ mdev, fn, slot, irq });
    }
  }

  /** QEMU's vfio_intx_eoi(): de-assert the line and unmask at the device, which re-triggers if still pending. */
  private intxEoi(src: number): void {
    for (const p of this.passthrough) {
      if (p.irq !== src) continue;
      this.plic.setLevel(src, false);
      p.fn.unmaskIntx();
    }
  }

  /** A BAR was (un)mapped or moved by the guest: trapped BARs move on the MMIO bus, mmapped ones as memslots. */
  private barMoved(fn: VfioPciFunction, c: BarChange): void {
    const key = `${this.passthrough.findIndex((p) => p.fn === fn)}:${c.bar}`;
    const backing = fn.backing(c.bar);
    if (backing.kind === 'trap') {
      if (c.from !== undefined) this.mmio.remove(c.from);
      if (c.to !== undefined) {
        try {
          this.mmio.insert(backing.device, c.to, c.size);
        } catch {
          // The guest placed a BAR over another device: as on real hardware the decode conflicts; we leave it unmapped.
        }
      }
      return;
    }
    let slot = this.barSlots.get(key);
    if (slot === undefined) {
      slot = this.nextMemslot++;
      this.barSlots.set(key, slot);
    }
    const region = {
      slot,
      flags: 0,
      guest_phys_addr: BigInt(c.to ?? 0),
      memory_size: c.to === undefined ? 0n : BigInt(c.size),
      userspace_addr: BigInt(backing.hva),
    };
    try {
      if (c.from !== undefined)
        this.vm.setUserMemoryRegion({ ...region, guest_phys_addr: BigInt(c.from), memory_size: 0n });
      if (c.to !== undefined) this.vm.setUserMemoryRegion(region);
    } catch {
      // A BAR over RAM or another slot: KVM refuses (EEXIST); the BAR stays unbacked and reads fault to MMIO.
    }
  }

  /** Copy the kernel, the initrd and the DTB into RAM and point vCPU 0 at the entry (a0 = hart id, a1 = DTB). */
  private loadImages(): void {
    const { mm, opts } = this;
    const initrd = opts.initrd === undefined ? undefined : readInitrd(opts.initrd);
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
      cpus: opts.cpus,
      memBytes: opts.mem,
      isa: GUEST_ISA,
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
