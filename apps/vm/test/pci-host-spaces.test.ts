import type { BusDevice } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import { MemoryRegion, renderFlatView } from '../src/board/memory-region.ts';
import { PCI_MEM_SPACE_SIZE, PciHostSpaces } from '../src/pci/pci-host-spaces.ts';

const dev: BusDevice = { read() {}, write() {} };

function setup() {
  const system = MemoryRegion.container('system', 2 ** 52);
  const spaces = new PciHostSpaces(system, {
    mem: [{ cpuBase: 0x4000_0000, busBase: 0x4000_0000, size: 0x4000_0000 }],
    io: [{ cpuBase: 0x0300_0000, busBase: 0, size: 0x1_0000 }],
  });
  const visible = () => renderFlatView(system).map((r) => [r.region.name, r.addr, r.len]);
  return { system, spaces, visible };
}

describe('PciHostSpaces (BARs behind the host bridge windows)', () => {
  it('shows a memory BAR at its bus address inside a window, and nothing outside', () => {
    const { spaces, visible } = setup();
    const bar = MemoryRegion.io('bar0', 0x1000, dev);
    spaces.update(bar, { bar: 0, from: undefined, to: 0x4000_0000, size: 0x1000, io: false });
    expect(visible()).toEqual([['bar0', 0x4000_0000, 0x1000]]);
    spaces.update(bar, { bar: 0, from: 0x4000_0000, to: 0x1000_0000, size: 0x1000, io: false });
    expect(bar.mapping?.addr).toBe(0x1000_0000); // decoded on the bus...
    expect(visible()).toEqual([]); // ...but no window shows it
    spaces.update(bar, { bar: 0, from: 0x1000_0000, to: undefined, size: 0x1000, io: false });
    expect(bar.mapping).toBeUndefined();
  });

  it('shows an I/O BAR through the PIO window, at the window base plus its port', () => {
    const { spaces, visible } = setup();
    const bar = MemoryRegion.io('io', 0x100, dev);
    spaces.update(bar, { bar: 1, from: undefined, to: 0x1000, size: 0x100, io: true });
    expect(visible()).toEqual([['io', 0x0300_1000, 0x100]]);
  });

  it('a decode past the end of the PCI space maps nothing', () => {
    const { spaces } = setup();
    const bar = MemoryRegion.io('bar', 0x1000, dev);
    spaces.update(bar, { bar: 0, from: undefined, to: PCI_MEM_SPACE_SIZE, size: 0x1000, io: false });
    expect(bar.mapping).toBeUndefined();
  });
});
