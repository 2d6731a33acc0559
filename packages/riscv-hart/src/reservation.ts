/**
 * The LR/SC reservation set shared by every hart of a machine. A reservation
 * covers one naturally aligned 8-byte granule of host physical memory; a store
 * by any hart to a reserved granule breaks every hart's reservation on it, so
 * a later SC there fails (ISA spec, "Load-Reserved/Store-Conditional").
 */
export class ReservationSet {
  /** Reserved granule (host physical address / 8) per hart id; NaN = none. */
  private readonly granule: number[] = [];
  /** Number of harts holding a reservation: stores skip the scan when 0. */
  active = 0;

  /** A new hart id in this set. */
  register(): number {
    this.granule.push(Number.NaN);
    return this.granule.length - 1;
  }

  /** Reserve the 8-byte granule holding host physical address `hpa` for a hart (LR). */
  reserve(hart: number, hpa: number): void {
    if (Number.isNaN(this.granule[hart]!)) this.active++;
    this.granule[hart] = Math.floor(hpa / 8);
  }

  /** True when `hart` still holds a reservation on the granule of `hpa`. */
  holds(hart: number, hpa: number): boolean {
    return this.granule[hart] === Math.floor(hpa / 8);
  }

  /** Drop a hart's reservation. */
  clear(hart: number): void {
    if (!Number.isNaN(this.granule[hart]!)) {
      this.active--;
      this.granule[hart] = Number.NaN;
    }
  }

  /** A store of `len` bytes at `hpa`: every reservation on the granules it touches is lost. */
  store(hpa: number, len: number): void {
    const first = Math.floor(hpa / 8);
    const last = Math.floor((hpa + len - 1) / 8);
    const g = this.granule;
    for (let i = 0; i < g.length; i++) {
      const v = g[i]!;
      if (v >= first && v <= last) {
        g[i] = Number.NaN;
        this.active--;
      }
    }
  }
}
