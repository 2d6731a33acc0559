import type { BusDevice } from '@tsvirt/core-bus';
import type { BarChange, PciFunction } from './pci-function.ts';

/**
 * The PCIe host bridge's ECAM window ("pci-host-ecam-generic"): offset =
 * bus << 20 | device << 15 | function << 12 | register. Reads of absent
 * functions return all-ones, which is how software finds empty slots;
 * misaligned or odd-sized accesses read all-ones and write nothing, as the
 * kernel's generic ECAM accessors never issue them. BAR moves reported by a
 * function's config write go to `onBarChange`.
 */
export class EcamHost implements BusDevice {
  private readonly functions = new Map<number, PciFunction>();

  constructor(private readonly onBarChange: (fn: PciFunction, change: BarChange) => void = () => {}) {}

  /** Attach a function at bus 0, `device` (0-31), `fn` (0-7). */
  attach(device: number, fn: number, f: PciFunction): void {
    if (device < 0 || device > 31 || fn < 0 || fn > 7) throw new RangeError(`bad devfn ${device}.${fn}`);
    const devfn = (device << 3) | fn;
    if (this.functions.has(devfn)) throw new Error(`slot ${device}.${fn} is taken`);
    this.functions.set(devfn, f);
  }

  /** The attached functions in devfn order, for management queries (QMP query-pci). */
  attached(): { device: number; fn: number; f: PciFunction }[] {
    return [...this.functions.entries()]
      .sort(([a], [b]) => a - b)
      .map(([devfn, f]) => ({ device: devfn >> 3, fn: devfn & 7, f }));
  }

  private decode(offset: number, size: number): { f: PciFunction; reg: number } | undefined {
    if (size !== 1 && size !== 2 && size !== 4) return undefined;
    if (offset & (size - 1)) return undefined;
    const bus = offset >>> 20;
    const devfn = (offset >>> 12) & 0xff;
    if (bus !== 0) return undefined;
    const f = this.functions.get(devfn);
    return f ? { f, reg: offset & 0xfff } : undefined;
  }

  read(offset: number, data: Uint8Array): void {
    const hit = this.decode(offset, data.length);
    if (!hit) {
      data.fill(0xff);
      return;
    }
    let v = hit.f.configRead(hit.reg, data.length as 1 | 2 | 4);
    for (let i = 0; i < data.length; i++, v >>>= 8) data[i] = v & 0xff;
  }

  write(offset: number, data: Uint8Array): void {
    const hit = this.decode(offset, data.length);
    if (!hit) return;
    let v = 0;
    for (let i = data.length - 1; i >= 0; i--) v = (v << 8) | data[i]!;
    for (const change of hit.f.configWrite(hit.reg, data.length as 1 | 2 | 4, v >>> 0))
      this.onBarChange(hit.f, change);
  }
}
