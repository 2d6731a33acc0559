import { fail } from '@tsvirt/core-bus';
import {
  type BarChange,
  PCI_BASE_ADDRESS_0,
  PCI_BASE_ADDRESS_MEM_PREFETCH,
  PCI_BASE_ADDRESS_MEM_TYPE_64,
  PCI_BASE_ADDRESS_SPACE_IO,
  PCI_COMMAND_IO,
  PCI_COMMAND_MEMORY,
} from './pci-function.ts';

export interface BarSpec {
  /** Size in bytes: a power of two, at least 16 for memory and 4 for I/O. 0 = BAR not implemented. */
  size: number;
  io?: boolean;
  is64?: boolean;
  prefetch?: boolean;
}

/**
 * The six BAR registers of a type-0 header as a VMM emulates them for a
 * passed-through device (as QEMU's vfio-pci does: the guest's BAR values
 * live in the VMM, never in the device). Writing all-ones reads back the
 * size mask; the decoded address of each BAR, gated by the command
 * register's memory/IO enable bits, is tracked so every write that moves a
 * BAR yields a BarChange.
 */
export class BarEmulation {
  /** Raw register values (address bits only) for BAR0..5. */
  private readonly regs = new Uint32Array(6);
  private command = 0;
  private readonly decoded: (number | undefined)[] = new Array(6).fill(undefined);

  constructor(readonly bars: readonly BarSpec[]) {
    for (let i = 0; i < bars.length; i++) {
      const b = bars[i]!;
      if (b.size === 0) continue;
      const min = b.io ? 4 : 16;
      if (b.size < min || (b.size & (b.size - 1)) !== 0 || !Number.isSafeInteger(b.size)) {
        throw new RangeError(`BAR${i}: size ${b.size} is not a power of two >= ${min}`);
      }
      if (b.is64 && (i === 5 || (bars[i + 1]?.size ?? 0) !== 0))
        throw new RangeError(`BAR${i}: a 64-bit BAR needs BAR${i + 1} free`);
    }
  }

  /** Is `offset` (a dword-aligned config offset) one of the BAR registers? */
  static isBarOffset(offset: number): boolean {
    return offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BASE_ADDRESS_0 + 24;
  }

  private flags(i: number): number {
    const b = this.bars[i];
    if (!b || b.size === 0) return 0;
    if (b.io) return PCI_BASE_ADDRESS_SPACE_IO;
    return (b.is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (b.prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
  }

  /** Which BAR a register index belongs to, and whether it is the upper half of a 64-bit BAR. */
  private owner(reg: number): { bar: number; high: boolean } | undefined {
    if (reg > 0 && this.bars[reg - 1]?.is64) return { bar: reg - 1, high: true };
    if ((this.bars[reg]?.size ?? 0) === 0) return undefined;
    return { bar: reg, high: false };
  }

  /** Read BAR register `reg` (0-5). */
  readReg(reg: number): number {
    const o = this.owner(reg);
    if (!o) return 0;
    if (o.high) return this.regs[reg]!;
    return (this.regs[reg]! | this.flags(reg)) >>> 0;
  }

  /** Write BAR register `reg` (0-5) with a full dword; returns any resulting BAR move. */
  writeReg(reg: number, value: number): BarChange[] {
    const o = this.owner(reg);
    if (!o) return [];
    const size = this.bars[o.bar]!.size;
    if (o.high) {
      // Upper dword: the size mask of a 64-bit BAR continues into it.
      const highMask = size > 2 ** 32 ? ~(size / 2 ** 32 - 1) >>> 0 : 0xffff_ffff;
      this.regs[reg] = value & highMask;
    } else {
      const lowMask = this.bars[o.bar]!.io ? ~3 : ~15;
      const sizeMask = size >= 2 ** 32 ? 0 : ~(size - 1);
      this.regs[reg] = value & lowMask & sizeMask;
    }
    return this.refresh();
  }

  /** The command register changed: decode enables may map or unmap BARs. */
  setCommand(command: number): BarChange[] {
    this.command = command;
    return this.refresh();
  }

  /** The BAR registers and the command register's decode bits, for a snapshot. */
  saveState(): { regs: Uint32Array; command: number } {
    return { regs: this.regs.slice(), command: this.command };
  }

  /**
   * Load saved registers and decode state, as if the guest had written
   * them: the BarChanges say where each BAR now decodes, for the VMM to
   * re-apply through its memory map. Register values are masked as a
   * guest write would be. EINVAL (nothing changed) for a wrong count.
   */
  loadState(regs: Uint32Array, command: number): BarChange[] {
    if (regs.length !== 6 || !Number.isInteger(command) || command < 0 || command > 0xffff)
      fail('EINVAL', 'bad BAR emulation state');
    // Every move in order (decode off, registers, decode on), so a VMM applying them ends where the source was.
    const changes = this.setCommand(0);
    for (let i = 0; i < 6; i++) {
      const o = this.owner(i);
      if (o === undefined) continue;
      changes.push(...this.writeReg(i, o.high ? regs[i]! : regs[i]! | this.flags(i)));
    }
    changes.push(...this.setCommand(command));
    return changes;
  }

  /** The guest address BAR `i` is decoded at, or undefined. */
  address(i: number): number | undefined {
    return this.decoded[i];
  }

  private programmed(i: number): number | undefined {
    const b = this.bars[i]!;
    if (!b || b.size === 0) return undefined;
    const enabled = this.command & (b.io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
    if (!enabled) return undefined;
    const addr = this.regs[i]! + (b.is64 ? this.regs[i + 1]! * 2 ** 32 : 0);
    // Unmapped as QEMU's pci_bar_address(): zero, or a range past the addressable end; a
    // 32-bit memory BAR must end below 0xffffffff, so sizing (all-ones) leaves it unmapped.
    if (addr === 0) return undefined;
    if (b.io) return addr + b.size > 2 ** 16 ? undefined : addr;
    if (b.is64) return addr + b.size > 2 ** 52 ? undefined : addr;
    return addr + b.size - 1 >= 0xffff_ffff ? undefined : addr;
  }

  private refresh(): BarChange[] {
    const changes: BarChange[] = [];
    for (let i = 0; i < this.bars.length; i++) {
      const b = this.bars[i]!;
      if (!b || b.size === 0) continue;
      const to = this.programmed(i);
      const from = this.decoded[i];
      if (to === from) continue;
      this.decoded[i] = to;
      changes.push({ bar: i, from, to, size: b.size, io: !!b.io });
    }
    return changes;
  }
}
