import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { AddressBus, type BusDevice } from '../src/index.ts';

class Recorder implements BusDevice {
  log: string[] = [];
  constructor(readonly tag: string) {}
  read(offset: number, data: Uint8Array) {
    this.log.push(`r${offset}/${data.length}`);
    data.fill(offset & 0xff);
  }
  write(offset: number, data: Uint8Array) {
    this.log.push(`w${offset}/${data.length}=${data[0]}`);
  }
}

describe('AddressBus', () => {
  it('dispatches reads and writes relative to the range base', () => {
    const bus = new AddressBus('mmio');
    const a = new Recorder('a');
    bus.insert(a, 0x1000, 0x100);
    const d = new Uint8Array(4);
    expect(bus.read(0x1010, d)).toBe(true);
    expect([...d]).toEqual([0x10, 0x10, 0x10, 0x10]);
    expect(bus.write(0x10fe, Uint8Array.of(7, 8))).toBe(true);
    expect(a.log).toEqual(['r16/4', 'w254/2=7']);
  });

  it('rejects zero size with EINVAL and leaves the bus empty', () => {
    const bus = new AddressBus();
    expect(errnoOf(() => bus.insert(new Recorder('a'), 0x1000, 0))).toBe('EINVAL');
    expect(errnoOf(() => bus.insert(new Recorder('a'), -1, 4))).toBe('EINVAL');
    expect(errnoOf(() => bus.insert(new Recorder('a'), 2 ** 53 - 2, 4))).toBe('EINVAL');
    expect(bus.size).toBe(0);
  });

  it('rejects every kind of overlap with EEXIST', () => {
    const bus = new AddressBus();
    bus.insert(new Recorder('a'), 0x1000, 0x100);
    const b = new Recorder('b');
    expect(errnoOf(() => bus.insert(b, 0x1000, 0x100))).toBe('EEXIST'); // same
    expect(errnoOf(() => bus.insert(b, 0xf00, 0x101))).toBe('EEXIST'); // tail into head
    expect(errnoOf(() => bus.insert(b, 0x10ff, 0x10))).toBe('EEXIST'); // head into tail
    expect(errnoOf(() => bus.insert(b, 0x1010, 0x10))).toBe('EEXIST'); // inside
    expect(errnoOf(() => bus.insert(b, 0x0, 0x10000))).toBe('EEXIST'); // around
    expect(bus.size).toBe(1);
    // Adjacent on both sides is fine.
    bus.insert(b, 0xf00, 0x100);
    bus.insert(new Recorder('c'), 0x1100, 0x100);
    expect(bus.list().map((r) => r.base)).toEqual([0xf00, 0x1000, 0x1100]);
  });

  it('rejects an access that straddles the end of a range', () => {
    const bus = new AddressBus();
    const a = new Recorder('a');
    bus.insert(a, 0x1000, 0x10);
    bus.insert(new Recorder('b'), 0x1010, 0x10);
    expect(bus.read(0x100e, new Uint8Array(4))).toBe(false);
    expect(bus.write(0x100c, new Uint8Array(8))).toBe(false);
    expect(bus.read(0x100c, new Uint8Array(4))).toBe(true);
    expect(a.log).toEqual(['r12/4']);
  });

  it('misses below, between and above ranges', () => {
    const bus = new AddressBus();
    bus.insert(new Recorder('a'), 0x1000, 0x10);
    bus.insert(new Recorder('b'), 0x2000, 0x10);
    for (const addr of [0, 0xfff, 0x1010, 0x1fff, 0x2010, 2 ** 40]) expect(bus.lookup(addr)).toBeUndefined();
    expect(bus.lookup(0x200f)?.base).toBe(0x2000);
  });

  it('finds the right device among many (binary search)', () => {
    const bus = new AddressBus();
    const devs: Recorder[] = [];
    // Insert out of order to exercise the sorted insert.
    const order = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    for (const i of order) {
      devs[i] = new Recorder(String(i));
      bus.insert(devs[i]!, i * 0x100, 0x80);
    }
    for (let i = 0; i < 1000; i++) {
      expect(bus.lookup(i * 0x100 + 0x7f)?.device).toBe(devs[i]);
      expect(bus.lookup(i * 0x100 + 0x80)).toBeUndefined();
    }
  });

  it('moves a range (a BAR moved by the guest)', () => {
    const bus = new AddressBus();
    const a = new Recorder('a');
    bus.insert(a, 0x1000, 0x100);
    bus.lookup(0x1000); // warm the cache
    bus.move(0x1000, 0x8000);
    expect(bus.lookup(0x1000)).toBeUndefined();
    expect(bus.read(0x8004, new Uint8Array(1))).toBe(true);
    expect(a.log).toEqual(['r4/1']);
  });

  it('a move onto another range fails with EEXIST and changes nothing', () => {
    const bus = new AddressBus();
    const a = new Recorder('a');
    bus.insert(a, 0x1000, 0x100);
    bus.insert(new Recorder('b'), 0x2000, 0x100);
    expect(errnoOf(() => bus.move(0x1000, 0x1f80))).toBe('EEXIST');
    expect(bus.lookup(0x1000)?.device).toBe(a);
    expect(bus.list().map((r) => r.base)).toEqual([0x1000, 0x2000]);
    expect(errnoOf(() => bus.move(0x3000, 0x4000))).toBe('ENOENT');
  });

  it('removes by base; ENOENT for an address that is not a base', () => {
    const bus = new AddressBus();
    bus.insert(new Recorder('a'), 0x1000, 0x100);
    bus.lookup(0x1000);
    expect(errnoOf(() => bus.remove(0x1001))).toBe('ENOENT');
    bus.remove(0x1000);
    expect(bus.lookup(0x1000)).toBeUndefined();
    expect(bus.size).toBe(0);
  });
});
