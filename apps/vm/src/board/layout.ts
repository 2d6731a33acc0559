// The board's physical memory map, the same as QEMU's riscv `virt` machine
// for every device we model, so firmware built for `virt` (U-Boot's
// qemu-riscv64_smode) finds things where it expects them.

export const UART0_BASE = 0x1000_0000;
export const UART0_SIZE = 0x100;
export const UART0_IRQ = 10;
/** The UART's input clock as QEMU's virt reports it (3.6864 MHz). */
export const UART0_CLOCK_HZ = 3_686_400;

/** The two CFI flash banks, 32 MiB each, as QEMU's virt (`flash@20000000`, bank-width 4). */
export const FLASH_BASES = [0x2000_0000, 0x2200_0000] as const;

export const PLIC_BASE = 0x0c00_0000;
/** Interrupt sources on the PLIC (1..PLIC_NDEV), as QEMU's virt. */
export const PLIC_NDEV = 96;

export const PCIE_ECAM_BASE = 0x3000_0000;
export const PCIE_ECAM_SIZE = 0x1000_0000; // 256 buses x 1 MiB
export const PCIE_PIO_BASE = 0x0300_0000;
export const PCIE_PIO_SIZE = 0x1_0000;
export const PCIE_MMIO32_BASE = 0x4000_0000;
export const PCIE_MMIO32_SIZE = 0x4000_0000;
export const PCIE_MMIO64_BASE = 0x4_0000_0000;
export const PCIE_MMIO64_SIZE = 0x4_0000_0000;
/** PLIC sources of PCI INTA..INTD for slot 0; other slots are swizzled. */
export const PCIE_IRQ_BASE = 0x20;
export const PCI_NUM_PINS = 4;

export const RAM_BASE = 0x8000_0000;
/** Where a flat binary is loaded, as OpenSBI's fw_jump places the next stage. */
export const KERNEL_FLAT_LOAD = 0x8020_0000;
export const TIMEBASE_HZ = 10_000_000;

/** The PLIC source for INTx pin (1 = INTA) of a device in `slot`, with the standard swizzle. */
export function pciIntxIrq(slot: number, pin: number): number {
  return PCIE_IRQ_BASE + ((pin - 1 + slot) % PCI_NUM_PINS);
}
