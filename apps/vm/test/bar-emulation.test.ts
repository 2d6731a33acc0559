import { describe, expect, it } from 'vitest';
import { BarEmulation } from '../src/pci/bar-emulation.ts';

describe('BarEmulation', () => {
  it('answers sizing with the size mask and flags', () => {
    const bars = new BarEmulation([
      { size: 0x1000 },
      { size: 0x100_0000, is64: true, prefetch: true },
      { size: 0 },
    ]);
    bars.writeReg(0, 0xffff_ffff);
    expect(bars.readReg(0)).toBe(0xffff_f000);
    bars.writeReg(1, 0xffff_ffff);
    bars.writeReg(2, 0xffff_ffff);
    expect(bars.readReg(1)).toBe(0xff00_000c); // 64-bit prefetchable
    expect(bars.readReg(2)).toBe(0xffff_ffff);
    expect(bars.readReg(3)).toBe(0); // unimplemented
  });

  it('maps a BAR only when memory decode is on and the address is valid', () => {
    const bars = new BarEmulation([{ size: 0x1000 }]);
    expect(bars.writeReg(0, 0x4000_0000)).toEqual([]);
    expect(bars.setCommand(0x2)).toEqual([
      { bar: 0, from: undefined, to: 0x4000_0000, size: 0x1000, io: false },
    ]);
    expect(bars.writeReg(0, 0x4000_2000)).toEqual([
      { bar: 0, from: 0x4000_0000, to: 0x4000_2000, size: 0x1000, io: false },
    ]);
    expect(bars.setCommand(0)).toEqual([
      { bar: 0, from: 0x4000_2000, to: undefined, size: 0x1000, io: false },
    ]);
    bars.setCommand(0x2);
    expect(bars.writeReg(0, 0)).toEqual([
      { bar: 0, from: 0x4000_2000, to: undefined, size: 0x1000, io: false },
    ]);
  });

  it('combines both halves of a 64-bit BAR', () => {
    const bars = new BarEmulation([{ size: 0x1_0000_0000, is64: true }]);
    bars.setCommand(0x2);
    bars.writeReg(0, 0xffff_ffff);
    expect(bars.readReg(0)).toBe(0x4); // size >= 4 GiB: low half has no address bits
    bars.writeReg(1, 0xffff_ffff);
    expect(bars.readReg(1)).toBe(0xffff_ffff); // size mask continues: 4 GiB -> bit 32 and up
    bars.writeReg(0, 0);
    const ch = bars.writeReg(1, 0x4);
    expect(ch).toEqual([{ bar: 0, from: undefined, to: 0x4_0000_0000, size: 0x1_0000_0000, io: false }]);
  });

  it('refuses impossible BAR layouts', () => {
    expect(() => new BarEmulation([{ size: 0x1800 }])).toThrow(RangeError);
    expect(() => new BarEmulation([{ size: 8 }])).toThrow(RangeError);
    expect(() => new BarEmulation([{ size: 0x1000, is64: true }, { size: 0x1000 }])).toThrow(RangeError);
  });
});

describe('BarEmulation decode limits (QEMU pci_bar_address)', () => {
  it('a 32-bit memory BAR must end below 0xffffffff; one that reaches it is unmapped', () => {
    const bars = new BarEmulation([{ size: 0x1000 }]);
    bars.setCommand(0x2);
    expect(bars.writeReg(0, 0xffff_e000)).toEqual([
      { bar: 0, from: undefined, to: 0xffff_e000, size: 0x1000, io: false },
    ]);
    expect(bars.writeReg(0, 0xffff_ffff)).toEqual([
      { bar: 0, from: 0xffff_e000, to: undefined, size: 0x1000, io: false },
    ]);
    expect(bars.address(0)).toBeUndefined();
  });
});
