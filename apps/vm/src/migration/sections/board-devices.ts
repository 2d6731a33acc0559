import type { SectionHandler } from '../section.ts';
import { MigrationError } from '../stream.ts';

/** The 16550A UART at 0x10000000 (QEMU's "serial"): registers, receive FIFO, interrupt state. */
export const uartSection: SectionHandler = {
  id: 'uart',
  version: 1,
  instances: () => [0],
  save: (m, w) => w.section('uart', 0, 1, m.uart.saveState()),
  load: (m, s) => m.uart.loadState(s.payload),
};

/**
 * The PLIC (QEMU's "riscv_plic"): loaded after the vCPUs, since it drives
 * each context's external interrupt line to its saved level. Only with
 * --irqchip plic: with the AIA the PLIC is not on the bus (the 'aia'
 * section carries the interrupt controller instead).
 */
export const plicSection: SectionHandler = {
  id: 'plic',
  version: 1,
  instances: (m) => (m.aia === undefined ? [0] : []),
  save: (m, w) => {
    if (m.aia === undefined) w.section('plic', 0, 1, m.plic.saveState());
  },
  load: (m, s) => m.plic.loadState(s.payload),
};

/** The two CFI flash banks (QEMU's "pflash_cfi01"), one instance each. */
export const cfiFlashSection: SectionHandler = {
  id: 'cfi-flash',
  version: 1,
  instances: (m) => m.flash.map((_, i) => i),
  save(m, w) {
    for (const [i, f] of m.flash.entries()) w.section('cfi-flash', i, 1, f.saveState());
  },
  load(m, s) {
    const f = m.flash[s.instance];
    if (f === undefined)
      throw new MigrationError(`stream has flash bank ${s.instance}, this board ${m.flash.length}`);
    f.loadState(s.payload);
  },
};
