// Access to the f registers with the NaN-boxing rules: a single-precision
// operand whose upper 32 bits are not all ones reads as the canonical NaN,
// and every single-precision result is written boxed.
import { CANONICAL_NAN_D_HI, CANONICAL_NAN_S } from './consts.ts';
import type { FpuState } from './state.ts';

const f64 = new Float64Array(1);
const w64 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const w32 = new Uint32Array(f32.buffer);

/** The low word of the f64 scratch is index 0 on little-endian hosts. */
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;

export function readSBits(fpu: FpuState, r: number): number {
  return fpu.f[2 * r + 1] === 0xffffffff ? fpu.f[2 * r] : CANONICAL_NAN_S;
}

export function readS(fpu: FpuState, r: number): number {
  w32[0] = readSBits(fpu, r);
  return f32[0];
}

export function writeSBits(fpu: FpuState, r: number, bits: number): void {
  fpu.f[2 * r] = bits;
  fpu.f[2 * r + 1] = 0xffffffff;
  fpu.fsDirty = true;
}

/** Write a non-NaN single value (already representable in binary32). */
export function writeS(fpu: FpuState, r: number, v: number): void {
  f32[0] = v;
  writeSBits(fpu, r, w32[0]);
}

export function readD(fpu: FpuState, r: number): number {
  w64[LO] = fpu.f[2 * r];
  w64[HI] = fpu.f[2 * r + 1];
  return f64[0];
}

/** Write a non-NaN double value. */
export function writeD(fpu: FpuState, r: number, v: number): void {
  f64[0] = v;
  fpu.f[2 * r] = w64[LO];
  fpu.f[2 * r + 1] = w64[HI];
  fpu.fsDirty = true;
}

export function writeDWords(fpu: FpuState, r: number, hi: number, lo: number): void {
  fpu.f[2 * r] = lo;
  fpu.f[2 * r + 1] = hi;
  fpu.fsDirty = true;
}

export function writeCanonicalNaN(fpu: FpuState, r: number, isD: boolean): void {
  if (isD) writeDWords(fpu, r, CANONICAL_NAN_D_HI, 0);
  else writeSBits(fpu, r, CANONICAL_NAN_S);
}

export function readSBig(fpu: FpuState, r: number): bigint {
  return BigInt(readSBits(fpu, r));
}

export function readDBig(fpu: FpuState, r: number): bigint {
  return (BigInt(fpu.f[2 * r + 1]) << 32n) | BigInt(fpu.f[2 * r]);
}

export function writeSBig(fpu: FpuState, r: number, v: bigint): void {
  writeSBits(fpu, r, Number(v));
}

export function writeDBig(fpu: FpuState, r: number, v: bigint): void {
  writeDWords(fpu, r, Number(v >> 32n), Number(v & 0xffffffffn));
}

export function isSNaNS(bits: number): boolean {
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x00400000) === 0 && (bits & 0x003fffff) !== 0;
}

export function isSNaND(fpu: FpuState, r: number): boolean {
  const hi = fpu.f[2 * r + 1];
  return (
    (hi & 0x7ff00000) === 0x7ff00000 && (hi & 0x00080000) === 0 && ((hi & 0x0007ffff) | fpu.f[2 * r]) !== 0
  );
}

/** Whether register r holds a signalling NaN in the given format (after unboxing for S). */
export function isSNaNReg(fpu: FpuState, r: number, isD: boolean): boolean {
  return isD ? isSNaND(fpu, r) : isSNaNS(readSBits(fpu, r));
}

/** Accrue exception flags (a write of fflags marks the FP state dirty). */
export function raise(fpu: FpuState, flags: number): void {
  if (flags !== 0) {
    fpu.fflags |= flags;
    fpu.fsDirty = true;
  }
}

/** Step a nonzero finite single (as bits) one ulp towards or away from zero. */
export function stepS(v: number, away: boolean): number {
  f32[0] = v;
  w32[0] += away ? 1 : -1;
  return f32[0];
}

/** Step a nonzero finite double one ulp towards or away from zero. */
export function stepD(v: number, away: boolean): number {
  f64[0] = v;
  if (away) {
    w64[LO] = (w64[LO] + 1) >>> 0;
    if (w64[LO] === 0) w64[HI] += 1;
  } else {
    if (w64[LO] === 0) w64[HI] -= 1;
    w64[LO] = (w64[LO] - 1) >>> 0;
  }
  return f64[0];
}

/** The low 32 bits of a double's encoding (its last significand bits). */
export function lowWord(v: number): number {
  f64[0] = v;
  return w64[LO];
}
