import { describe, expect, it } from 'vitest';
import { GicV2 } from '../src/arm64/gic-v2.ts';
import { Pl011 } from '../src/arm64/pl011.ts';

const w32 = (v: number) => new Uint8Array(new Uint32Array([v >>> 0]).buffer);
const r32 = (dev: { read(o: number, d: Uint8Array): void }, off: number) => {
  const d = new Uint8Array(4);
  dev.read(off, d);
  return new DataView(d.buffer).getUint32(0, true);
};

describe('GICv2 (user-space irqchip)', () => {
  function gic(cpus = 2) {
    const lines: boolean[] = new Array(cpus).fill(false);
    const g = new GicV2(64, cpus, (cpu, level) => {
      lines[cpu] = level;
    });
    return { g, lines };
  }

  it('a level SPI reaches its target CPU once distributor, CPU interface, enable and PMR allow it; IAR/EOIR', () => {
    const { g, lines } = gic();
    expect(r32(g.dist, 0x004)).toBe(1 | (1 << 5)); // 64 lines, 2 CPUs
    g.setSpi(1, true);
    expect(lines).toEqual([false, false]);
    g.dist.write(0x000, w32(1));
    g.dist.write(0x100 + 4, w32(1 << 1)); // enable INTID 33
    g.dist.write(0x800 + 33, new Uint8Array([1 << 1])); // to CPU 1
    g.dist.write(0x400 + 33, new Uint8Array([0x80]));
    g.currentCpu = 1;
    g.cpuIf.write(0x00, w32(1));
    expect(lines[1]).toBe(false); // PMR 0 masks everything
    g.cpuIf.write(0x04, w32(0xf0));
    expect(lines).toEqual([false, true]);
    expect(r32(g.cpuIf, 0x18)).toBe(33); // HPPIR
    expect(r32(g.cpuIf, 0x0c)).toBe(33); // IAR: now active
    expect(lines[1]).toBe(false);
    expect(r32(g.cpuIf, 0x14)).toBe(0x80); // running priority
    expect(r32(g.cpuIf, 0x0c)).toBe(1023); // nothing else: spurious
    g.cpuIf.write(0x10, w32(33)); // EOI with the line still high: pending again
    expect(lines[1]).toBe(true);
    g.setSpi(1, false);
    expect(lines[1]).toBe(false);
  });

  it('PPIs are banked per CPU (the timer on PPI 27), and a higher priority preempts a running one only', () => {
    const { g, lines } = gic();
    g.dist.write(0x000, w32(1));
    for (const cpu of [0, 1]) {
      g.currentCpu = cpu;
      g.cpuIf.write(0x00, w32(1));
      g.cpuIf.write(0x04, w32(0xff));
    }
    g.currentCpu = 0;
    g.dist.write(0x100, w32(1 << 27)); // CPU 0 enables its PPI 27 only
    g.setPpi(1, 27, true);
    expect(lines).toEqual([false, false]);
    g.setPpi(0, 27, true);
    expect(lines).toEqual([true, false]);
    expect(r32(g.cpuIf, 0x0c)).toBe(27);
    // SGI 3 at a lower priority value (higher priority) than the active PPI preempts it.
    g.dist.write(0x100, w32((1 << 3) | (1 << 27)));
    g.dist.write(0x400 + 27, new Uint8Array([0xa0]));
    g.dist.write(0x400 + 3, new Uint8Array([0x20]));
    g.dist.write(0xf00, w32((2 << 24) | 3)); // to this CPU only
    expect(lines[0]).toBe(true);
    expect(r32(g.cpuIf, 0x0c)).toBe(3); // from CPU 0 (bits 12:10 = 0)
  });
});

describe('PL011', () => {
  it('transmits at once, receives into its FIFO, and raises its line by IMSC', () => {
    const out: number[] = [];
    const irq: boolean[] = [];
    const u = new Pl011(
      (b) => out.push(b),
      (l) => irq.push(l),
    );
    u.write(0x000, new Uint8Array([0x41]));
    expect(out).toEqual([0x41]);
    expect(r32(u, 0x018) & 0x90).toBe(0x90); // TXFE, RXFE
    expect(u.receive(0x62)).toBe(true);
    // FIFO off: one entry only.
    expect(u.receive(0x63)).toBe(false);
    u.write(0x038, w32(1 << 4)); // IMSC: RX
    expect(irq).toEqual([true]);
    expect(r32(u, 0x018) & 0x10).toBe(0);
    expect(r32(u, 0x000)).toBe(0x62);
    expect(irq).toEqual([true, false]);
    expect(r32(u, 0xfe0)).toBe(0x11); // PrimeCell part number
  });
});
