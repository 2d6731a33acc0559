import { FdtNode, toDtb, u64Cells } from '@tsvirt/fdt';
import { CFI_BANK_SIZE } from '../devices/cfi-flash.ts';
import { plicSize } from '../devices/plic.ts';
import {
  AIA_NUM_SOURCES,
  APLIC_S_BASE,
  APLIC_S_SIZE,
  FLASH_BASES,
  IMSIC_IPI_ID,
  IMSIC_NUM_IDS,
  IMSIC_PAGE_SIZE,
  IMSIC_S_BASE,
  PCI_NUM_PINS,
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
  TIMEBASE_HZ,
  UART0_BASE,
  UART0_CLOCK_HZ,
  UART0_IRQ,
  UART0_SIZE,
} from './layout.ts';

export interface BoardConfig {
  /** Number of harts (vCPUs). */
  cpus: number;
  /** Guest RAM in bytes, at RAM_BASE. */
  memBytes: number;
  /**
   * What the vCPUs implement: the base ("rv64i") and the extensions, in
   * canonical order (single letters first, then Z*, then S*), lower case.
   */
  isa: { base: string; extensions: readonly string[] };
  /** "riscv,sv39" or "riscv,sv48": the largest VS-stage mode the hart implements. */
  mmuType: string;
  bootargs?: string;
  /** Guest physical range holding an initrd, if any. */
  initrd?: { start: number; end: number };
  /** The interrupt controller: the VMM's PLIC (default) or KVM's AIA (APLIC in MSI mode + per-hart IMSICs). */
  irqchip?: 'plic' | 'aia';
}

// PCI address space codes in the first cell of a `ranges` entry (IEEE 1275 PCI binding).
const PCI_SPACE_IO = 0x0100_0000;
const PCI_SPACE_MEM32 = 0x0200_0000;
const PCI_SPACE_MEM64 = 0x0300_0000;
/** The `p` bit: the window is prefetchable. */

/**
 * The deprecated `riscv,isa` string for the same ISA ("rv64imafdc_zicsr..."),
 * still read by firmware and kernels older than Linux 6.7.
 */
export function isaString(isa: BoardConfig['isa']): string {
  const single = isa.extensions.filter((e) => e.length === 1 && e !== 'i');
  const multi = isa.extensions.filter((e) => e.length > 1);
  return [isa.base + single.join(''), ...multi].join('_');
}

/**
 * The flattened device tree for this VM's actual configuration: one cpu
 * node and interrupt controller per hart, the RAM given, the UART, a PLIC
 * with one S-mode context per hart, and the ECAM PCIe host bridge with the
 * INTx swizzle in its interrupt-map. Handed to the guest in a1.
 */
