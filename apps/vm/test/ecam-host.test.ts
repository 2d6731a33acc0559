import { describe, expect, it } from 'vitest';
import { EcamHost } from '../src/pci/ecam-host.ts';
import type { BarChange, PciFunction } from '../src/pci/pci-function.ts';

class FakeFunction implements PciFunction {
  log: string[] = [];
  configRead(offset: number, size: 1 | 2 | 4): number {
    this.log.push(`r${offset}/${size}`);
    return offset === 0 ? 0x1234_abcd : 0;
  }
  configWrite(offset: number, size: 1 | 2 | 4, value: number): BarChange[] {
    this.log.push(`w${offset}/${size}=${value.toString(16)}`);
    return offset === 0x10 ? [{ bar: 0, from: undefined, to: value, size: 0x1000, io: false }] : [];
  }
}

describe('EcamHost', () => {
  it('routes bus/device/function/register and returns all-ones for empty slots', () => {
    const changes: BarChange[] = [];
    const host = new EcamHost((_, c) => changes.push(c));
    const f = new FakeFunction();
    host.attach(1, 0, f);
    const d = new Uint8Array(4);
    host.read((1 << 15) | 0, d);
    expect(new DataView(d.buffer).getUint32(0, true)).toBe(0x1234_abcd);
    host.read(2 << 15, d);
    expect([...d]).toEqual([0xff, 0xff, 0xff, 0xff]);
    host.read((1 << 20) | (1 << 15), d); // bus 1: nothing there
    expect([...d]).toEqual([0xff, 0xff, 0xff, 0xff]);
    host.write((1 << 15) | 0x10, Uint8Array.of(0, 0, 0, 0x40));
    expect(changes).toEqual([{ bar: 0, from: undefined, to: 0x4000_0000, size: 0x1000, io: false }]);
  });

  it('refuses misaligned and odd-sized accesses without touching the function', () => {
    const host = new EcamHost();
    const f = new FakeFunction();
    host.attach(0, 0, f);
    const d = new Uint8Array(2);
    host.read(1, d);
    expect([...d]).toEqual([0xff, 0xff]);
    host.write(3, new Uint8Array(2));
    host.read(0, new Uint8Array(8));
    expect(f.log).toEqual([]);
    expect(() => host.attach(0, 0, f)).toThrow(/taken/);
    expect(() => host.attach(32, 0, f)).toThrow(RangeError);
  });
});
