import { type BusDevice, fail } from '@tsvirt/core-bus';
import { ByteReader, ByteWriter } from '../migration/byte-io.ts';

/** The register layout of the SiFive PLIC as QEMU's virt board and Linux's plic driver use it. */
export const PLIC_PRIORITY_BASE = 0x0;
export const PLIC_PENDING_BASE = 0x1000;
export const PLIC_ENABLE_BASE = 0x2000;
export const PLIC_ENABLE_STRIDE = 0x80;
export const PLIC_CONTEXT_BASE = 0x20_0000;
export const PLIC_CONTEXT_STRIDE = 0x1000;
/** Priorities are 3 bits wide on QEMU's virt PLIC; writes keep only those. */
export const PLIC_PRIORITY_MASK = 7;

/** Size of the MMIO window for `contexts` contexts. */
export function plicSize(contexts: number): number {
  return PLIC_CONTEXT_BASE + contexts * PLIC_CONTEXT_STRIDE;
}

/**
 * A platform-level interrupt controller: `ndev` level-triggered sources
 * (1..ndev; source 0 does not exist) and one context per hart (the hart's
 * S-mode external interrupt). Each source has a gateway: while a source is
 * claimed and not yet completed it cannot become pending again. A context's
 * line is raised while some enabled source is pending with a priority above
 * the context's threshold; `notify(context, level)` tells the VMM, which
 * sets or clears the vCPU's VSEIP.
 */
export class Plic implements BusDevice {
  private readonly priority: Uint32Array;
  private readonly level: Uint8Array;
  private readonly pendingBits: Uint32Array;
  private readonly claimed: Uint8Array;
  private readonly enable: Uint32Array[];
  private readonly threshold: Uint32Array;
  private readonly lineState: boolean[];
  private readonly words: number;

  constructor(
    readonly ndev: number,
    readonly contexts: number,
    private readonly notify: (context: number, level: boolean) => void,
    /** The guest completed `source`: a VMM relaying a level (VFIO INTx) de-asserts and unmasks here, as QEMU's EOI path. */
    private readonly onComplete: (source: number) => void = () => {},
  ) {
    this.words = (ndev + 1 + 31) >>> 5;
    this.priority = new Uint32Array(ndev + 1);
    this.level = new Uint8Array(ndev + 1);
    this.claimed = new Uint8Array(ndev + 1);
    this.pendingBits = new Uint32Array(this.words);
    this.enable = Array.from({ length: contexts }, () => new Uint32Array(this.words));
    this.threshold = new Uint32Array(contexts);
    this.lineState = new Array(contexts).fill(false);
  }

  /**
   * Priorities, input levels, pending and claimed bits, enables, thresholds
   * and each context's output line, for a snapshot. The shape (sources,
   * contexts) must match this PLIC's.
   */
  saveState(): Uint8Array {
    const w = new ByteWriter().u32(this.ndev).u32(this.contexts);
    for (const p of this.priority) w.u32(p);
    w.bytes(this.level).bytes(this.claimed);
    for (const p of this.pendingBits) w.u32(p);
    for (const e of this.enable) for (const x of e) w.u32(x);
    for (const t of this.threshold) w.u32(t);
    for (const l of this.lineState) w.u8(l ? 1 : 0);
    return w.finish();
  }

  /**
   * Load saveState()'s bytes (EINVAL, nothing changed, for a bad one), then
   * drive every context's line to its saved level, so the vCPUs' external
   * interrupt inputs agree with the PLIC.
   */
  loadState(bytes: Uint8Array): void {
    const r = new ByteReader(bytes, 'plic state');
    if (r.u32() !== this.ndev || r.u32() !== this.contexts)
      fail('EINVAL', 'plic state is for another PLIC shape');
    const priority = Uint32Array.from({ length: this.ndev + 1 }, () => r.u32());
    const level = r.bytes(this.ndev + 1).slice();
    const claimed = r.bytes(this.ndev + 1).slice();
    const pending = Uint32Array.from({ length: this.words }, () => r.u32());
    const enable = Array.from({ length: this.contexts }, () =>
      Uint32Array.from({ length: this.words }, () => r.u32()),
    );
    const threshold = Uint32Array.from({ length: this.contexts }, () => r.u32());
    const lines = Array.from({ length: this.contexts }, () => r.u8());
    r.end();
    if (level.some((b) => b > 1) || claimed.some((b) => b > 1) || lines.some((b) => b > 1))
      fail('EINVAL', 'bad plic state');
    this.priority.set(priority);
    this.level.set(level);
    this.claimed.set(claimed);
    this.pendingBits.set(pending);
    for (const [i, e] of enable.entries()) this.enable[i]!.set(e);
    this.threshold.set(threshold);
    for (const [ctx, l] of lines.entries()) {
      this.lineState[ctx] = l === 1;
      this.notify(ctx, l === 1);
    }
  }

