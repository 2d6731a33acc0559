import type { BusDevice } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import { diffFlatViews, MemoryRegion, renderFlatView } from '../src/board/memory-region.ts';

const dev: BusDevice = { read() {}, write() {} };

/** A flat view as [name, addr, len, offset] rows, easy to compare. */
function rows(root: MemoryRegion) {
  return renderFlatView(root).map((r) => [r.region.name, r.addr, r.len, r.offset]);
}

describe('MemoryRegion and renderFlatView (QEMU memory API semantics)', () => {
  it('renders non-overlapping subregions as they are, and nothing where nothing is mapped', () => {
    const sys = MemoryRegion.container('sys', 0x10000);
    sys.addSubregion(0x1000, MemoryRegion.io('a', 0x100, dev));
    sys.addSubregion(0x8000, MemoryRegion.ram('ram', 0x2000, 0x10_0000));
    expect(rows(sys)).toEqual([
      ['a', 0x1000, 0x100, 0],
      ['ram', 0x8000, 0x2000, 0],
    ]);
  });

  it('a higher priority wins an overlap; the loser shows only around it', () => {
    const sys = MemoryRegion.container('sys', 0x10000);
    const hi = MemoryRegion.io('hi', 0x1000, dev);
    sys.addSubregion(0x2000, hi, 1);
    sys.addSubregion(0x1000, MemoryRegion.io('lo', 0x4000, dev), 0); // added later, lower priority
    expect(rows(sys)).toEqual([
      ['lo', 0x1000, 0x1000, 0],
      ['hi', 0x2000, 0x1000, 0],
      ['lo', 0x3000, 0x2000, 0x2000],
    ]);
  });

  it('between equal priorities the region added last wins (memory_region_update_container_subregions)', () => {
    const sys = MemoryRegion.container('sys', 0x10000);
    const a = MemoryRegion.io('a', 0x2000, dev);
    const b = MemoryRegion.io('b', 0x2000, dev);
    sys.addSubregion(0x1000, a, 1);
    sys.addSubregion(0x2000, b, 1);
    expect(rows(sys)).toEqual([
      ['a', 0x1000, 0x1000, 0],
      ['b', 0x2000, 0x2000, 0],
    ]);
    // Re-adding a (as pci_update_mappings does when a BAR moves) puts it on top.
    sys.removeSubregion(a);
    sys.addSubregion(0x1000, a, 1);
    expect(rows(sys)).toEqual([
      ['a', 0x1000, 0x2000, 0],
      ['b', 0x3000, 0x1000, 0x1000],
    ]);
  });

  it('an alias shows only its window of the target, at its own address', () => {
    const sys = MemoryRegion.container('sys', 0x100000);
    const bus = MemoryRegion.container('bus', 0x100000);
    sys.addSubregion(0x40000, MemoryRegion.alias('win', bus, 0x40000, 0x10000));
    bus.addSubregion(0x3f000, MemoryRegion.io('straddle', 0x2000, dev)); // half inside
    bus.addSubregion(0x48000, MemoryRegion.io('inside', 0x1000, dev));
    bus.addSubregion(0x10000, MemoryRegion.io('outside', 0x1000, dev));
    expect(rows(sys)).toEqual([
      ['straddle', 0x40000, 0x1000, 0x1000],
      ['inside', 0x48000, 0x1000, 0],
    ]);
    // An alias into a different bus address (as a PCI I/O window at bus 0).
    const io = MemoryRegion.container('io', 0x10000);
    sys.addSubregion(0x3000, MemoryRegion.alias('pio', io, 0, 0x1000));
    io.addSubregion(0x100, MemoryRegion.io('port', 0x10, dev));
    expect(rows(sys)[0]).toEqual(['port', 0x3100, 0x10, 0]);
  });

  it('a disabled region is not rendered, and adjacent pieces of one region merge', () => {
    const sys = MemoryRegion.container('sys', 0x10000);
    const top = MemoryRegion.io('top', 0x1000, dev);
    sys.addSubregion(0x2000, top, 1);
    sys.addSubregion(0x1000, MemoryRegion.ram('ram', 0x3000, 0x10_0000));
    top.enabled = false;
    expect(rows(sys)).toEqual([['ram', 0x1000, 0x3000, 0]]);
  });

  it('diffFlatViews keeps what did not change and names what to add and remove', () => {
    const sys = MemoryRegion.container('sys', 0x10000);
    const fixed = MemoryRegion.io('fixed', 0x100, dev);
    const moving = MemoryRegion.io('moving', 0x100, dev);
    sys.addSubregion(0, fixed);
    sys.addSubregion(0x1000, moving);
    const before = renderFlatView(sys);
    sys.removeSubregion(moving);
    sys.addSubregion(0x2000, moving);
    const { removed, added, kept } = diffFlatViews(before, renderFlatView(sys));
    expect(removed.map((r) => [r.region.name, r.addr])).toEqual([['moving', 0x1000]]);
    expect(added.map((r) => [r.region.name, r.addr])).toEqual([['moving', 0x2000]]);
    expect(kept.map(([a, b]) => [a.region.name, a === before[0], b.addr])).toEqual([['fixed', true, 0]]);
    // The same region at the same address but from another offset is a different range.
    const a = { addr: 0, len: 0x10, region: fixed, offset: 0 };
    const b = { addr: 0, len: 0x10, region: fixed, offset: 0x10 };
    expect(diffFlatViews([a], [b])).toEqual({ removed: [a], added: [b], kept: [] });
  });

  it('refuses impossible trees (a host bug, as QEMU asserts)', () => {
    const sys = MemoryRegion.container('sys', 0x10000);
    const a = MemoryRegion.io('a', 0x100, dev);
    expect(() => MemoryRegion.io('zero', 0, dev)).toThrow(RangeError);
    expect(() => MemoryRegion.alias('bad', sys, 0xf000, 0x2000)).toThrow(RangeError);
    expect(() => a.addSubregion(0, MemoryRegion.io('b', 1, dev))).toThrow(TypeError);
    expect(() => sys.addSubregion(0xff80, a)).toThrow(RangeError);
    expect(() => sys.addSubregion(0, a, 0.5)).toThrow(RangeError);
    expect(() => sys.addSubregion(0, sys)).toThrow(/itself/);
    sys.addSubregion(0, a);
    expect(() => sys.addSubregion(0x1000, a)).toThrow(/already mapped/);
    sys.removeSubregion(a);
    expect(() => sys.removeSubregion(a)).toThrow(/not mapped/);
    expect(a.mapping).toBeUndefined();
  });
});
