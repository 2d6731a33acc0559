// The arm64 board's memory map and interrupts: QEMU's `virt` for arm64
// (hw/arm/virt.c base_memmap / a15irqmap), without highmem ECAM.

/** Two 64 MiB CFI flash banks at 0 (pflash0 holds the firmware). */
export const FLASH_BASE = 0;
/** Size of one flash bank. */
export const FLASH_BANK_SIZE = 0x0400_0000;
/** GICv2 distributor. */
export const GIC_DIST_BASE = 0x0800_0000;
/** Size of the distributor window. */
export const GIC_DIST_SIZE = 0x1_0000;
/** GICv2 CPU interface. */
export const GIC_CPU_BASE = 0x0801_0000;
/** Size of the CPU interface window. */
export const GIC_CPU_SIZE = 0x1_0000;
/** PL011 UART. */
export const UART_BASE = 0x0900_0000;
/** Size of the UART window. */
export const UART_SIZE = 0x1000;
/** PCIe MMIO window below 4 GiB. */
export const PCIE_MMIO32_BASE = 0x1000_0000;
/** Size of the 32-bit MMIO window. */
export const PCIE_MMIO32_SIZE = 0x2eff_0000;
/** PCIe I/O window (CPU address; bus addresses start at 0). */
export const PCIE_PIO_BASE = 0x3eff_0000;
/** Size of the I/O window. */
export const PCIE_PIO_SIZE = 0x1_0000;
/** PCIe ECAM (16 buses), QEMU's low ECAM. */
export const PCIE_ECAM_BASE = 0x3f00_0000;
/** Size of the ECAM window. */
export const PCIE_ECAM_SIZE = 0x0100_0000;
/** RAM. */
export const RAM_BASE = 0x4000_0000;
/** The 64-bit PCIe MMIO window (VIRT_HIGH_PCIE_MMIO), inside the 40-bit IPA space. */
export const PCIE_MMIO64_BASE = 0x80_0000_0000;
/** Size of the 64-bit window here (QEMU's is 512 GiB; 4 GiB is enough for the GPU BARs). */
export const PCIE_MMIO64_SIZE = 0x1_0000_0000;

/** SPI numbers (GIC INTID - 32) as QEMU's a15irqmap: UART 1, PCIe INTA-D 3-6. */
export const UART_SPI = 1;
/** First PCIe INTx SPI. */
export const PCIE_SPI_BASE = 3;
/** INTx pins per slot. */
export const PCI_NUM_PINS = 4;
/** The virtual timer's PPI (INTID 27), the physical ones 30, 29, 26 (secure, hyp). */
export const ARCH_TIMER_VIRT_PPI = 27;
/** The EL1 physical timer's PPI. */
export const ARCH_TIMER_NS_EL1_PPI = 30;
/** The secure EL1 physical timer's PPI. */
export const ARCH_TIMER_S_EL1_PPI = 29;
/** The EL2 physical timer's PPI. */
export const ARCH_TIMER_NS_EL2_PPI = 26;
/** Number of interrupt lines of the GIC (SGIs, PPIs and 256 SPIs as QEMU's virt: NUM_IRQS 256). */
export const GIC_NR_IRQS = 32 + 256;

/** The SPI a slot's INTx pin (1-4) lands on: the standard swizzle over QEMU's four lines. */
export function pciIntxSpi(slot: number, pin: number): number {
  return PCIE_SPI_BASE + ((slot + pin - 1) % PCI_NUM_PINS);
}
