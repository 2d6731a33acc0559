// Decode and execute one OP-FP / MADD / MSUB / NMSUB / NMADD instruction.
import { fpArith, fpSqrt, OP_ADD, OP_DIV, OP_MUL, OP_SUB } from './arith.ts';
import { fpClass, fpMoveFromInt, fpMoveToInt, fpSignInject } from './bitops.ts';
import { fpCompare, fpMinMax } from './compare.ts';
import { OPC_MADD, OPC_MSUB, OPC_NMADD, OPC_NMSUB, OPC_OP_FP, RM_DYN, RM_RMM } from './consts.ts';
import { fpFromInt, fpNarrow, fpToInt, fpWiden } from './convert.ts';
import { fpFma } from './fused.ts';
import type { FpuState } from './state.ts';

/** fmt field values (bits 26:25); H (2) and Q (3) are not implemented. */
const FMT_S = 0;
const FMT_D = 1;

// funct5 (bits 31:27) of OP-FP.
const F5_ADD = 0x00;
const F5_SUB = 0x01;
const F5_MUL = 0x02;
const F5_DIV = 0x03;
const F5_SGNJ = 0x04;
const F5_MINMAX = 0x05;
const F5_CVT_FF = 0x08;
const F5_SQRT = 0x0b;
const F5_CMP = 0x14;
const F5_CVT_IF = 0x18;
const F5_CVT_FI = 0x1a;
const F5_MV_XF = 0x1c;
const F5_MV_FX = 0x1e;

/** The effective rounding mode, or -1 when rm (or frm for DYN) is reserved. */
function resolveRm(fpu: FpuState, rmField: number): number {
  const rm = rmField === RM_DYN ? fpu.frm : rmField;
  return rm >= 0 && rm <= RM_RMM ? rm : -1;
}

/**
 * Execute one floating point computational instruction. Returns false, with
 * nothing changed, when the encoding is illegal (unknown funct, fmt not S/D,
 * nonzero reserved rs2, reserved rm or rm=DYN with an invalid frm).
 */
export function executeFp(fpu: FpuState, insn: number): boolean {
  const opcode = insn & 0x7f;
  const rd = (insn >>> 7) & 0x1f;
  const funct3 = (insn >>> 12) & 7;
  const rs1 = (insn >>> 15) & 0x1f;
  const rs2 = (insn >>> 20) & 0x1f;
  const fmt = (insn >>> 25) & 3;
  if (fmt > FMT_D) return false;
  const isD = fmt === FMT_D;
  if (opcode !== OPC_OP_FP) {
    let negProd: boolean;
    let negAdd: boolean;
    switch (opcode) {
      case OPC_MADD:
        negProd = false;
        negAdd = false;
        break;
      case OPC_MSUB:
        negProd = false;
        negAdd = true;
        break;
      case OPC_NMSUB:
        negProd = true;
        negAdd = false;
        break;
      case OPC_NMADD:
        negProd = true;
        negAdd = true;
        break;
      default:
        return false;
    }
    const rm = resolveRm(fpu, funct3);
    if (rm < 0) return false;
    fpFma(fpu, isD, rd, rs1, rs2, insn >>> 27, rm, negProd, negAdd);
    return true;
  }
  const funct5 = insn >>> 27;
  switch (funct5) {
    case F5_ADD:
    case F5_SUB:
    case F5_MUL:
    case F5_DIV: {
      const rm = resolveRm(fpu, funct3);
      if (rm < 0) return false;
      const op =
        funct5 === F5_ADD ? OP_ADD : funct5 === F5_SUB ? OP_SUB : funct5 === F5_MUL ? OP_MUL : OP_DIV;
      fpArith(fpu, op, isD, rd, rs1, rs2, rm);
      return true;
    }
    case F5_SQRT: {
      const rm = resolveRm(fpu, funct3);
      if (rs2 !== 0 || rm < 0) return false;
      fpSqrt(fpu, isD, rd, rs1, rm);
      return true;
    }
    case F5_SGNJ:
      if (funct3 > 2) return false;
      fpSignInject(fpu, isD, funct3, rd, rs1, rs2);
      return true;
    case F5_MINMAX:
      if (funct3 > 1) return false;
      fpMinMax(fpu, isD, funct3 === 1, rd, rs1, rs2);
      return true;
    case F5_CMP:
      if (funct3 > 2) return false;
      fpCompare(fpu, isD, funct3, rd, rs1, rs2);
      return true;
    case F5_CVT_FF: {
      // FCVT.S.D is fmt=S with rs2=1 (D); FCVT.D.S is fmt=D with rs2=0 (S).
      const rm = resolveRm(fpu, funct3);
      if (rm < 0 || rs2 !== (isD ? FMT_S : FMT_D)) return false;
      if (isD) fpWiden(fpu, rd, rs1, rm);
      else fpNarrow(fpu, rd, rs1, rm);
      return true;
    }
    case F5_CVT_IF: {
      const rm = resolveRm(fpu, funct3);
      if (rm < 0 || rs2 > 3) return false;
      fpToInt(fpu, isD, rs2, rd, rs1, rm);
      return true;
    }
    case F5_CVT_FI: {
      const rm = resolveRm(fpu, funct3);
      if (rm < 0 || rs2 > 3) return false;
      fpFromInt(fpu, isD, rs2, rd, rs1, rm);
      return true;
    }
    case F5_MV_XF:
      if (rs2 !== 0) return false;
      if (funct3 === 0) fpMoveToInt(fpu, isD, rd, rs1);
      else if (funct3 === 1) fpClass(fpu, isD, rd, rs1);
      else return false;
      return true;
    case F5_MV_FX:
      if (rs2 !== 0 || funct3 !== 0) return false;
      fpMoveFromInt(fpu, isD, rd, rs1);
      return true;
    default:
      return false;
  }
}
