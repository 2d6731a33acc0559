import { fail } from '@tsvirt/core-bus';
import {
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_MSI,
  PCI_CAP_ID_MSIX,
  PCI_CAP_ID_PM,
  PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_64BIT,
  PCI_MSI_FLAGS_ENABLE,
  PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE,
} from './pci-config.ts';
import type { PciConfigSpace } from './pci-config-space.ts';

// include/uapi/linux/pci_regs.h: the register layouts of the capabilities below.
/** PM capability offset of the PM Capabilities register. */
export const PCI_PM_PMC = 2;
/** PM capability offset of the PM Control/Status register. */
export const PCI_PM_CTRL = 4;
/** PM control: the power state field (D0-D3hot). */
export const PCI_PM_CTRL_STATE_MASK = 0x0003;
/** PM control: no soft reset on D3hot to D0. */
export const PCI_PM_CTRL_NO_SOFT_RESET = 0x0008;
/** PM control: PME status (write 1 to clear). */
export const PCI_PM_CTRL_PME_STATUS = 0x8000;
/** Size of the PM capability. */
export const PCI_PM_SIZEOF = 8;
/** MSI control: Multiple Message Enable (log2 of vectors). */
export const PCI_MSI_FLAGS_QSIZE = 0x0070;
/** MSI capability offset of the lower message address. */
export const PCI_MSI_ADDRESS_LO = 4;
/** MSI capability offset of the upper message address (64-bit). */
export const PCI_MSI_ADDRESS_HI = 8;
/** MSI capability offset of the data with a 32-bit address. */
export const PCI_MSI_DATA_32 = 8;
/** MSI capability offset of the data with a 64-bit address. */
export const PCI_MSI_DATA_64 = 12;
/** MSI control: per-vector masking capable. */
export const PCI_MSI_FLAGS_MASKBIT = 0x0100;
/** MSI capability offset of the mask bits with a 32-bit address. */
export const PCI_MSI_MASK_32 = 12;
/** MSI capability offset of the mask bits with a 64-bit address. */
export const PCI_MSI_MASK_64 = 16;
/** MSI-X control: mask all vectors. */
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
/** MSI-X capability offset of the table offset/BIR. */
export const PCI_MSIX_TABLE = 4;
/** MSI-X capability offset of the PBA offset/BIR. */
export const PCI_MSIX_PBA = 8;
/** Size of the MSI-X capability. */
export const PCI_CAP_MSIX_SIZEOF = 12;
/** PCIe capability offset of the capabilities register. */
export const PCI_EXP_FLAGS = 2;
/** PCIe device type: endpoint. */
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
/** PCIe device type: root complex integrated endpoint. */
export const PCI_EXP_TYPE_RC_END = 0x9;
/** PCIe capability offset of Device Capabilities. */
export const PCI_EXP_DEVCAP = 4;
/** PCIe capability offset of Device Control. */
export const PCI_EXP_DEVCTL = 8;
/** PCIe capability offset of Device Status. */
export const PCI_EXP_DEVSTA = 0x0a;
/** PCIe capability offset of Link Capabilities. */
export const PCI_EXP_LNKCAP = 0x0c;
/** PCIe capability offset of Link Control. */
export const PCI_EXP_LNKCTL = 0x10;
/** PCIe capability offset of Link Status. */
export const PCI_EXP_LNKSTA = 0x12;
/** Size of a version 2 endpoint PCIe capability. */
export const PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 = 0x3c;

/**
 * Power Management, version 3 (PCI PM 1.2): D0 only (no other state or PME
 * is advertised), PowerState writable as the spec lets software try it,
 * NoSoftReset set so a D3->D0 transition keeps state, PME_Status W1C.
 */
export function addPmCapability(cfg: PciConfigSpace): number {
  const pos = cfg.addCapability(PCI_CAP_ID_PM, PCI_PM_SIZEOF);
  cfg.set16(pos + PCI_PM_PMC, 3);
  cfg.set16(pos + PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET);
  cfg.setMask16(pos + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK);
  cfg.setW1c16(pos + PCI_PM_CTRL, PCI_PM_CTRL_PME_STATUS);
  return pos;
}

/**
 * MSI with `vectors` (1-32, a power of two) messages, a 32- or 64-bit
 * address (default 64) and, if `maskable`, per-vector mask bits (the mask
 * register writable for the vectors there are; the pending register is the
 * device's to set). Enable and Multiple Message Enable writable, the address
 * (dword-aligned) and data writable.
 */
