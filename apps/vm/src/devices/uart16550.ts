import { type BusDevice, fail } from '@tsvirt/core-bus';
import { ByteReader, ByteWriter } from '../migration/byte-io.ts';

// Register offsets (reg-shift 0, as QEMU's virt board and kvmtool use).
const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

const IER_RDI = 0x01; // received data available
const IER_THRI = 0x02; // transmitter holding register empty
const IER_RLSI = 0x04; // receiver line status

const IIR_NO_INT = 0x01;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_FIFO_ENABLED = 0xc0;

const FCR_ENABLE = 0x01;
const FCR_CLEAR_RCVR = 0x02;

const LCR_DLAB = 0x80;
const MCR_LOOP = 0x10;

const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

const RX_FIFO_SIZE = 16;

/**
 * A 16550A UART as guests' 8250 drivers expect it: divisor latch, FIFO
 * control, interrupt identification by priority (line status, received
 * data, THR empty, modem status), loopback, and a scratch register. The
 * transmitter is infinitely fast: a THR write goes straight to `output`.
 * `irq(level)` drives the interrupt line (level-triggered into the PLIC).
 */
export class Uart16550 implements BusDevice {
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0x08; // OUT2 set, as firmware leaves it
  private lsrErrors = 0;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private fcr = 0;
  private readonly rx: number[] = [];
  /** THRE interrupt pending: set when THR empties, cleared by an IIR read that reports it or a THR write. */
  private thrIpending = true;
  private lastIrq = false;

  constructor(
    private readonly output: (byte: number) => void,
    private readonly irq: (level: boolean) => void = () => {},
  ) {}

  /** Bytes from the terminal; beyond the FIFO they are lost and OE is set, as hardware does. */
  receive(bytes: Iterable<number>): void {
    for (const b of bytes) {
      if (this.rx.length >= (this.fcr & FCR_ENABLE ? RX_FIFO_SIZE : 1)) {
        this.lsrErrors |= LSR_OE;
        continue;
      }
      this.rx.push(b & 0xff);
    }
    this.update();
  }

  /** Room left in the receive FIFO, so the VMM can pace terminal input. */
  get rxSpace(): number {
    return (this.fcr & FCR_ENABLE ? RX_FIFO_SIZE : 1) - this.rx.length;
  }

  private lsr(): number {
    return (this.rx.length ? LSR_DR : 0) | LSR_THRE | LSR_TEMT | this.lsrErrors;
  }

  /** The highest-priority pending interrupt, as IIR reports it. */
  private pending(): number {
    if (this.ier & IER_RLSI && this.lsrErrors) return IIR_RLSI;
    if (this.ier & IER_RDI && this.rx.length) return IIR_RDI;
    if (this.ier & IER_THRI && this.thrIpending) return IIR_THRI;
    // Modem-status interrupts never fire: the modem lines are fixed (no delta bits).
    return IIR_NO_INT;
  }

  private update(): void {
    const level = this.pending() !== IIR_NO_INT;
    if (level !== this.lastIrq) {
      this.lastIrq = level;
      this.irq(level);
    }
  }

  /**
   * The registers, the receive FIFO and the interrupt state, for a snapshot
   * (QEMU's vmstate_serial). The line level is not re-driven on load: the
   * PLIC's own saved state already holds it.
   */
  saveState(): Uint8Array {
    const w = new ByteWriter();
    for (const r of [this.ier, this.lcr, this.mcr, this.lsrErrors, this.scr, this.dll, this.dlm, this.fcr])
      w.u8(r);
    w.u8(this.thrIpending ? 1 : 0).u8(this.lastIrq ? 1 : 0);
    return w.blob(Uint8Array.from(this.rx)).finish();
  }

  /** Load saveState()'s bytes; EINVAL (and nothing changed) for a bad one. */
  loadState(bytes: Uint8Array): void {
    const r = new ByteReader(bytes, 'uart state');
    const regs = Array.from({ length: 8 }, () => r.u8());
    const thri = r.u8();
    const irq = r.u8();
    const rx = r.blob();
    r.end();
    if (thri > 1 || irq > 1 || rx.length > RX_FIFO_SIZE) fail('EINVAL', 'bad uart state');
    [this.ier, this.lcr, this.mcr, this.lsrErrors, this.scr, this.dll, this.dlm, this.fcr] = regs as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    this.thrIpending = thri === 1;
    this.lastIrq = irq === 1;
    this.rx.length = 0;
    for (const b of rx) this.rx.push(b);
  }

  read(offset: number, data: Uint8Array): void {
    data.fill(0);
    data[0] = this.readReg(offset);
  }

  private readReg(offset: number): number {
    const dlab = this.lcr & LCR_DLAB;
    switch (offset) {
      case RBR_THR_DLL: {
        if (dlab) return this.dll;
        const b = this.rx.shift() ?? 0;
        this.update();
        return b;
      }
      case IER_DLM:
        return dlab ? this.dlm : this.ier;
      case IIR_FCR: {
        const id = this.pending();
        // Reading IIR while it reports THRE clears that interrupt (8250 behaviour).
        if (id === IIR_THRI) {
          this.thrIpending = false;
          this.update();
        }
        return id | (this.fcr & FCR_ENABLE ? IIR_FIFO_ENABLED : 0);
      }
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR: {
        const v = this.lsr();
        this.lsrErrors = 0; // error bits clear on read
        this.update();
        return v;
      }
      case MSR:
        // Loopback routes MCR outputs to the modem inputs; else CTS/DSR/DCD asserted.
        return this.mcr & MCR_LOOP ? ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x03) << 4) : 0xb0;
      case SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  write(offset: number, data: Uint8Array): void {
    const v = data[0]!;
    const dlab = this.lcr & LCR_DLAB;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) {
          this.dll = v;
          return;
        }
        if (this.mcr & MCR_LOOP) this.receive([v]);
        else this.output(v);
        // The byte leaves at once, so THR is empty again: THRE fires anew.
        this.thrIpending = true;
        break;
      case IER_DLM:
        if (dlab) {
          this.dlm = v;
          return;
        }
        // Enabling THRI while THR is empty raises it immediately.
        if (v & IER_THRI && !(this.ier & IER_THRI)) this.thrIpending = true;
        this.ier = v & 0x0f;
        break;
      case IIR_FCR:
        this.fcr = v & 0xc9;
        if (v & FCR_CLEAR_RCVR) this.rx.length = 0;
        break;
      case LCR:
        this.lcr = v;
        return;
      case MCR:
        this.mcr = v & 0x1f;
        break;
      case SCR:
        this.scr = v;
        return;
      default:
        return;
    }
    this.update();
  }
}
