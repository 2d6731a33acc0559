// FEQ/FLT/FLE and FMIN/FMAX (the 2.2 semantics: a NaN operand yields the
// other operand, -0 orders below +0, and only signalling NaNs raise NV).
import { FFLAG_NV } from './consts.ts';
import {
  isSNaNReg,
  raise,
  readD,
  readS,
  readSBits,
  writeCanonicalNaN,
  writeDWords,
  writeSBits,
} from './regs.ts';
import type { FpuState } from './state.ts';

export const CMP_LE = 0;
export const CMP_LT = 1;
export const CMP_EQ = 2;

/** FEQ is a quiet comparison (NV only for sNaN); FLT and FLE signal on any NaN. */
export function fpCompare(
  fpu: FpuState,
  isD: boolean,
  funct3: number,
  rd: number,
  rs1: number,
  rs2: number,
): void {
  const a = isD ? readD(fpu, rs1) : readS(fpu, rs1);
  const b = isD ? readD(fpu, rs2) : readS(fpu, rs2);
  let res: boolean;
  if (Number.isNaN(a) || Number.isNaN(b)) {
    if (funct3 !== CMP_EQ || isSNaNReg(fpu, rs1, isD) || isSNaNReg(fpu, rs2, isD)) raise(fpu, FFLAG_NV);
    res = false;
  } else {
    res = funct3 === CMP_EQ ? a === b : funct3 === CMP_LT ? a < b : a <= b;
  }
  if (rd !== 0) fpu.x[rd] = res ? 1n : 0n;
}

function copyReg(fpu: FpuState, isD: boolean, rd: number, rs: number): void {
  if (isD) writeDWords(fpu, rd, fpu.f[2 * rs + 1], fpu.f[2 * rs]);
  else writeSBits(fpu, rd, readSBits(fpu, rs));
}

/** FMIN (funct3 0) / FMAX (funct3 1). */
export function fpMinMax(
  fpu: FpuState,
  isD: boolean,
  isMax: boolean,
  rd: number,
  rs1: number,
  rs2: number,
): void {
  const a = isD ? readD(fpu, rs1) : readS(fpu, rs1);
  const b = isD ? readD(fpu, rs2) : readS(fpu, rs2);
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  if ((aNaN || bNaN) && (isSNaNReg(fpu, rs1, isD) || isSNaNReg(fpu, rs2, isD))) raise(fpu, FFLAG_NV);
  if (aNaN && bNaN) {
    writeCanonicalNaN(fpu, rd, isD);
    return;
  }
  let pick: number;
  if (aNaN) pick = rs2;
  else if (bNaN) pick = rs1;
  else if (a === b) {
    // Equal values differ only for zeros of opposite sign: min takes -0, max +0.
    const aNeg = 1 / a < 0;
    pick = aNeg === isMax ? rs2 : rs1;
  } else pick = a < b !== isMax ? rs1 : rs2;
  copyReg(fpu, isD, rd, pick);
}
