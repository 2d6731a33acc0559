import { MemoryRegion } from '../board/memory-region.ts';
import type { BarChange } from './pci-function.ts';

/** Priority of a BAR in its PCI address space, as QEMU's pci_update_mappings() maps it. */
export const PCI_BAR_PRIORITY = 1;
/** The PCI memory space: every address a 64-bit BAR can decode (BarEmulation's 2^52 limit). */
export const PCI_MEM_SPACE_SIZE = 2 ** 52;
/** The PCI I/O space: 64 KiB, as QEMU's GPEX host bridge has it. */
export const PCI_IO_SPACE_SIZE = 0x1_0000;

/** A host bridge window: `size` bytes of a PCI space from `busBase`, seen by the CPU at `cpuBase`. */
export interface PciWindow {
  cpuBase: number;
  busBase: number;
  size: number;
}

/**
 * The PCI bus's memory and I/O address spaces behind a host bridge, as
 * QEMU's GPEX on the virt board: BARs are mapped into their space at their
 * bus address (pci_update_mappings: delete at the old address, add at the new
 * one with priority 1, so the BAR moved last wins an overlap with another
 * BAR), and the CPU sees a space only through the bridge's windows, aliases
 * placed in system memory (create_pcie). A BAR outside every window decodes
 * nothing, and no BAR can cover RAM or a board device.
 */
export class PciHostSpaces {
  readonly mem = MemoryRegion.container('pci-mem', PCI_MEM_SPACE_SIZE);
  readonly io = MemoryRegion.container('pci-io', PCI_IO_SPACE_SIZE);

  constructor(system: MemoryRegion, windows: { mem: readonly PciWindow[]; io: readonly PciWindow[] }) {
    for (const [space, list] of [
      [this.mem, windows.mem],
      [this.io, windows.io],
    ] as const) {
      for (const w of list) {
        const name = `${space.name}@0x${w.cpuBase.toString(16)}`;
        system.addSubregion(w.cpuBase, MemoryRegion.alias(name, space, w.busBase, w.size));
      }
    }
  }

  /** Follow one BAR change: `bar` is the BAR's region (its size is the BAR's). */
  update(bar: MemoryRegion, change: BarChange): void {
    const space = change.io ? this.io : this.mem;
    if (bar.mapping !== undefined) bar.mapping.container.removeSubregion(bar);
    const to = change.to;
    // A decode past the end of the space reaches nothing (BarEmulation already refuses these).
    if (to !== undefined && to + bar.size <= space.size) space.addSubregion(to, bar, PCI_BAR_PRIORITY);
  }
}