export function addMsiCapability(
  cfg: PciConfigSpace,
  opts: { vectors?: number; is64?: boolean; maskable?: boolean } = {},
): number {
  const vectors = opts.vectors ?? 1;
  if (![1, 2, 4, 8, 16, 32].includes(vectors))
    fail('EINVAL', `MSI vectors ${vectors} is not a power of two 1-32`);
  const is64 = opts.is64 ?? true;
  const maskable = opts.maskable ?? false;
  const pos = cfg.addCapability(PCI_CAP_ID_MSI, (is64 ? 14 : 10) + (maskable ? 10 : 0));
  const flags = (Math.log2(vectors) << 1) | (is64 ? PCI_MSI_FLAGS_64BIT : 0);
  cfg.set16(pos + PCI_MSI_FLAGS, flags | (maskable ? PCI_MSI_FLAGS_MASKBIT : 0));
  cfg.setMask16(pos + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
  cfg.setMask32(pos + PCI_MSI_ADDRESS_LO, 0xffff_fffc);
  if (is64) cfg.setMask32(pos + PCI_MSI_ADDRESS_HI, 0xffff_ffff);
  cfg.setMask16(pos + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 0xffff);
  if (maskable)
    cfg.setMask32(pos + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), vectors === 32 ? -1 : (1 << vectors) - 1);
  return pos;
}

/**
 * MSI-X with `vectors` (1-2048) entries, its table and pending-bit array at
 * offsets (8-byte aligned) in BARs the device declared: Enable and Function
 * Mask writable, the rest read-only. The table itself is the device's to
 * serve in that BAR.
 */
export function addMsixCapability(
  cfg: PciConfigSpace,
  opts: { vectors: number; tableBar: number; tableOffset: number; pbaBar: number; pbaOffset: number },
): number {
  const { vectors, tableBar, tableOffset, pbaBar, pbaOffset } = opts;
  if (!Number.isInteger(vectors) || vectors < 1 || vectors > 2048)
    fail('EINVAL', `MSI-X vectors ${vectors} is not 1-2048`);
  for (const [bar, off] of [
    [tableBar, tableOffset],
    [pbaBar, pbaOffset],
  ] as const) {
    const spec = cfg.bar(bar);
    if (spec === undefined || spec.io)
      fail('EINVAL', `MSI-X structure in BAR ${bar}, which is not a memory BAR`);
    if (!Number.isInteger(off) || off < 0 || off % 8 !== 0 || BigInt(off) >= BigInt(spec.size))
      fail('EINVAL', `MSI-X structure offset ${off} is not 8-aligned inside BAR ${bar}`);
  }
  const pos = cfg.addCapability(PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
  cfg.set16(pos + PCI_MSIX_FLAGS, vectors - 1);
  cfg.setMask16(pos + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  cfg.set32(pos + PCI_MSIX_TABLE, tableOffset | tableBar);
  cfg.set32(pos + PCI_MSIX_PBA, pbaOffset | pbaBar);
  return pos;
}

/**
 * A PCI Express capability, version 2: an endpoint with a 2.5 GT/s x1 link,
 * or a root-complex integrated endpoint (no link registers). 128-byte max
 * payload. Device Control's enables writable, Device Status's error bits
 * W1C, Link Control's ASPM and common-clock bits writable. Give the config
 * space `express: true` so the 4 KiB extended space exists.
 */
export function addExpressCapability(
  cfg: PciConfigSpace,
  opts: { type?: 'endpoint' | 'rc-endpoint' } = {},
): number {
  const rcEnd = opts.type === 'rc-endpoint';
  const pos = cfg.addCapability(PCI_CAP_ID_EXP, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2);
  cfg.set16(pos + PCI_EXP_FLAGS, 2 | ((rcEnd ? PCI_EXP_TYPE_RC_END : PCI_EXP_TYPE_ENDPOINT) << 4));
  // CERE|NFERE|FERE|URRE, relaxed ordering, payload, extended tag, no snoop, max read request
  cfg.setMask16(pos + PCI_EXP_DEVCTL, 0x79ff);
  cfg.setW1c16(pos + PCI_EXP_DEVSTA, 0x000f); // CED|NFED|FED|URD
  if (!rcEnd) {
    cfg.set32(pos + PCI_EXP_LNKCAP, 0x11); // 2.5 GT/s, x1
    cfg.setMask16(pos + PCI_EXP_LNKCTL, 0x00c3); // ASPM control, common clock, extended synch
    cfg.set16(pos + PCI_EXP_LNKSTA, 0x11);
  }
  return pos;
}
