import { describe, expect, it } from 'vitest';
import {
  CFI_BANK_SIZE,
  CFI_BLOCK_SIZE,
  CFI_DEVICE,
  CFI_MANUFACTURER,
  CfiFlash,
  SR_ERASE_ERROR,
  SR_LOCKED,
  SR_PROGRAM_ERROR,
  SR_READY,
} from '../src/devices/cfi-flash.ts';

// The flash as firmware drives it: 32-bit bus accesses, commands in the low byte.
function bank() {
  const f = new CfiFlash();
  const w32 = (off: number, v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    f.write(off, b);
  };
  const r32 = (off: number) => {
    const b = new Uint8Array(4);
    f.read(off, b);
    return new DataView(b.buffer).getUint32(0, true);
  };
  const r8 = (off: number) => {
    const b = new Uint8Array(1);
    f.read(off, b);
    return b[0]!;
  };
  return { f, w32, r32, r8 };
}

describe('CFI flash bank (Intel/Sharp command set, x32)', () => {
  it('reads erased (0xff) in read-array mode at any width', () => {
    const { f, r32, r8 } = bank();
    expect(r32(0)).toBe(0xffff_ffff);
    expect(r8(CFI_BANK_SIZE - 1)).toBe(0xff);
    expect([...f.peek(0x1000, 3)]).toEqual([0xff, 0xff, 0xff]);
  });

  it('answers the CFI query: QRY, command set 1, 32 MiB in 128 blocks of 256 KiB, x32, 64-byte buffer, PRI table', () => {
    const { w32, r32, r8 } = bank();
    w32(0x55 * 4, 0x98);
    const q = (n: number) => r32(n * 4);
    expect([q(0x10), q(0x11), q(0x12)]).toEqual([0x51, 0x52, 0x59]);
    expect(q(0x13) | (q(0x14) << 8)).toBe(1);
    expect(1 << q(0x27)).toBe(CFI_BANK_SIZE);
    expect(q(0x28) | (q(0x29) << 8)).toBe(3);
    expect(1 << q(0x2a)).toBe(64);
    expect(q(0x2c)).toBe(1);
    expect((q(0x2d) | (q(0x2e) << 8)) + 1).toBe(128);
    expect((q(0x2f) | (q(0x30) << 8)) * 256).toBe(CFI_BLOCK_SIZE);
    const pri = q(0x15) | (q(0x16) << 8);
    expect([q(pri), q(pri + 1), q(pri + 2)]).toEqual([0x50, 0x52, 0x49]);
    // only the word's low byte carries query data
    expect(r8(0x10 * 4 + 1)).toBe(0);
    w32(0, 0xff);
    expect(r32(0x10 * 4)).toBe(0xffff_ffff);
  });

  it('read identifier: manufacturer, 16-bit device code, and each block lock bit', () => {
    const { w32, r32 } = bank();
    w32(0, 0x60);
    w32(3 * CFI_BLOCK_SIZE, 0x01); // lock block 3
    w32(0, 0x90);
    expect(r32(0)).toBe(CFI_MANUFACTURER);
    expect(r32(4)).toBe(CFI_DEVICE);
    expect(r32(3 * CFI_BLOCK_SIZE + 8)).toBe(1);
    expect(r32(2 * CFI_BLOCK_SIZE + 8)).toBe(0);
  });

  it('word program clears bits only, then reads status until read array', () => {
    const { f, w32, r32 } = bank();
    w32(0x100, 0x40);
    w32(0x100, 0x1234_5678);
    expect(r32(0x100)).toBe(SR_READY); // status mode after a program
    w32(0, 0xff);
    expect(r32(0x100)).toBe(0x1234_5678);
    w32(0x100, 0x10); // the alternate program command
    w32(0x100, 0xffff_0000);
    w32(0, 0xff);
    expect(r32(0x100)).toBe(0x1234_0000); // 1 -> 0 only
    expect([...f.peek(0x100, 4)]).toEqual([0, 0, 0x34, 0x12]);
  });

  it('block erase sets the block to 0xff and leaves its neighbours', () => {
    const { f, w32, r32 } = bank();
    f.load(Uint8Array.of(1, 2, 3, 4), CFI_BLOCK_SIZE - 2);
    w32(CFI_BLOCK_SIZE, 0x20);
    w32(CFI_BLOCK_SIZE + 0x40, 0xd0);
    expect(r32(0) & 0xff).toBe(SR_READY);
    w32(0, 0xff);
    expect([...f.peek(CFI_BLOCK_SIZE - 2, 4)]).toEqual([1, 2, 0xff, 0xff]);
  });

  it('a locked block refuses program and erase with the lock and error bits; clear status resets them', () => {
    const { f, w32, r32 } = bank();
    w32(0, 0x60);
    w32(0, 0x01);
    w32(0, 0x40);
    w32(0, 0);
    expect(r32(0)).toBe(SR_READY | SR_PROGRAM_ERROR | SR_LOCKED);
    w32(0, 0x50);
    w32(0, 0x20);
    w32(0, 0xd0);
    expect(r32(0)).toBe(SR_READY | SR_ERASE_ERROR | SR_LOCKED);
    expect(f.peek(0, 4)).toEqual(Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    w32(0, 0x50);
    w32(0, 0x60);
    w32(0, 0xd0); // unlock
    expect(f.isLocked(0)).toBe(false);
    w32(0, 0x40);
    w32(0, 0);
    expect(r32(0)).toBe(SR_READY);
  });

  it('an erase not confirmed by 0xd0 is a command-sequence error and erases nothing', () => {
    const { f, w32, r32 } = bank();
    f.load(Uint8Array.of(0));
    w32(0, 0x20);
    w32(0, 0xff);
    expect(r32(0)).toBe(SR_READY | SR_ERASE_ERROR | SR_PROGRAM_ERROR);
    expect(f.peek(0, 1)[0]).toBe(0);
  });

  it('buffered program: count, data, confirm; too long a count or data outside the block is refused', () => {
    const { w32, r32 } = bank();
    w32(0x200, 0xe8);
    expect(r32(0x200) & SR_READY).toBe(SR_READY); // the buffer is available
    w32(0x200, 1); // two words
    w32(0x200, 0xaaaa_aaaa);
    w32(0x204, 0x5555_5555);
    w32(0x200, 0xd0);
    expect(r32(0)).toBe(SR_READY);
    w32(0, 0xff);
    expect([r32(0x200), r32(0x204)]).toEqual([0xaaaa_aaaa, 0x5555_5555]);
    // 17 words (68 bytes) exceed the 64-byte buffer
    w32(0x400, 0xe8);
    w32(0x400, 16);
    expect(r32(0x400)).toBe(SR_READY | SR_ERASE_ERROR | SR_PROGRAM_ERROR);
    w32(0, 0x50);
    // data for another block than the one named
    w32(0x400, 0xe8);
    w32(0x400, 0);
    w32(CFI_BLOCK_SIZE, 0);
    w32(0x400, 0xd0);
    expect(r32(0)).toBe(SR_READY | SR_PROGRAM_ERROR);
    w32(0, 0xff);
    expect(r32(CFI_BLOCK_SIZE)).toBe(0xffff_ffff);
  });

  it('commands of other vendors (0xf0 reset) return to read array', () => {
    const { w32, r32 } = bank();
    w32(0, 0x98);
    w32(0, 0xf0);
    expect(r32(0x10 * 4)).toBe(0xffff_ffff);
  });
});
