/**
 * The PCI configuration-space registers vfio-mpci reads to describe a
 * device (include/uapi/linux/pci_regs.h).
 */
export const PCI_VENDOR_ID = 0x00;
/** Config offset of the device id. */
export const PCI_DEVICE_ID = 0x02;
/** Config offset of the command register. */
export const PCI_COMMAND = 0x04;
/** Config offset of the status register. */
export const PCI_STATUS = 0x06;
/** Status: the capability list exists. */
export const PCI_STATUS_CAP_LIST = 0x10;
/** Config offset of the revision id and class code dword. */
export const PCI_CLASS_REVISION = 0x08;
/** Config offset of the header type. */
export const PCI_HEADER_TYPE = 0x0e;
/** Config offset of BAR 0. */
export const PCI_BASE_ADDRESS_0 = 0x10;
/** Config offset of the first capability pointer. */
export const PCI_CAPABILITY_LIST = 0x34;
/** Config offset of the interrupt line. */
export const PCI_INTERRUPT_LINE = 0x3c;
/** Config offset of the interrupt pin. */
export const PCI_INTERRUPT_PIN = 0x3d;
/** Size of the conventional config space; PCIe has 4096 (PCI_CFG_SPACE_EXP_SIZE). */
export const PCI_CFG_SPACE_SIZE = 256;
/** Size of PCI Express extended config space. */
export const PCI_CFG_SPACE_EXP_SIZE = 4096;

/** Capability offset of the capability id. */
export const PCI_CAP_LIST_ID = 0;
/** Capability offset of the next pointer. */
export const PCI_CAP_LIST_NEXT = 1;
/** Capability id: power management. */
export const PCI_CAP_ID_PM = 0x01;
/** Capability id: MSI. */
export const PCI_CAP_ID_MSI = 0x05;
/** Capability id: vendor specific. */
export const PCI_CAP_ID_VNDR = 0x09;
/** Capability id: PCI Express. */
export const PCI_CAP_ID_EXP = 0x10;
/** Capability id: MSI-X. */
export const PCI_CAP_ID_MSIX = 0x11;

/** Message Control of the MSI capability, and its Multiple Message Capable field. */
export const PCI_MSI_FLAGS = 2;
/** MSI control: MSI enable. */
export const PCI_MSI_FLAGS_ENABLE = 0x0001;
/** MSI control: Multiple Message Capable (log2 of vectors). */
export const PCI_MSI_FLAGS_QMASK = 0x000e;
/** MSI control: 64-bit address capable. */
export const PCI_MSI_FLAGS_64BIT = 0x0080;
/** Message Control of MSI-X and its Table Size field (N - 1). */
export const PCI_MSIX_FLAGS = 2;
/** MSI-X control: table size minus one. */
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
/** MSI-X control: MSI-X enable. */
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;

/** __pci_find_next_cap_ttl()'s bound: at most 48 capabilities, so a looped list ends. */
export const PCI_FIND_CAP_TTL = 48;

/**
 * pci_find_capability(): walk the capability list from PCI_CAPABILITY_LIST
 * (only if the status register says there is one), masking the low two bits
 * of each pointer, stopping at a pointer below 0x40 or after
 * PCI_FIND_CAP_TTL steps. Returns the offset of capability `id`, or 0.
 */
export function pciFindCapability(readByte: (off: number) => number, id: number): number {
  const status = readByte(PCI_STATUS) | (readByte(PCI_STATUS + 1) << 8);
  if ((status & PCI_STATUS_CAP_LIST) === 0) return 0;
  let pos = readByte(PCI_CAPABILITY_LIST);
  for (let ttl = PCI_FIND_CAP_TTL; ttl > 0; ttl--) {
    if (pos < 0x40) return 0;
    pos &= ~3;
    const capId = readByte(pos + PCI_CAP_LIST_ID);
    if (capId === 0xff) return 0;
    if (capId === id) return pos;
    pos = readByte(pos + PCI_CAP_LIST_NEXT);
  }
  return 0;
}
