/**
 * The floating point state this unit reads and writes: the 32 f registers
 * (FLEN = 64, f[i] low word at index 2i, high at 2i+1), the integer registers
 * (for FCVT/FMV/FCLASS/compares), and the fcsr fields.
 */
export interface FpuState {
  /** f registers: f[2i] low word, f[2i+1] high word. */
  f: Uint32Array;
  /** x0 is never written. */
  x: BigInt64Array;
  /** fcsr.frm, the dynamic rounding mode. */
  frm: number;
  /** fcsr.fflags, accrued exceptions (NV=16 DZ=8 OF=4 UF=2 NX=1). */
  fflags: number;
  /** Set whenever an f register or fflags is written, so mstatus.FS can become Dirty. */
  fsDirty: boolean;
}

/** A fresh state: f registers zero, round-to-nearest-even, no flags. */
export function createFpuState(): FpuState {
  return { f: new Uint32Array(64), x: new BigInt64Array(32), frm: 0, fflags: 0, fsDirty: false };
}
