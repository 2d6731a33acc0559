// FMADD/FMSUB/FNMSUB/FNMADD.{S,D}: (+-rs1*rs2) +- rs3 with one rounding.
// Single: the binary32 product is exact in binary64, so the only rounding
// before the final one is the binary64 sum, whose exact error TwoSum gives;
// the one case where rounding that sum to binary32 can go wrong (it lands on
// a binary32 midpoint while the exact value does not) goes to the exact path.
// Double: Dekker's exact product, then Boldo and Melquiond's round-to-odd
// summation; cases whose error sign is not certain go to the exact path.

import { fastSumD, finishD, finishS } from './arith.ts';
import { RM_RDN, RM_RNE } from './consts.ts';
import {
  lowWord,
  raise,
  readD,
  readDBig,
  readS,
  readSBig,
  stepD,
  writeDBig,
  writeS,
  writeSBig,
} from './regs.ts';
import { inSafe, signOf, twoProductErr, twoSumErr } from './round.ts';
import { F32, F64, sfFma, sfState } from './softfloat.ts';
import type { FpuState } from './state.ts';

function fastFmaS(fpu: FpuState, rd: number, p: number, c: number, rm: number): boolean {
  const d = p + c;
  if (d - d !== 0) return false;
  if (d === 0) {
    // binary32 products and sums never underflow in binary64: this zero is exact.
    if (rm === RM_RDN) return false;
    writeS(fpu, rd, d);
    return true;
  }
  const errD = signOf(twoSumErr(p, c, d));
  if (errD !== 0 && rm === RM_RNE) {
    const f = Math.fround(d);
    const g = f + 2 * (d - f);
    if (d !== f && Math.fround(g) === g) return false;
  }
  return finishS(fpu, rd, d, errD, rm);
}

function fastFmaD(
  fpu: FpuState,
  rd: number,
  a: number,
  b: number,
  c: number,
  negProd: boolean,
  rm: number,
): boolean {
  let p = a * b;
  if (a === 0 || b === 0) {
    if (p - p !== 0) return false;
    return fastSumD(fpu, rd, negProd ? -p : p, c, rm);
  }
  if (!inSafe(a) || !inSafe(b) || !inSafe(p)) return false;
  let e = twoProductErr(a, b, p);
  if (negProd) {
    p = -p;
    e = -e;
  }
  if (e === 0) return fastSumD(fpu, rd, p, c, rm);
  let r: number;
  let errSign: number;
  if (c === 0) {
    // Nonzero product plus a zero addend: the result is the product, rounded once.
    r = p;
    errSign = signOf(e);
  } else {
    if (!inSafe(c)) return false;
    // Boldo and Melquiond's emulation: with p + e exact and th + tl = c + p
    // exact, RN(th + RO(tl + e)) is RN(a*b + c), where RO rounds to odd.
    const th = c + p;
    const tl = twoSumErr(c, p, th);
    const s = tl + e;
    const se = twoSumErr(tl, e, s);
    let v = s;
    if (se !== 0 && (lowWord(s) & 1) === 0) v = stepD(s, se > 0 === s > 0);
    r = th + v;
    if (!inSafe(r)) return false;
    const w = twoSumErr(th, v, r);
    // exact - r = w + delta, where delta = (tl + e) - v is the round-to-odd error.
    const delta = s - v + se;
    if (w === 0) errSign = signOf(delta);
    else if (Math.abs(w) > 2 * Math.abs(delta)) errSign = signOf(w);
    else return false;
  }
  return finishD(fpu, rd, r, errSign, rm);
}

/** R4-type fused multiply-add; negProd/negAdd select the opcode as in sfFma. */
export function fpFma(
  fpu: FpuState,
  isD: boolean,
  rd: number,
  rs1: number,
  rs2: number,
  rs3: number,
  rm: number,
  negProd: boolean,
  negAdd: boolean,
): void {
  if (isD) {
    const c = readD(fpu, rs3);
    if (fastFmaD(fpu, rd, readD(fpu, rs1), readD(fpu, rs2), negAdd ? -c : c, negProd, rm)) return;
    sfState.flags = 0;
    const r = sfFma(F64, readDBig(fpu, rs1), readDBig(fpu, rs2), readDBig(fpu, rs3), rm, negProd, negAdd);
    writeDBig(fpu, rd, r);
  } else {
    const p = readS(fpu, rs1) * readS(fpu, rs2);
    const c = readS(fpu, rs3);
    if (p - p === 0 && fastFmaS(fpu, rd, negProd ? -p : p, negAdd ? -c : c, rm)) return;
    sfState.flags = 0;
    const r = sfFma(F32, readSBig(fpu, rs1), readSBig(fpu, rs2), readSBig(fpu, rs3), rm, negProd, negAdd);
    writeSBig(fpu, rd, r);
  }
  raise(fpu, sfState.flags);
}
