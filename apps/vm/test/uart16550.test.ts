import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../src/devices/uart16550.ts';

function setup() {
  const out: number[] = [];
  const irqs: boolean[] = [];
  const uart = new Uart16550(
    (b) => out.push(b),
    (l) => irqs.push(l),
  );
  const rd = (off: number) => {
    const d = new Uint8Array(1);
    uart.read(off, d);
    return d[0]!;
  };
  const wr = (off: number, v: number) => uart.write(off, Uint8Array.of(v));
  return { uart, out, irqs, rd, wr };
}

describe('Uart16550', () => {
  it('transmits THR writes and reports an always-empty transmitter', () => {
    const { out, rd, wr } = setup();
    for (const c of 'hi') wr(0, c.charCodeAt(0));
    expect(String.fromCharCode(...out)).toBe('hi');
    expect(rd(5) & 0x60).toBe(0x60);
  });

  it('uses the divisor latch while DLAB is set', () => {
    const { out, rd, wr } = setup();
    wr(3, 0x83);
    wr(0, 0x01);
    wr(1, 0x02);
    expect([rd(0), rd(1)]).toEqual([1, 2]);
    expect(out).toEqual([]);
    wr(3, 0x03);
    expect(rd(1)).toBe(0); // IER again
  });

  it('receives into the FIFO, raises RDI and reports overrun', () => {
    const { uart, irqs, rd, wr } = setup();
    wr(2, 0x07); // enable + clear FIFOs
    wr(1, 0x01); // RDI
    uart.receive([0x41, 0x42]);
    expect(irqs).toEqual([true]);
    expect(rd(2) & 0x0f).toBe(0x04);
    expect(rd(2) & 0xc0).toBe(0xc0);
    expect(rd(5) & 1).toBe(1);
    expect([rd(0), rd(0)]).toEqual([0x41, 0x42]);
    expect(irqs).toEqual([true, false]);
    uart.receive(new Array(20).fill(0x30));
    expect(rd(5) & 0x02).toBe(0x02); // OE
    expect(rd(5) & 0x02).toBe(0); // cleared by the read
  });

  it('raises THRE when enabled and clears it on an IIR read', () => {
    const { irqs, rd, wr } = setup();
    wr(1, 0x02);
    expect(irqs).toEqual([true]);
    expect(rd(2) & 0x0f).toBe(0x02);
    expect(irqs).toEqual([true, false]);
    expect(rd(2) & 0x0f).toBe(0x01);
    wr(0, 0x20);
    expect(irqs).toEqual([true, false, true]);
  });

  it('loops transmitted bytes back in loopback mode and keeps the scratch register', () => {
    const { out, rd, wr } = setup();
    wr(4, 0x10);
    wr(0, 0x55);
    expect(out).toEqual([]);
    expect(rd(0)).toBe(0x55);
    wr(7, 0xa5);
    expect(rd(7)).toBe(0xa5);
  });
});
