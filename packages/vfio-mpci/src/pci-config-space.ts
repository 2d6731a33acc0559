import { fail } from '@tsvirt/core-bus';
import {
  PCI_BASE_ADDRESS_0,
  PCI_CAP_LIST_NEXT,
  PCI_CAPABILITY_LIST,
  PCI_CFG_SPACE_EXP_SIZE,
  PCI_CFG_SPACE_SIZE,
  PCI_CLASS_REVISION,
  PCI_COMMAND,
  PCI_DEVICE_ID,
  PCI_HEADER_TYPE,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  PCI_VENDOR_ID,
} from './pci-config.ts';

// include/uapi/linux/pci_regs.h
/** Command: respond to I/O space accesses. */
export const PCI_COMMAND_IO = 0x0001;
/** Command: respond to memory space accesses. */
export const PCI_COMMAND_MEMORY = 0x0002;
/** Command: bus mastering (DMA) enable. */
export const PCI_COMMAND_MASTER = 0x0004;
/** Command: parity error response. */
export const PCI_COMMAND_PARITY = 0x0040;
/** Command: SERR# enable. */
export const PCI_COMMAND_SERR = 0x0100;
/** Command: INTx emulation disable. */
export const PCI_COMMAND_INTX_DISABLE = 0x0400;
/** Status: the function's INTx is asserted. */
export const PCI_STATUS_INTERRUPT = 0x0008;
/** Status: master data parity error. */
export const PCI_STATUS_PARITY = 0x0100;
/** Status: the function signalled a target abort. */
export const PCI_STATUS_SIG_TARGET_ABORT = 0x0800;
/** Status: the function received a target abort. */
export const PCI_STATUS_REC_TARGET_ABORT = 0x1000;
/** Status: the function received a master abort. */
export const PCI_STATUS_REC_MASTER_ABORT = 0x2000;
/** Status: the function signalled a system error. */
export const PCI_STATUS_SIG_SYSTEM_ERROR = 0x4000;
/** Status: the function detected a parity error. */
export const PCI_STATUS_DETECTED_PARITY = 0x8000;
/** Config offset of the revision id. */
export const PCI_REVISION_ID = 0x08;
/** Config offset of the cache line size. */
export const PCI_CACHE_LINE_SIZE = 0x0c;
/** Config offset of the latency timer. */
export const PCI_LATENCY_TIMER = 0x0d;
/** Config offset of the subsystem vendor id. */
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
/** Config offset of the subsystem id. */
export const PCI_SUBSYSTEM_ID = 0x2e;
/** Config offset of the expansion ROM base address. */
export const PCI_ROM_ADDRESS = 0x30;
/** BAR bit: I/O space, not memory. */
export const PCI_BASE_ADDRESS_SPACE_IO = 0x01;
/** BAR memory type: 64-bit. */
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
/** BAR bit: prefetchable memory. */
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;

/** The command bits a function lets software set (QEMU's pci_init_wmask() set, as a real endpoint has). */
const COMMAND_WRITABLE =
  PCI_COMMAND_IO |
  PCI_COMMAND_MEMORY |
  PCI_COMMAND_MASTER |
  PCI_COMMAND_PARITY |
  PCI_COMMAND_SERR |
  PCI_COMMAND_INTX_DISABLE;
/** The status error bits, each cleared by writing 1 (RW1C in the PCI spec). */
const STATUS_W1C =
  PCI_STATUS_PARITY |
  PCI_STATUS_SIG_TARGET_ABORT |
  PCI_STATUS_REC_TARGET_ABORT |
  PCI_STATUS_REC_MASTER_ABORT |
  PCI_STATUS_SIG_SYSTEM_ERROR |
  PCI_STATUS_DETECTED_PARITY;

