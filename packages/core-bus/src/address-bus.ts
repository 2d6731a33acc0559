import { floorIndex } from './floor-index.ts';
import { fail } from './kernel-error.ts';

/**
 * A device on an address bus. `offset` is relative to the base of the range
 * the device was inserted at; `data.length` is the access width.
 */
export interface BusDevice {
  /** Read `data.length` bytes at `offset` into the device's window. */
  read(offset: number, data: Uint8Array): void;
  /** Write `data` at `offset` into the device's window. */
  write(offset: number, data: Uint8Array): void;
}

/** One device's window on an address bus: `len` bytes from `base`. */
export interface BusRange<D extends BusDevice = BusDevice> {
  /** First address of the window. */
  readonly base: number;
  /** Length of the window in bytes. */
  readonly len: number;
  /** The device behind the window. */
  readonly device: D;
}

/** A bus lookup's answer: the range that claimed the address and the offset into it. */
export interface BusHit<D extends BusDevice = BusDevice> {
  /** The range that claimed the address. */
  range: BusRange<D>;
  /** Offset of the address from the range's base. */
  offset: number;
}

/**
 * A range map of devices for MMIO or port I/O, like rust-vmm's vm-device bus
 * or kvmtool's mmio tree. Ranges are kept sorted by base, so lookup is a
 * binary search (O(log n)) with a one-entry cache for the repeated access
 * pattern of a device driver polling one register block. Addresses are
 * JavaScript numbers: exact up to 2^53, above any physical address we model.
 */
export class AddressBus<D extends BusDevice = BusDevice> {
  private bases: number[] = [];
  private ranges: BusRange<D>[] = [];
  private last: BusRange<D> | undefined;

  constructor(
    /** Name used in error messages. */
    readonly name = 'bus',
  ) {}

  /** Number of registered ranges. */
  get size(): number {
    return this.ranges.length;
  }

  /** All ranges in address order. */
  list(): readonly BusRange<D>[] {
    return this.ranges;
  }

  /** Index of the last range whose base is <= addr, or -1. */
  private floor(addr: number): number {
    return floorIndex(this.bases, addr);
  }

  /**
   * Insert `device` at [base, base + len). Zero length and a range that wraps
   * or leaves the safe-integer space are EINVAL; any overlap is EEXIST.
   */
  insert(device: D, base: number, len: number): BusRange<D> {
    if (!Number.isSafeInteger(base) || base < 0) fail('EINVAL', `${this.name}: bad base ${base}`);
    if (!Number.isSafeInteger(len) || len <= 0) fail('EINVAL', `${this.name}: zero or bad length ${len}`);
    if (!Number.isSafeInteger(base + len)) fail('EINVAL', `${this.name}: range wraps`);
    const i = this.floor(base + len - 1);
    if (i >= 0) {
      const r = this.ranges[i]!;
      if (r.base + r.len > base) {
        fail(
          'EEXIST',
          `${this.name}: [0x${base.toString(16)}, +0x${len.toString(16)}) overlaps [0x${r.base.toString(16)}, +0x${r.len.toString(16)})`,
        );
      }
    }
    const range: BusRange<D> = { base, len, device };
    const at = i + 1;
    if (at === this.ranges.length) {
      this.bases.push(base);
      this.ranges.push(range);
    } else {
      this.bases.splice(at, 0, base);
      this.ranges.splice(at, 0, range);
    }
    return range;
  }

  /** Remove the range that starts exactly at `base`; ENOENT if none does. */
  remove(base: number): BusRange<D> {
    const i = this.floor(base);
    if (i < 0 || this.bases[i] !== base) fail('ENOENT', `${this.name}: no range at 0x${base.toString(16)}`);
    const [range] = this.ranges.splice(i, 1);
    this.bases.splice(i, 1);
    if (this.last === range) this.last = undefined;
    return range!;
  }

  /**
   * Move the range at `oldBase` to `newBase` (a BAR reprogrammed by the guest).
   * The move is atomic: if the new place overlaps another range, the bus is
   * left exactly as it was and EEXIST is thrown.
   */
  move(oldBase: number, newBase: number): BusRange<D> {
    const range = this.remove(oldBase);
    try {
      return this.insert(range.device, newBase, range.len);
    } catch (e) {
      this.insert(range.device, range.base, range.len);
      throw e;
    }
  }

  /** The range holding `addr`, or undefined. */
  lookup(addr: number): BusRange<D> | undefined {
    const last = this.last;
    if (last !== undefined && addr >= last.base && addr < last.base + last.len) return last;
    const i = this.floor(addr);
    if (i < 0) return undefined;
    const r = this.ranges[i]!;
    if (addr >= r.base + r.len) return undefined;
    this.last = r;
    return r;
  }

  /**
   * The range that holds the whole access [addr, addr + len). An access that
   * starts in a range but straddles its end is rejected (undefined), as
   * rust-vmm's bus and real interconnects do.
   */
  resolve(addr: number, len: number): BusRange<D> | undefined {
    const r = this.lookup(addr);
    if (r === undefined || addr + len > r.base + r.len) return undefined;
    return r;
  }

  /** Dispatch a read; false when no device claims the whole access. */
  read(addr: number, data: Uint8Array): boolean {
    const r = this.resolve(addr, data.length);
    if (r === undefined) return false;
    r.device.read(addr - r.base, data);
    return true;
  }

  /** Dispatch a write; false when no device claims the whole access. */
  write(addr: number, data: Uint8Array): boolean {
    const r = this.resolve(addr, data.length);
    if (r === undefined) return false;
    r.device.write(addr - r.base, data);
    return true;
  }
}
