// The board's physical memory map, the same as QEMU's riscv `virt` machine
// for every device we model, so firmware built for `virt` (U-Boot's
// qemu-riscv64_smode) finds things where it expects them.

import { KVM_MEM_MAX_NR_PAGES } from '@tsvirt/kvm-core';

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

/** --irqchip aia: the S-level APLIC domain (QEMU virt's VIRT_APLIC_S), the size KVM's APLIC decodes. */
export const APLIC_S_BASE = 0x0d00_0000;
/** KVM_DEV_RISCV_APLIC_SIZE. */
export const APLIC_S_SIZE = 0x4000;
/** Wired sources on the APLIC (1..AIA_NUM_SOURCES - 1), as QEMU's virt (VIRT_IRQCHIP_NUM_SOURCES). */
export const AIA_NUM_SOURCES = 96;
/** --irqchip aia: the S-level IMSIC pages, one 4 KiB page per hart (QEMU virt's VIRT_IMSIC_S). */
export const IMSIC_S_BASE = 0x2800_0000;
/** One IMSIC interrupt file page. */
export const IMSIC_PAGE_SIZE = 0x1000;
/** Identities per IMSIC file (riscv,num-ids), as QEMU's virt (VIRT_IRQCHIP_NUM_MSIS). */
export const IMSIC_NUM_IDS = 255;
/** The IMSIC identity Linux and QEMU's virt reserve for IPIs (riscv,ipi-id). */
export const IMSIC_IPI_ID = 1;

export const PCIE_ECAM_BASE = 0x3000_0000;
export const PCIE_ECAM_SIZE = 0x1000_0000; // 256 buses x 1 MiB
export const PCIE_PIO_BASE = 0x0300_0000;
export const PCIE_PIO_SIZE = 0x1_0000;
export const PCIE_MMIO32_BASE = 0x4000_0000;
export const PCIE_MMIO32_SIZE = 0x4000_0000;
/**
 * Where the 64-bit PCI window may start: QEMU virt aligns it to its own size
 * (VIRT64_HIGH_PCIE_MMIO_SIZE, 16 GiB) above RAM; we keep that placement.
 */
export const PCIE_MMIO64_ALIGN = 0x4_0000_0000;
/**
 * The 64-bit window's size: 2 GiB, where QEMU virt's is 16 GiB. Linux warns
 * "Memory resource size exceeds max for 32 bits" for a non-prefetchable
 * window of 4 GiB or more (pci_parse_request_of_pci_ranges()), and marking
 * the window prefetchable instead breaks U-Boot 2023.01 (without
 * CONFIG_SYS_PCI_64BIT it writes 0 into the upper half of a 64-bit BAR it
 * places there). Non-prefetchable and under 4 GiB pleases both; it still
 * holds dozens of the largest sample GPU's VRAM BARs.
 */
export const PCIE_MMIO64_SIZE = 0x8000_0000;
/**
 * The 64-bit PCI window's base: above RAM, at RAM's end rounded up to 16
 * GiB, as QEMU's virt places it (16 GiB for up to 14 GiB of RAM).
 */
export function pcieMmio64Base(memBytes: number): number {
  return Math.ceil((RAM_BASE + memBytes) / PCIE_MMIO64_ALIGN) * PCIE_MMIO64_ALIGN;
}

/**
 * Why the board cannot hold `memBytes` of RAM, or undefined. RAM is one KVM
 * memslot (at most KVM_MEM_MAX_NR_PAGES pages), and RAM with the 64-bit PCI
 * window above it must lie inside the guest physical address space KVM
 * reports (`gpaBits`, KVM_CAP_VM_GPA_BITS: the G-stage's width).
 */
export function ramLayoutProblem(memBytes: number, gpaBits: number): string | undefined {
  if (memBytes / 4096 > KVM_MEM_MAX_NR_PAGES)
    return `RAM is one KVM memslot, at most KVM_MEM_MAX_NR_PAGES (${KVM_MEM_MAX_NR_PAGES}) pages of 4 KiB`;
  const end = pcieMmio64Base(memBytes) + PCIE_MMIO64_SIZE;
  if (gpaBits > 0 && end > 2 ** gpaBits)
    return `RAM and the 64-bit PCI window above it end at 0x${end.toString(16)}, beyond the ${gpaBits}-bit guest physical address space (KVM_CAP_VM_GPA_BITS)`;
  return undefined;
}

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