/** The identity registers of a type 0 config space header. */
export interface PciConfigIds {
  /** Vendor id. */
  vendor: number;
  /** Device id. */
  device: number;
  /** Subsystem vendor id (default 0). */
  subsystemVendor?: number;
  /** Subsystem id (default 0). */
  subsystemDevice?: number;
  /** The 24-bit class code: base class, subclass, programming interface (0x038000 is a display controller). */
  classCode: number;
  /** Revision id (default 0). */
  revision?: number;
  /** INTx pin: 1 = INTA .. 4 = INTD, 0 = none (the default is INTA). */
  interruptPin?: number;
  /** 4096 bytes of config space (PCIe) instead of 256; add a PCIe capability too. */
  express?: boolean;
}

/** How one BAR is declared. */
export interface PciBarSpec {
  /** A power of two: at least 16 bytes for memory, 4 to 256 for I/O. */
  size: number | bigint;
  /** An I/O BAR instead of memory. */
  io?: boolean;
  /** A 64-bit memory BAR: it takes this BAR's register and the next. */
  is64?: boolean;
  /** Prefetchable memory. */
  prefetchable?: boolean;
}

/**
 * A type 0 PCI configuration space for a device author, as libvfio-user's
 * vfu_pci_init() / vfu_pci_set_id() / vfu_pci_set_class() and
 * vfu_setup_region() give one: the bytes, and for each byte which bits
 * software may write (wmask) and which it clears by writing 1 (w1cmask),
 * the split QEMU's PCIDevice keeps. The header is set up as a real function
 * has it: the command register writable (so the host can enable BAR
 * decoding and bus mastering), BARs that answer all-ones sizing with their
 * size mask and type bits, the error bits of the status register W1C, cache
 * line size, latency timer and interrupt line writable, everything else
 * read-only. Guest accesses never throw: bytes past the end read as all-ones
 * and writes to them are dropped, as a master abort.
 */
export class PciConfigSpace {
  /** The config space bytes. */
  readonly config: Uint8Array;
  /** Per byte: the bits software may write. */
  readonly wmask: Uint8Array;
  /** Per byte: the bits software clears by writing 1. */
  readonly w1cmask: Uint8Array;
  private readonly bars: (PciBarSpec | undefined)[] = new Array(6).fill(undefined);
  /** Where the next capability goes, and the offset of the last one's next pointer. */
  private capEnd = 0x40;
  private lastNext = PCI_CAPABILITY_LIST;

  constructor(ids: PciConfigIds) {
    const size = ids.express ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE;
    this.config = new Uint8Array(size);
    this.wmask = new Uint8Array(size);
    this.w1cmask = new Uint8Array(size);
    checkField('vendor', ids.vendor, 0xffff);
    checkField('device', ids.device, 0xffff);
    checkField('classCode', ids.classCode, 0xffffff);
    this.set16(PCI_VENDOR_ID, ids.vendor);
    this.set16(PCI_DEVICE_ID, ids.device);
    this.set8(PCI_REVISION_ID, checkField('revision', ids.revision ?? 0, 0xff));
    this.set8(PCI_CLASS_REVISION + 1, ids.classCode & 0xff);
    this.set16(PCI_CLASS_REVISION + 2, ids.classCode >>> 8);
    this.set8(PCI_HEADER_TYPE, 0); // type 0, single function
    this.set16(PCI_SUBSYSTEM_VENDOR_ID, checkField('subsystemVendor', ids.subsystemVendor ?? 0, 0xffff));
    this.set16(PCI_SUBSYSTEM_ID, checkField('subsystemDevice', ids.subsystemDevice ?? 0, 0xffff));
    this.set8(PCI_INTERRUPT_PIN, checkField('interruptPin', ids.interruptPin ?? 1, 4));
    this.setMask16(PCI_COMMAND, COMMAND_WRITABLE);
    this.setW1c16(PCI_STATUS, STATUS_W1C);
    this.wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    this.wmask[PCI_LATENCY_TIMER] = 0xff;
    this.wmask[PCI_INTERRUPT_LINE] = 0xff;
  }

  /** Bytes of config space (256, or 4096 for PCIe). */
  get size(): number {
    return this.config.length;
  }