export function buildDeviceTree(cfg: BoardConfig): FdtNode {
  let nextPhandle = 1;
  const root = new FdtNode('')
    .prop('#address-cells', 2)
    .prop('#size-cells', 2)
    .prop('compatible', 'riscv-virtio')
    .prop('model', 'riscv-virtio,tsvirt');

  const chosen = root.child('chosen').prop('stdout-path', `/soc/serial@${UART0_BASE.toString(16)}`);
  if (cfg.bootargs) chosen.prop('bootargs', cfg.bootargs);
  if (cfg.initrd) {
    chosen
      .prop('linux,initrd-start', BigInt(cfg.initrd.start))
      .prop('linux,initrd-end', BigInt(cfg.initrd.end));
  }

  // Both flash banks in one node, as QEMU's virt describes them.
  root
    .child(`flash@${FLASH_BASES[0].toString(16)}`)
    .prop('bank-width', 4)
    .prop(
      'reg',
      FLASH_BASES.flatMap((b) => [...u64Cells(b), ...u64Cells(CFI_BANK_SIZE)]),
    )
    .prop('compatible', 'cfi-flash');

  root
    .child(`memory@${RAM_BASE.toString(16)}`)
    .prop('device_type', 'memory')
    .prop('reg', [...u64Cells(RAM_BASE), ...u64Cells(cfg.memBytes)]);

  const cpus = root
    .child('cpus')
    .prop('#address-cells', 1)
    .prop('#size-cells', 0)
    .prop('timebase-frequency', TIMEBASE_HZ);
  const intcPhandles: number[] = [];
  const cpuPhandles: number[] = [];
  for (let i = 0; i < cfg.cpus; i++) {
    const cpuPh = nextPhandle++;
    const cpu = cpus
      .child(`cpu@${i.toString(16)}`)
      .prop('phandle', cpuPh)
      .prop('device_type', 'cpu')
      .prop('reg', i)
      .prop('status', 'okay')
      .prop('compatible', 'riscv')
      // Linux 6.7+ reads the base and the extension list (bindings/riscv/extensions.yaml);
      // without them it falls back to riscv,isa only with CONFIG_RISCV_ISA_FALLBACK.
      .prop('riscv,isa', isaString(cfg.isa))
      .prop('riscv,isa-base', cfg.isa.base)
      .prop('riscv,isa-extensions', [...cfg.isa.extensions])
      .prop('mmu-type', cfg.mmuType);
    const intcPh = nextPhandle++;
    cpu
      .child('interrupt-controller')
      // #address-cells = 0 as every interrupt provider should have (QEMU's virt omits it and dtc warns).
      .prop('#address-cells', 0)
      .prop('#interrupt-cells', 1)
      .prop('interrupt-controller', null)
      .prop('compatible', 'riscv,cpu-intc')
      .prop('phandle', intcPh);
    intcPhandles.push(intcPh);
    cpuPhandles.push(cpuPh);
  }
  const cluster = cpus.child('cpu-map').child('cluster0');
  cpuPhandles.forEach((ph, i) => {
    cluster.child(`core${i}`).prop('cpu', ph);
  });

  const soc = root
    .child('soc')
    .prop('#address-cells', 2)
    .prop('#size-cells', 2)
    .prop('compatible', 'simple-bus')
    .prop('ranges', null);

  // One context (PLIC) or interrupt file (IMSIC) per hart: its supervisor external interrupt (cause 9).
  const RV_IRQ_S_EXT = 9;
  const aia = cfg.irqchip === 'aia';
  // The wired controller's phandle and how a wired interrupt is written (PLIC: 1 cell; APLIC: source, IRQ_TYPE_LEVEL_HIGH).
  let wiredPh: number;
  let wired: (irq: number) => number[];
  let imsicPh = 0;
  if (aia) {
    imsicPh = nextPhandle++;
    wiredPh = nextPhandle++;
    const IRQ_TYPE_LEVEL_HIGH = 4;
    wired = (irq) => [irq, IRQ_TYPE_LEVEL_HIGH];
    // As QEMU's virt with aia=aplic-imsic under KVM: the S-level IMSICs, one page per hart ...
    soc
      .child(`imsics@${IMSIC_S_BASE.toString(16)}`)
      .prop('phandle', imsicPh)
      .prop('riscv,ipi-id', IMSIC_IPI_ID)
      .prop('riscv,num-ids', IMSIC_NUM_IDS)
      .prop('reg', [...u64Cells(IMSIC_S_BASE), ...u64Cells(IMSIC_PAGE_SIZE * 2 ** imsicHartBits(cfg.cpus))])
      .prop(
        'interrupts-extended',
        intcPhandles.flatMap((ph) => [ph, RV_IRQ_S_EXT]),
      )
      .prop('msi-controller', null)
      .prop('#msi-cells', 0)
      .prop('interrupt-controller', null)
      .prop('#address-cells', 0)
      .prop('#interrupt-cells', 0)
      .prop('compatible', 'riscv,imsics');
    // ... and the S-level APLIC, delivering its wired sources as MSIs to them.
    soc
      .child(`aplic@${APLIC_S_BASE.toString(16)}`)
      .prop('phandle', wiredPh)
      .prop('riscv,num-sources', AIA_NUM_SOURCES)
      .prop('reg', [...u64Cells(APLIC_S_BASE), ...u64Cells(APLIC_S_SIZE)])
      .prop('msi-parent', imsicPh)
      .prop('interrupt-controller', null)
      .prop('#address-cells', 0)
      .prop('#interrupt-cells', 2)
      .prop('compatible', 'riscv,aplic');
  } else {
    wiredPh = nextPhandle++;
    wired = (irq) => [irq];
    soc
      .child(`plic@${PLIC_BASE.toString(16)}`)
      .prop('phandle', wiredPh)
      .prop('riscv,ndev', PLIC_NDEV)
      .prop('reg', [...u64Cells(PLIC_BASE), ...u64Cells(plicSize(cfg.cpus))])
      .prop(
        'interrupts-extended',
        intcPhandles.flatMap((ph) => [ph, RV_IRQ_S_EXT]),
      )
      .prop('interrupt-controller', null)
      .prop('compatible', ['sifive,plic-1.0.0', 'riscv,plic0'])
      .prop('#address-cells', 0)
      .prop('#interrupt-cells', 1);
  }

  soc
    .child(`serial@${UART0_BASE.toString(16)}`)
    .prop('interrupts', wired(UART0_IRQ))
    .prop('interrupt-parent', wiredPh)
    .prop('clock-frequency', UART0_CLOCK_HZ)
    .prop('reg', [...u64Cells(UART0_BASE), ...u64Cells(UART0_SIZE)])
    .prop('compatible', 'ns16550a');

  // interrupt-map: for each of 4 slots x 4 pins, (devfn<<8 of slot, 0, 0, pin) -> (plic, irq).
  const interruptMap: number[] = [];
  for (let slot = 0; slot < PCI_NUM_PINS; slot++) {
    for (let pin = 1; pin <= PCI_NUM_PINS; pin++) {
      interruptMap.push(slot << 11, 0, 0, pin, wiredPh, ...wired(pciIntxIrq(slot, pin)));
    }
  }
  const pci = soc.child(`pci@${PCIE_ECAM_BASE.toString(16)}`);
  // With the AIA, PCI MSIs go to the IMSICs (Linux's pci-host-generic takes msi-parent).
  if (aia) pci.prop('msi-parent', imsicPh);
  pci
    .prop('interrupt-map-mask', [0x1800, 0, 0, 7])
    .prop('interrupt-map', interruptMap)
    .prop('ranges', [
      PCI_SPACE_IO,
      0,
      0,
      ...u64Cells(PCIE_PIO_BASE),
      ...u64Cells(PCIE_PIO_SIZE),
      PCI_SPACE_MEM32,
      ...u64Cells(PCIE_MMIO32_BASE),
      ...u64Cells(PCIE_MMIO32_BASE),
      ...u64Cells(PCIE_MMIO32_SIZE),
      // Non-prefetchable as QEMU's virt, but 2 GiB rather than 16 (layout.ts says why).
      PCI_SPACE_MEM64,
      ...u64Cells(pcieMmio64Base(cfg.memBytes)),
      ...u64Cells(pcieMmio64Base(cfg.memBytes)),
      ...u64Cells(PCIE_MMIO64_SIZE),
    ])
    .prop('reg', [...u64Cells(PCIE_ECAM_BASE), ...u64Cells(PCIE_ECAM_SIZE)])
    .prop('dma-coherent', null)
    .prop('bus-range', [0, (PCIE_ECAM_SIZE >>> 20) - 1])
    .prop('linux,pci-domain', 0)
    .prop('device_type', 'pci')
    .prop('compatible', 'pci-host-ecam-generic')
    .prop('#size-cells', 2)
    .prop('#interrupt-cells', 1)
    .prop('#address-cells', 3);

  return root;
}

/** Hart-index bits of an IMSIC address for `cpus` harts (KVM_DEV_RISCV_AIA_CONFIG_HART_BITS; QEMU's imsic_num_bits()). */
export function imsicHartBits(cpus: number): number {
  return cpus <= 1 ? 0 : 32 - Math.clz32(cpus - 1);
}

export function buildDtb(cfg: BoardConfig): Uint8Array {
  return toDtb(buildDeviceTree(cfg));
}
