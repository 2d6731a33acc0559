/** Standard config-space offsets and bits (PCI Local Bus spec 3.0, include/uapi/linux/pci_regs.h). */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS = 0x06;
export const PCI_STATUS_INTERRUPT = 0x08;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_CLASS_REVISION = 0x08;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_BASE_ADDRESS_SPACE_IO = 0x1;
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x4;
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x8;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

/** A BAR's place in guest physical space changed (crosvm's ConfigWriteResult idea). */
export interface BarChange {
  bar: number;
  /** Guest address it was decoded at, or undefined when it was not decoded. */
  from: number | undefined;
  /** Guest address it is decoded at now, or undefined when it no longer is. */
  to: number | undefined;
  size: number;
  io: boolean;
}

/**
 * One PCI function as the host bridge sees it: config reads and writes of
 * 1, 2 or 4 aligned bytes. A write returns the BAR moves it caused, so the
 * bridge can move the function's MMIO ranges without the function holding a
 * reference to any bus.
 */
export interface PciFunction {
  configRead(offset: number, size: 1 | 2 | 4): number;
  configWrite(offset: number, size: 1 | 2 | 4, value: number): BarChange[];
}