  /**
   * Declare BAR `index`: its type bits go in the register and the bits below
   * its size are read-only zero, so writing all-ones reads back the size
   * mask (the sizing every PCI enumerator does). A 64-bit BAR also takes
   * register index+1 for the upper half. Bad specs are EINVAL; nothing is
   * changed then.
   */
  setBar(index: number, spec: PciBarSpec): this {
    const size = BigInt(spec.size);
    if (!Number.isInteger(index) || index < 0 || index > 5) fail('EINVAL', `BAR ${index} is not 0-5`);
    if (size <= 0n || (size & (size - 1n)) !== 0n)
      fail('EINVAL', `BAR ${index} size ${size} is not a power of two`);
    if (spec.io && (spec.is64 || spec.prefetchable))
      fail('EINVAL', `BAR ${index}: an I/O BAR is neither 64-bit nor prefetchable`);
    if (spec.io && (size < 4n || size > 256n)) fail('EINVAL', `BAR ${index}: I/O size ${size} is not 4-256`);
    if (!spec.io && size < 16n) fail('EINVAL', `BAR ${index}: memory size ${size} is below 16`);
    if (!spec.io && !spec.is64 && size > 0x8000_0000n)
      fail('EINVAL', `BAR ${index}: ${size} bytes needs a 64-bit BAR`);
    if (spec.is64 && index === 5) fail('EINVAL', 'BAR 5 cannot be 64-bit: it has no upper register');
    const upper = spec.is64 ? index + 1 : index;
    for (let i = index; i <= upper; i++)
      if (this.bars[i] !== undefined || (i > 0 && this.bars[i - 1]?.is64))
        fail('EEXIST', `BAR ${i} is already set up`);
    this.bars[index] = spec;
    const flags = spec.io
      ? PCI_BASE_ADDRESS_SPACE_IO
      : (spec.is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
        (spec.prefetchable ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
    const mask = ~(size - 1n) & (spec.is64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn);
    const off = PCI_BASE_ADDRESS_0 + 4 * index;
    this.set32(off, flags);
    this.setMask32(off, Number(mask & 0xffff_ffffn) & (spec.io ? ~0x3 : ~0xf));
    if (spec.is64) this.setMask32(off + 4, Number(mask >> 32n));
    return this;
  }

  /** The BAR spec given for `index`, if any. */
  bar(index: number): PciBarSpec | undefined {
    return this.bars[index];
  }

  /** The address software programmed into BAR `index` (type bits stripped), or undefined for no BAR. */
  barAddress(index: number): bigint | undefined {
    const spec = this.bars[index];
    if (spec === undefined) return undefined;
    const off = PCI_BASE_ADDRESS_0 + 4 * index;
    const lo = BigInt(this.get32(off) & (spec.io ? ~0x3 : ~0xf)) & 0xffff_ffffn;
    return spec.is64 ? lo | (BigInt(this.get32(off + 4)) << 32n) : lo;
  }

  /** Whether the command register lets BAR `index` decode (memory or I/O space enable). */
  barEnabled(index: number): boolean {
    const spec = this.bars[index];
    if (spec === undefined) return false;
    return (this.get16(PCI_COMMAND) & (spec.io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) !== 0;
  }

  /** Bus mastering (DMA) enabled by the command register. */
  get busMaster(): boolean {
    return (this.get16(PCI_COMMAND) & PCI_COMMAND_MASTER) !== 0;
  }

  /** The device's INTx level, shown in the status register's Interrupt Status bit. */
  setInterruptStatus(asserted: boolean): void {
    const s = this.get16(PCI_STATUS);
    this.set16(PCI_STATUS, asserted ? s | PCI_STATUS_INTERRUPT : s & ~PCI_STATUS_INTERRUPT);
  }

  /**
   * Reserve `length` bytes for a capability with ID `id`, linked at the end
   * of the list (vfu_pci_add_capability()); returns its offset, 4-aligned
   * from 0x40. The ID and next pointer are read-only. ENOSPC when it does not
   * fit in the 256 bytes of conventional config space.
   */
  addCapability(id: number, length: number): number {
    checkField('capability id', id, 0xff);
    if (!Number.isInteger(length) || length < 2) fail('EINVAL', `capability length ${length} is below 2`);
    const pos = this.capEnd;
    if (pos + length > PCI_CFG_SPACE_SIZE)
      fail('ENOSPC', `capability 0x${id.toString(16)} of ${length} bytes does not fit below 0x100`);
    this.set8(pos, id);
    this.set8(pos + PCI_CAP_LIST_NEXT, 0);
    this.set8(this.lastNext, pos);
    this.set16(PCI_STATUS, this.get16(PCI_STATUS) | PCI_STATUS_CAP_LIST);
    this.lastNext = pos + PCI_CAP_LIST_NEXT;
    this.capEnd = (pos + length + 3) & ~3;
    return pos;
  }

  /** Guest read (vfio region read of the config space): bytes past the end are all-ones. */
  read(offset: number, out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) {
      const at = offset + i;
      out[i] = at >= 0 && at < this.config.length ? this.config[at]! : 0xff;
    }
  }

  /**
   * Guest write: each byte keeps its read-only bits, takes the writable ones
   * and clears the W1C bits written as 1 (pci_default_write_config()).
   * Returns whether the command register or a BAR changed, for a device
   * that maps its BARs itself.
   */
  write(offset: number, data: Uint8Array): boolean {
    let decodeChanged = false;
    for (let i = 0; i < data.length; i++) {
      const at = offset + i;
      if (at < 0 || at >= this.config.length) continue;
      const v = data[i]!;
      const old = this.config[at]!;
      const w = this.wmask[at]!;
      const next = ((old & ~w) | (v & w)) & ~(v & this.w1cmask[at]!) & 0xff;
      this.config[at] = next;
      if (next !== old && (at < PCI_COMMAND + 2 || (at >= PCI_BASE_ADDRESS_0 && at < PCI_ROM_ADDRESS)))
        decodeChanged = true;
    }
    return decodeChanged;
  }

  /** Device-side read of a byte. */
  get8(off: number): number {
    return this.config[off]!;
  }
  /** Device-side read of a little-endian 16-bit word. */
  get16(off: number): number {
    return this.config[off]! | (this.config[off + 1]! << 8);
  }
  /** Device-side read of a little-endian 32-bit word. */
  get32(off: number): number {
    return (this.get16(off) | (this.get16(off + 2) << 16)) >>> 0;
  }
  /** Device-side stores: they ignore the masks (the device owns its registers). */
  set8(off: number, v: number): void {
    this.config[off] = v & 0xff;
  }
  /** Device-side 16-bit store, ignoring the masks. */
  set16(off: number, v: number): void {
    this.set8(off, v);
    this.set8(off + 1, v >>> 8);
  }
  /** Device-side 32-bit store, ignoring the masks. */
  set32(off: number, v: number): void {
    this.set16(off, v);
    this.set16(off + 2, v >>> 16);
  }
  /** Make bits `v` of the word at `off` writable by software. */
  setMask16(off: number, v: number): void {
    this.wmask[off] = v & 0xff;
    this.wmask[off + 1] = (v >>> 8) & 0xff;
  }
  /** Make bits `v` of the dword at `off` writable by software. */
  setMask32(off: number, v: number): void {
    this.setMask16(off, v);
    this.setMask16(off + 2, v >>> 16);
  }
  /** Make bits `v` of the word at `off` write-1-to-clear. */
  setW1c16(off: number, v: number): void {
    this.w1cmask[off] = v & 0xff;
    this.w1cmask[off + 1] = (v >>> 8) & 0xff;
  }
}

function checkField(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) fail('EINVAL', `${name} ${v} is not 0-0x${max.toString(16)}`);
  return v;
}
