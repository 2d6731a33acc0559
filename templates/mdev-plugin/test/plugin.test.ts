import type { MdevDevice } from '@tsvirt/mdev-core';
import { describe, expect, it } from 'vitest';
import plugin, { DEVICE_ID, ID_VALUE, ops, VENDOR_ID } from '../src/plugin.ts';

// The ops get an mdev; these tests need only its drvdata slot.
function newDevice(): MdevDevice {
  const mdev = { drvdata: undefined } as unknown as MdevDevice;
  ops.create(mdev);
  return mdev;
}
const CONFIG = 7n << 40n;
function rd32(mdev: MdevDevice, pos: bigint): number {
  const b = new Uint8Array(4);
  ops.read(mdev, b, pos);
  return new DataView(b.buffer).getUint32(0, true);
}
function wr32(mdev: MdevDevice, pos: bigint, v: number): void {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  ops.write(mdev, b, pos);
}

describe('hello-mdev', () => {
  it('is a module the VMM can load', () => {
    expect(plugin.name).toBe('hello-mdev');
    expect(plugin.dependsOn).toEqual(['mdev-core', 'vfio-mpci']);
  });

  it('shows its IDs in config space, and they are read-only', () => {
    const mdev = newDevice();
    expect(rd32(mdev, CONFIG)).toBe((DEVICE_ID << 16) | VENDOR_ID);
    wr32(mdev, CONFIG, 0);
    expect(rd32(mdev, CONFIG)).toBe((DEVICE_ID << 16) | VENDOR_ID);
  });

  it('sizes BAR0 as 4 KiB and lets the host enable memory decoding', () => {
    const mdev = newDevice();
    wr32(mdev, CONFIG | 0x10n, 0xffffffff);
    expect(rd32(mdev, CONFIG | 0x10n)).toBe(0xfffff000);
    wr32(mdev, CONFIG | 0x04n, 0x0002);
    expect(rd32(mdev, CONFIG | 0x04n) & 0xffff).toBe(0x0002);
  });

  it('answers its registers: ID, scratch, IRQ level', () => {
    const mdev = newDevice();
    expect(rd32(mdev, 0x0n)).toBe(ID_VALUE);
    wr32(mdev, 0x4n, 0xc0ffee);
    expect(rd32(mdev, 0x4n)).toBe(0xc0ffee);
    wr32(mdev, 0x8n, 1); // not bound to vfio-mpci here: the level is kept, no line to raise
    expect(rd32(mdev, 0x8n)).toBe(1);
    expect(rd32(mdev, CONFIG | 0x04n) >>> 16).toBe(0x0008); // status: interrupt pending
  });
});
