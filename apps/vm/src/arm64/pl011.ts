import type { BusDevice } from '@tsvirt/core-bus';

// PL011 registers (ARM DDI 0183): offsets and the bits guests use.
const UARTDR = 0x000;
const UARTRSR = 0x004;
const UARTFR = 0x018;
const UARTILPR = 0x020;
const UARTIBRD = 0x024;
const UARTFBRD = 0x028;
const UARTLCR_H = 0x02c;
const UARTCR = 0x030;
const UARTIFLS = 0x034;
const UARTIMSC = 0x038;
const UARTRIS = 0x03c;
const UARTMIS = 0x040;
const UARTICR = 0x044;
const UARTDMACR = 0x048;

const FR_RXFE = 0x10;
const FR_TXFE = 0x80;
const FR_RXFF = 0x40;
/** Receive and receive-timeout interrupts; TX. */
const INT_RX = 1 << 4;
const INT_TX = 1 << 5;
const INT_RT = 1 << 6;
const LCR_FEN = 1 << 4;

const RX_FIFO = 16;
/** The PrimeCell id registers at 0xfe0-0xffc: PL011 r1p5 and the PrimeCell signature. */
const ID = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/**
 * An ARM PL011 UART as QEMU models it (hw/char/pl011.c): the data register
 * with a receive FIFO (16 entries when LCR_H.FEN, else 1), the flag,
 * control, baud and interrupt mask/status registers, and the PrimeCell id.
 * The transmitter is infinitely fast: a DR write goes to `output` at once,
 * so TX is always "empty" (TXFE) and its interrupt always raised.
 * `irq(level)` drives the SPI (level-triggered into the GIC).
 */
export class Pl011 implements BusDevice {
  private readonly rx: number[] = [];
  private lcr = 0;
  private cr = 0x300;
  private ibrd = 0;
  private fbrd = 0;
  private ifls = 0x12;
  private imsc = 0;
  private ris = INT_TX;
  private ilpr = 0;
  private dmacr = 0;
  private level = false;

  constructor(
    private readonly output: (byte: number) => void,
    private readonly irq: (level: boolean) => void = () => {},
  ) {}

  /** Bytes typed at the console: queued in the receive FIFO; false when it is full (try again later). */
  receive(byte: number): boolean {
    if (this.rx.length >= this.fifoDepth) return false;
    this.rx.push(byte & 0xff);
    this.ris |= INT_RX;
    this.update();
    return true;
  }

  /** Room for another received byte. */
  get canReceive(): boolean {
    return this.rx.length < this.fifoDepth;
  }

  private get fifoDepth(): number {
    return (this.lcr & LCR_FEN) !== 0 ? RX_FIFO : 1;
  }

  private update(): void {
    const level = (this.ris & this.imsc) !== 0;
    if (level !== this.level) {
      this.level = level;
      this.irq(level);
    }
  }

  private readReg(off: number): number {
    if (off >= 0xfe0 && off < 0x1000) return ID[(off - 0xfe0) >> 2]!;
    switch (off) {
      case UARTDR: {
        const c = this.rx.shift() ?? 0;
        if (this.rx.length === 0) this.ris &= ~(INT_RX | INT_RT);
        this.update();
        return c;
      }
      case UARTRSR:
        return 0;
      case UARTFR:
        return (
          FR_TXFE | (this.rx.length === 0 ? FR_RXFE : 0) | (this.rx.length >= this.fifoDepth ? FR_RXFF : 0)
        );
      case UARTILPR:
        return this.ilpr;
      case UARTIBRD:
        return this.ibrd;
      case UARTFBRD:
        return this.fbrd;
      case UARTLCR_H:
        return this.lcr;
      case UARTCR:
        return this.cr;
      case UARTIFLS:
        return this.ifls;
      case UARTIMSC:
        return this.imsc;
      case UARTRIS:
        return this.ris;
      case UARTMIS:
        return this.ris & this.imsc;
      case UARTDMACR:
        return this.dmacr;
      default:
        return 0;
    }
  }

  private writeReg(off: number, v: number): void {
    switch (off) {
      case UARTDR:
        this.output(v & 0xff);
        this.ris |= INT_TX;
        break;
      case UARTRSR:
        break;
      case UARTILPR:
        this.ilpr = v & 0xff;
        break;
      case UARTIBRD:
        this.ibrd = v & 0xffff;
        break;
      case UARTFBRD:
        this.fbrd = v & 0x3f;
        break;
      case UARTLCR_H:
        // Turning the FIFO off leaves one entry (QEMU's pl011 resets the FIFO here too).
        if (((this.lcr ^ v) & LCR_FEN) !== 0) this.rx.length = Math.min(this.rx.length, 1);
        this.lcr = v & 0xff;
        break;
      case UARTCR:
        this.cr = v & 0xffff;
        break;
      case UARTIFLS:
        this.ifls = v & 0x3f;
        break;
      case UARTIMSC:
        this.imsc = v & 0x7ff;
        break;
      case UARTICR:
        this.ris &= ~v;
        // TX is always ready again at once.
        this.ris |= INT_TX;
        if (this.rx.length > 0) this.ris |= INT_RX;
        break;
      case UARTDMACR:
        this.dmacr = v & 7;
        break;
    }
    this.update();
  }

  read(offset: number, data: Uint8Array): void {
    const v = this.readReg(offset & ~3);
    for (let i = 0; i < data.length; i++) data[i] = (v >>> (8 * ((offset & 3) + i))) & 0xff;
  }

  write(offset: number, data: Uint8Array): void {
    let v = 0;
    for (let i = 0; i < data.length; i++) v |= data[i]! << (8 * i);
    this.writeReg(offset & ~3, v >>> 0);
  }
}
