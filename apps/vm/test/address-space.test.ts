import { AddressBus, type BusDevice } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import { GuestAddressSpace, type MemslotSink } from '../src/board/address-space.ts';
import { MemoryRegion } from '../src/board/memory-region.ts';

/** KVM_SET_USER_MEMORY_REGION's rules that matter here: page alignment, EEXIST on overlap, EINVAL deleting nothing. */
class FakeKvm implements MemslotSink {
  slots = new Map<number, { gpa: number; size: number; hva: number }>();
  refuse = false;
  setUserMemoryRegion(m: Parameters<MemslotSink['setUserMemoryRegion']>[0]): void {
    const gpa = Number(m.guest_phys_addr);
    const size = Number(m.memory_size);
    const hva = Number(m.userspace_addr);
    if (size === 0) {
      if (!this.slots.delete(m.slot)) throw new Error('EINVAL');
      return;
    }
    if (this.refuse) throw new Error('ENOSPC');
    if ((gpa | size | hva) % 4096) throw new Error('EINVAL');
    for (const s of this.slots.values())
      if (gpa < s.gpa + s.size && s.gpa < gpa + size) throw new Error('EEXIST');
    this.slots.set(m.slot, { gpa, size, hva });
  }
  list() {
    return [...this.slots.entries()]
      .map(([id, s]) => [id, s.gpa, s.size, s.hva])
      .sort((a, b) => a[1]! - b[1]!);
  }
}

/** Host memory at hva 0x100000: one flat array. */
function hostMemory() {
  const bytes = new Uint8Array(0x100000);
  return {
    bytes,
    copyFromUser(hva: number, dst: Uint8Array) {
      if (hva < 0x100000) throw new Error('EFAULT');
      dst.set(bytes.subarray(hva - 0x100000, hva - 0x100000 + dst.length));
    },
    copyToUser(hva: number, src: Uint8Array) {
      if (hva < 0x100000) throw new Error('EFAULT');
      bytes.set(src, hva - 0x100000);
    },
  };
}

class Reg implements BusDevice {
  last = -1;
  read(offset: number, data: Uint8Array) {
    this.last = offset;
    data.fill(0x5a);
  }
  write(offset: number) {
    this.last = offset;
  }
}

function setup() {
  const sys = MemoryRegion.container('sys', 2 ** 40);
  const mmio = new AddressBus('mmio');
  const kvm = new FakeKvm();
  const host = hostMemory();
  const as = new GuestAddressSpace(sys, mmio, kvm, host);
  return { sys, mmio, kvm, host, as };
}

const busRows = (mmio: AddressBus) => mmio.list().map((r) => [r.base, r.len]);