  /** Drive a source's input line (a device's INTx, the UART's interrupt). */
  setLevel(source: number, high: boolean): void {
    if (source < 1 || source > this.ndev) return;
    this.level[source] = high ? 1 : 0;
    if (high && !this.claimed[source]) this.setPending(source, true);
    else if (!high) this.setPending(source, false);
    this.update();
  }

  isPending(source: number): boolean {
    return (this.pendingBits[source >>> 5]! & (1 << (source & 31))) !== 0;
  }

  private setPending(source: number, on: boolean): void {
    if (on) this.pendingBits[source >>> 5]! |= 1 << (source & 31);
    else this.pendingBits[source >>> 5]! &= ~(1 << (source & 31));
  }

  /** The best source a context would claim now (0 = none). Ties go to the lowest id. */
  private best(ctx: number): number {
    let best = 0;
    let bestPrio = this.threshold[ctx]!;
    const en = this.enable[ctx]!;
    for (let w = 0; w < this.words; w++) {
      let bits = this.pendingBits[w]! & en[w]!;
      while (bits) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const src = (w << 5) | b;
        if (this.priority[src]! > bestPrio) {
          best = src;
          bestPrio = this.priority[src]!;
        }
      }
    }
    return best;
  }

  private update(): void {
    for (let ctx = 0; ctx < this.contexts; ctx++) {
      const level = this.best(ctx) !== 0;
      if (level !== this.lineState[ctx]) {
        this.lineState[ctx] = level;
        this.notify(ctx, level);
      }
    }
  }

  read(offset: number, data: Uint8Array): void {
    // The PLIC is a 32-bit device: other widths or misaligned accesses read as zero.
    data.fill(0);
    if (data.length !== 4 || offset & 3) return;
    new DataView(data.buffer, data.byteOffset, 4).setUint32(0, this.readReg(offset) >>> 0, true);
  }

  private readReg(off: number): number {
    if (off < PLIC_PENDING_BASE) {
      const src = off >>> 2;
      return src <= this.ndev ? this.priority[src]! : 0;
    }
    if (off < PLIC_ENABLE_BASE) {
      const w = (off - PLIC_PENDING_BASE) >>> 2;
      return w < this.words ? this.pendingBits[w]! : 0;
    }
    if (off < PLIC_CONTEXT_BASE) {
      const ctx = Math.floor((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
      const w = ((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE) >>> 2;
      return ctx < this.contexts && w < this.words ? this.enable[ctx]![w]! : 0;
    }
    const ctx = Math.floor((off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE);
    const reg = (off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
    if (ctx >= this.contexts) return 0;
    if (reg === 0) return this.threshold[ctx]!;
    if (reg === 4) return this.claim(ctx);
    return 0;
  }

  /** Claim: take the best pending source and close its gateway until completion. */
  private claim(ctx: number): number {
    const src = this.best(ctx);
    if (src !== 0) {
      this.setPending(src, false);
      this.claimed[src] = 1;
      this.update();
    }
    return src;
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length !== 4 || offset & 3) return;
    const v = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
    if (offset < PLIC_PENDING_BASE) {
      const src = offset >>> 2;
      if (src >= 1 && src <= this.ndev) this.priority[src] = v & PLIC_PRIORITY_MASK;
    } else if (offset < PLIC_ENABLE_BASE) {
      return; // pending bits are read-only
    } else if (offset < PLIC_CONTEXT_BASE) {
      const ctx = Math.floor((offset - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
      const w = ((offset - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE) >>> 2;
      if (ctx >= this.contexts || w >= this.words) return;
      // Source 0 does not exist: its enable bit stays clear.
      this.enable[ctx]![w] = w === 0 ? v & ~1 : v;
    } else {
      const ctx = Math.floor((offset - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE);
      const reg = (offset - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
      if (ctx >= this.contexts) return;
      if (reg === 0) this.threshold[ctx] = v & PLIC_PRIORITY_MASK;
      else if (reg === 4) this.complete(ctx, v);
      else return;
    }
    this.update();
  }

  /** Completion reopens the gateway; a still-high level makes the source pending again. */
  private complete(ctx: number, src: number): void {
    if (src < 1 || src > this.ndev || !this.claimed[src]) return;
    // As the spec says, completion for a source not enabled for this context is ignored.
    if (!(this.enable[ctx]![src >>> 5]! & (1 << (src & 31)))) return;
    this.claimed[src] = 0;
    this.onComplete(src);
    if (this.level[src]) this.setPending(src, true);
  }
}
