import { FdtNode, toDtb, u64Cells } from '@tsvirt/fdt';
import {
  ARCH_TIMER_NS_EL1_PPI,
  ARCH_TIMER_NS_EL2_PPI,
  ARCH_TIMER_S_EL1_PPI,
  ARCH_TIMER_VIRT_PPI,
  FLASH_BANK_SIZE,
  FLASH_BASE,
  GIC_CPU_BASE,
  GIC_CPU_SIZE,
  GIC_DIST_BASE,
  GIC_DIST_SIZE,
  PCI_NUM_PINS,
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

/** What the arm64 board's device tree describes. */
export interface Arm64BoardConfig {
  /** vCPUs. */
  cpus: number;
  /** RAM bytes at RAM_BASE. */
  memBytes: number;
  /** /chosen/bootargs. */
  bootargs?: string;
}

// The GIC binding's interrupt specifier: type, number, flags.
const GIC_SPI = 0;
const GIC_PPI = 1;
const IRQ_TYPE_LEVEL_HIGH = 4;
const IRQ_TYPE_LEVEL_LOW = 8;
const PCI_SPACE_IO = 0x0100_0000;
const PCI_SPACE_MEM32 = 0x0200_0000;
const PCI_SPACE_MEM64 = 0x0300_0000;
/** The PSCI 0.1 function ids QEMU's virt names for old guests (KVM's own 0.1 ids are 0x95c1ba5e..). */
const PSCI_0_2_FN_CPU_SUSPEND64 = 0xc400_0001;
const PSCI_0_2_FN_CPU_OFF = 0x8400_0002;
const PSCI_0_2_FN_CPU_ON64 = 0xc400_0003;
const PSCI_0_2_FN_MIGRATE64 = 0xc400_0005;

/**
 * The device tree of the arm64 board, laid out as QEMU's virt builds it
 * (create_fdt, fdt_add_psci_node, fdt_add_cpu_nodes, fdt_add_timer_nodes,
 * create_gic, create_uart, create_pcie, create_flash): PSCI with the hvc
 * conduit, one cpu node per vCPU (reg = its MPIDR affinity, enable-method
 * psci), the generic timer's four PPIs, a GICv2, the PL011 with its 24 MHz
 * clock, the two CFI flash banks, and the ECAM PCIe host bridge with the
 * INTx swizzle onto SPIs 3-6.
 */
export function buildArm64DeviceTree(cfg: Arm64BoardConfig): FdtNode {
  const gicPh = 1;
  const clkPh = 2;
  const root = new FdtNode('')
    .prop('interrupt-parent', gicPh)
    .prop('#size-cells', 2)
    .prop('#address-cells', 2)
    .prop('compatible', 'linux,dummy-virt')
    .prop('model', 'tsvirt arm64 virt');

  root
    .child('psci')
    .prop('migrate', PSCI_0_2_FN_MIGRATE64)
    .prop('cpu_on', PSCI_0_2_FN_CPU_ON64)
    .prop('cpu_off', PSCI_0_2_FN_CPU_OFF)
    .prop('cpu_suspend', PSCI_0_2_FN_CPU_SUSPEND64)
    .prop('method', 'hvc')
    .prop('compatible', ['arm,psci-1.0', 'arm,psci-0.2', 'arm,psci']);

  root
    .child(`memory@${RAM_BASE.toString(16)}`)
    .prop('reg', [...u64Cells(RAM_BASE), ...u64Cells(cfg.memBytes)])
    .prop('device_type', 'memory');

  const chosen = root.child('chosen').prop('stdout-path', `/pl011@${UART_BASE.toString(16)}`);
  if (cfg.bootargs !== undefined) chosen.prop('bootargs', cfg.bootargs);

  const cpus = root.child('cpus').prop('#size-cells', 0).prop('#address-cells', 1);
  for (let i = 0; i < cfg.cpus; i++) {
    // reg is the MPIDR affinity KVM gives vCPU i (Aff0 = i[3:0], Aff1 = i[11:4]).
    const reg = (i & 0xf) | ((i >> 4) << 8);
    cpus
      .child(`cpu@${reg.toString(16)}`)
      .prop('reg', reg)
      .prop('enable-method', 'psci')
      .prop('compatible', 'arm,cortex-a57')
      .prop('device_type', 'cpu');
  }

  // The PPIs' CPU mask (one bit per CPU, bits 15:8) with level-low, as QEMU's virt.
  const ppiFlags = ((((1 << Math.min(cfg.cpus, 8)) - 1) << 8) | IRQ_TYPE_LEVEL_LOW) >>> 0;
  root
    .child('timer')
    .prop('interrupts', [
      GIC_PPI,
      ARCH_TIMER_S_EL1_PPI - 16,
      ppiFlags,
      GIC_PPI,
      ARCH_TIMER_NS_EL1_PPI - 16,
      ppiFlags,
      GIC_PPI,
      ARCH_TIMER_VIRT_PPI - 16,
      ppiFlags,
      GIC_PPI,
      ARCH_TIMER_NS_EL2_PPI - 16,
      ppiFlags,
    ])
    .prop('always-on', null)
    .prop('compatible', ['arm,armv8-timer', 'arm,armv7-timer']);

  root
    .child(`intc@${GIC_DIST_BASE.toString(16)}`)
    .prop('phandle', gicPh)
    .prop('reg', [
      ...u64Cells(GIC_DIST_BASE),
      ...u64Cells(GIC_DIST_SIZE),
      ...u64Cells(GIC_CPU_BASE),
      ...u64Cells(GIC_CPU_SIZE),
    ])
    .prop('compatible', 'arm,cortex-a15-gic')
    .prop('interrupt-controller', null)
    .prop('#address-cells', 0)
    .prop('#interrupt-cells', 3);

  root
    .child('apb-pclk')
    .prop('phandle', clkPh)
    .prop('clock-output-names', 'clk24mhz')
    .prop('clock-frequency', 24_000_000)
    .prop('#clock-cells', 0)
    .prop('compatible', 'fixed-clock');

  root
    .child(`pl011@${UART_BASE.toString(16)}`)
    .prop('clock-names', ['uartclk', 'apb_pclk'])
    .prop('clocks', [clkPh, clkPh])
    .prop('interrupts', [GIC_SPI, UART_SPI, IRQ_TYPE_LEVEL_HIGH])
    .prop('reg', [...u64Cells(UART_BASE), ...u64Cells(UART_SIZE)])
    .prop('compatible', ['arm,pl011', 'arm,primecell']);

  root
    .child(`flash@${FLASH_BASE.toString(16)}`)
    .prop('bank-width', 4)
    .prop('reg', [
      ...u64Cells(FLASH_BASE),
      ...u64Cells(FLASH_BANK_SIZE),
      ...u64Cells(FLASH_BASE + FLASH_BANK_SIZE),
      ...u64Cells(FLASH_BANK_SIZE),
    ])
    .prop('compatible', 'cfi-flash');

  const interruptMap: number[] = [];
  for (let slot = 0; slot < PCI_NUM_PINS; slot++)
    for (let pin = 1; pin <= PCI_NUM_PINS; pin++)
      interruptMap.push(slot << 11, 0, 0, pin, gicPh, GIC_SPI, pciIntxSpi(slot, pin), IRQ_TYPE_LEVEL_HIGH);
  root
    .child(`pcie@${PCIE_MMIO32_BASE.toString(16)}`)
    .prop('interrupt-map-mask', [0x1800, 0, 0, 7])
    .prop('interrupt-map', interruptMap)
    .prop('#interrupt-cells', 1)
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
      PCI_SPACE_MEM64,
      ...u64Cells(PCIE_MMIO64_BASE),
      ...u64Cells(PCIE_MMIO64_BASE),
      ...u64Cells(PCIE_MMIO64_SIZE),
    ])
    .prop('reg', [...u64Cells(PCIE_ECAM_BASE), ...u64Cells(PCIE_ECAM_SIZE)])
    .prop('dma-coherent', null)
    .prop('bus-range', [0, PCIE_ECAM_SIZE / 0x10_0000 - 1])
    .prop('linux,pci-domain', 0)
    .prop('#size-cells', 2)
    .prop('#address-cells', 3)
    .prop('device_type', 'pci')
    .prop('compatible', 'pci-host-ecam-generic');

  return root;
}

/** The DTB bytes. */
export function buildArm64Dtb(cfg: Arm64BoardConfig): Uint8Array {
  return toDtb(buildArm64DeviceTree(cfg));
}
