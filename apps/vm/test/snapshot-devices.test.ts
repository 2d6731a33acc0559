import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import { CFI_BLOCK_SIZE, CfiFlash } from '../src/devices/cfi-flash.ts';
import { PLIC_CONTEXT_BASE, PLIC_ENABLE_BASE, Plic } from '../src/devices/plic.ts';
import { Uart16550 } from '../src/devices/uart16550.ts';
import { BarEmulation } from '../src/pci/bar-emulation.ts';

const u32 = (v: number) => {
  const d = new Uint8Array(4);
  new DataView(d.buffer).setUint32(0, v, true);
  return d;
};
const rd32 = (dev: { read(o: number, d: Uint8Array): void }, off: number) => {
  const d = new Uint8Array(4);
  dev.read(off, d);
  return new DataView(d.buffer).getUint32(0, true);
};

describe('board device state for snapshots', () => {
  it('UART: registers and the receive FIFO move to a new UART; a bad blob is EINVAL and changes nothing', () => {
    const a = new Uart16550(() => {});
    a.write(3, Uint8Array.of(0x1b)); // LCR: 8E1
    a.write(2, Uint8Array.of(0x01)); // FIFO on
    a.write(7, Uint8Array.of(0x5a)); // scratch
    a.receive([0x41, 0x42]);
    const b = new Uart16550(() => {});
    b.loadState(a.saveState());
    const reg = (u: Uart16550, off: number) => {
      const d = new Uint8Array(1);
      u.read(off, d);
      return d[0];
    };
    expect([reg(b, 3), reg(b, 7), reg(b, 5)! & 1]).toEqual([0x1b, 0x5a, 1]);
    expect([reg(b, 0), reg(b, 0)]).toEqual([0x41, 0x42]);
    const c = new Uart16550(() => {});
    const before = c.saveState();
    const bad = a.saveState();
    bad[8] = 7; // thrIpending must be 0 or 1
    expect(errnoOf(() => c.loadState(bad))).toBe('EINVAL');
    expect(errnoOf(() => c.loadState(bad.subarray(0, 5)))).toBe('EINVAL');
    expect(c.saveState()).toEqual(before);
  });

  it('PLIC: priorities, enables, claims and the output lines are restored and driven to the vCPUs', () => {
    const a = new Plic(31, 2, () => {});
    a.write(4 * 5, u32(3));
    a.write(PLIC_ENABLE_BASE, u32(1 << 5));
    a.setLevel(5, true);
    const lines: string[] = [];
    const b = new Plic(31, 2, (ctx, l) => lines.push(`${ctx}:${l ? 1 : 0}`));
    b.loadState(a.saveState());
    expect(lines).toEqual(['0:1', '1:0']);
    expect(rd32(b, PLIC_CONTEXT_BASE + 4)).toBe(5); // claim
    const other = new Plic(31, 1, () => {});
    expect(errnoOf(() => other.loadState(a.saveState()))).toBe('EINVAL');
  });

  it('CFI flash: written blocks, locks and a half-done buffered program survive', () => {
    const a = new CfiFlash();
    a.write(CFI_BLOCK_SIZE, u32(0x40));
    a.write(CFI_BLOCK_SIZE, u32(0x12345678));
    a.write(0, u32(0xe8)); // buffered program set-up on block 0, then its count
    a.write(0, u32(0));
    const b = new CfiFlash();
    b.loadState(a.saveState());
    b.write(0, u32(0xcafef00d)); // the buffer's one word
    b.write(0, u32(0xd0)); // confirm
    b.write(0, u32(0xff)); // read array
    expect(rd32(b, 0)).toBe(0xcafef00d);
    expect(rd32(b, CFI_BLOCK_SIZE)).toBe(0x12345678);
    const bad = a.saveState();
    bad[0] = 9;
    const c = new CfiFlash();
    expect(errnoOf(() => c.loadState(bad))).toBe('EINVAL');
    expect(rd32(c, CFI_BLOCK_SIZE)).toBe(0xffffffff);
  });

  it('BAR emulation: the loaded registers yield the moves that place the BARs where the source had them', () => {
    const specs = [{ size: 0x1000 }, { size: 0 }, { size: 0x400000, is64: true, prefetch: true }];
    const a = new BarEmulation(specs);
    a.writeReg(0, 0x4000_0000);
    a.writeReg(2, 0);
    a.writeReg(3, 4);
    a.setCommand(2);
    const b = new BarEmulation(specs);
    const st = a.saveState();
    const moves = b.loadState(st.regs, st.command);
    expect(moves.filter((m) => m.to !== undefined)).toEqual([
      { bar: 0, from: undefined, to: 0x4000_0000, size: 0x1000, io: false },
      { bar: 2, from: undefined, to: 0x4_0000_0000, size: 0x400000, io: false },
    ]);
    expect([b.address(0), b.address(2), b.readReg(2)]).toEqual([0x4000_0000, 0x4_0000_0000, a.readReg(2)]);
    expect(errnoOf(() => b.loadState(new Uint32Array(5), 0))).toBe('EINVAL');
  });
});