describe('GuestAddressSpace (the flat view applied to the MMIO bus and KVM memslots)', () => {
  it('puts io regions on the bus and ram regions in memslots, numbered from 0', () => {
    const { sys, mmio, kvm, as } = setup();
    const uart = new Reg();
    sys.addSubregion(0x8000_0000, MemoryRegion.ram('ram', 0x10000, 0x100000));
    sys.addSubregion(0x1000_0000, MemoryRegion.io('uart', 0x100, uart));
    as.commit();
    expect(kvm.list()).toEqual([[0, 0x8000_0000, 0x10000, 0x100000]]);
    expect(busRows(mmio)).toEqual([[0x1000_0000, 0x100]]);
    expect(mmio.lookup(0x1000_0000)!.device).toBe(uart); // no wrapper at offset 0
  });

  it('a covered io region shows around the cover, each piece with its offset into the device', () => {
    const { sys, mmio, as } = setup();
    const big = new Reg();
    const small = MemoryRegion.io('small', 0x100, new Reg());
    sys.addSubregion(0x1000, MemoryRegion.io('big', 0x1000, big));
    sys.addSubregion(0x1400, small, 1);
    as.commit();
    expect(busRows(mmio)).toEqual([
      [0x1000, 0x400],
      [0x1400, 0x100],
      [0x1500, 0xb00],
    ]);
    mmio.read(0x1504, new Uint8Array(4));
    expect(big.last).toBe(0x504);
    // Un-cover: the bus holds one range for the whole device again.
    sys.removeSubregion(small);
    as.commit();
    expect(busRows(mmio)).toEqual([[0x1000, 0x1000]]);
  });

  it('a partly covered ram region gets a memslot for each visible piece; unmapping frees the slots', () => {
    const { sys, mmio, kvm, as } = setup();
    const vram = MemoryRegion.ram('vram', 0x10000, 0x100000);
    const regs = MemoryRegion.io('regs', 0x1000, new Reg());
    sys.addSubregion(0x4000_0000, vram, 1);
    as.commit();
    expect(kvm.list()).toEqual([[0, 0x4000_0000, 0x10000, 0x100000]]);
    sys.addSubregion(0x4000_3000, regs, 1); // added last: on top
    as.commit();
    expect(kvm.list()).toEqual([
      [0, 0x4000_0000, 0x3000, 0x100000],
      [1, 0x4000_4000, 0xc000, 0x104000],
    ]);
    expect(busRows(mmio)).toEqual([[0x4000_3000, 0x1000]]);
    sys.removeSubregion(vram);
    as.commit();
    expect(kvm.list()).toEqual([]);
    expect(busRows(mmio)).toEqual([[0x4000_3000, 0x1000]]);
  });

  it('traps the sub-page head and tail of a ram piece, served from the same host memory', () => {
    const { sys, mmio, kvm, host, as } = setup();
    sys.addSubregion(0x4000_0000, MemoryRegion.ram('vram', 0x4000, 0x100000), 1);
    sys.addSubregion(0x4000_0000, MemoryRegion.io('a', 0x800, new Reg()), 2);
    sys.addSubregion(0x4000_3f00, MemoryRegion.io('b', 0x100, new Reg()), 2);
    as.commit();
    expect(kvm.list()).toEqual([[0, 0x4000_1000, 0x2000, 0x101000]]);
    expect(busRows(mmio)).toEqual([
      [0x4000_0000, 0x800],
      [0x4000_0800, 0x800],
      [0x4000_3000, 0xf00],
      [0x4000_3f00, 0x100],
    ]);
    mmio.write(0x4000_0804, Uint8Array.of(1, 2, 3, 4));
    expect([...host.bytes.subarray(0x804, 0x808)]).toEqual([1, 2, 3, 4]);
    const d = new Uint8Array(4);
    mmio.read(0x4000_0804, d);
    expect([...d]).toEqual([1, 2, 3, 4]);
  });

  it('traps a ram piece KVM refuses (out of slots), and a host fault reads all-ones', () => {
    const { sys, mmio, kvm, as } = setup();
    kvm.refuse = true;
    sys.addSubregion(0x4000_0000, MemoryRegion.ram('vram', 0x2000, 0x100000));
    sys.addSubregion(0x5000_0000, MemoryRegion.ram('unbacked', 0x1000, 0x1000)); // host address faults
    as.commit();
    expect(kvm.list()).toEqual([]);
    expect(busRows(mmio)).toEqual([
      [0x4000_0000, 0x2000],
      [0x5000_0000, 0x1000],
    ]);
    const d = new Uint8Array(4);
    mmio.read(0x5000_0000, d);
    expect([...d]).toEqual([0xff, 0xff, 0xff, 0xff]);
    mmio.write(0x5000_0000, d); // dropped, no throw
  });

  it('never takes or removes a bus range it does not own', () => {
    const { sys, mmio, as } = setup();
    const stranger = new Reg();
    mmio.insert(stranger, 0x2000, 0x100); // put on the bus directly, outside the tree
    const r = MemoryRegion.io('r', 0x1000, new Reg());
    sys.addSubregion(0x2000, r);
    as.commit(); // the bus refuses the overlap: the piece is left out
    expect(mmio.lookup(0x2000)!.device).toBe(stranger);
    sys.removeSubregion(r);
    as.commit();
    expect(mmio.lookup(0x2000)!.device).toBe(stranger);
  });

  it('a memslot KVM will not delete stays allocated and is never reused', () => {
    const { sys, kvm, as } = setup();
    const a = MemoryRegion.ram('a', 0x1000, 0x100000);
    sys.addSubregion(0x1000, a);
    as.commit();
    kvm.slots.clear(); // slot 0 vanished behind our back: the delete fails
    sys.removeSubregion(a);
    as.commit();
    sys.addSubregion(0x3000, MemoryRegion.ram('b', 0x1000, 0x101000));
    as.commit();
    expect(kvm.list()).toEqual([[1, 0x3000, 0x1000, 0x101000]]);
  });
});
