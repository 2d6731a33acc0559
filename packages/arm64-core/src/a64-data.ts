import {
  addWithCarry,
  conditionHolds,
  crc32,
  decodeLogicalImm,
  logicFlags,
  MASK32,
  MASK64,
  ones,
  ror,
  sext,
  sextNum,
} from './bits.ts';
import type { Arm64Cpu } from './cpu.ts';
import { undefinedInstruction } from './exceptions.ts';

function setFlags(cpu: Arm64Cpu, nzcv: number): void {
  cpu.pstate = ((cpu.pstate & 0x0fff_ffff) | nzcv) >>> 0;
}

/** Data processing, immediate (C4.1.86): ADR/ADRP, ADD/SUB, logical, MOVx, bitfield, EXTR. */
export function executeDataImm(cpu: Arm64Cpu, insn: number): void {
  const rd = insn & 31;
  const rn = (insn >>> 5) & 31;
  const sf = insn >>> 31 === 1;
  const bits = sf ? 64 : 32;
  const mask = sf ? MASK64 : MASK32;
  switch ((insn >>> 23) & 7) {
    case 0:
    case 1: {
      // ADR / ADRP
      const imm = sextNum((((insn >>> 5) & 0x7ffff) << 2) | ((insn >>> 29) & 3), 21);
      const pc = cpu.pc;
      if (insn >>> 31 === 0) cpu.xw(rd, BigInt.asUintN(64, pc + BigInt(imm)));
      else cpu.xw(rd, BigInt.asUintN(64, (pc & ~0xfffn) + (BigInt(imm) << 12n)));
      return;
    }
    case 2: {
      // ADD/SUB (immediate)
      let imm = BigInt((insn >>> 10) & 0xfff);
      if ((insn >>> 22) & 1) imm <<= 12n;
      const sub = (insn >>> 30) & 1;
      const setf = (insn >>> 29) & 1;
      const a = cpu.xsp(rn) & mask;
      const [res, nzcv] = sub ? addWithCarry(a, ~imm & mask, 1n, bits) : addWithCarry(a, imm, 0n, bits);
      if (setf) {
        setFlags(cpu, nzcv);
        cpu.xw(rd, res);
      } else cpu.xspw(rd, res);
      return;
    }
    case 4: {
      // Logical (immediate)
      const n = (insn >>> 22) & 1;
      if (!sf && n) throw undefinedInstruction();
      const imm = decodeLogicalImm(n, (insn >>> 16) & 0x3f, (insn >>> 10) & 0x3f, bits);
      if (imm === null) throw undefinedInstruction();
      const a = cpu.xr(rn);
      let res: bigint;
      const opc = (insn >>> 29) & 3;
      if (opc === 0 || opc === 3) res = a & imm;
      else if (opc === 1) res = a | imm;
      else res = a ^ imm;
      res &= mask;
      if (opc === 3) {
        setFlags(cpu, logicFlags(res, bits));
        cpu.xw(rd, res);
      } else cpu.xspw(rd, res);
      return;
    }
    case 5: {
      // Move wide (immediate)
      const opc = (insn >>> 29) & 3;
      const hw = (insn >>> 21) & 3;
      if (opc === 1 || (!sf && hw >= 2)) throw undefinedInstruction();
      const shift = BigInt(hw * 16);
      const imm = BigInt((insn >>> 5) & 0xffff) << shift;
      if (opc === 0) cpu.xw(rd, ~imm & mask);
      else if (opc === 2) cpu.xw(rd, imm);
      else cpu.xw(rd, ((cpu.xr(rd) & ~(0xffffn << shift)) | imm) & mask);
      return;
    }
    case 6: {
      // Bitfield: SBFM, BFM, UBFM
      const opc = (insn >>> 29) & 3;
      const n = (insn >>> 22) & 1;
      const r = (insn >>> 16) & 0x3f;
      const s = (insn >>> 10) & 0x3f;
      if (opc === 3 || (sf ? n !== 1 : n !== 0 || r >= 32 || s >= 32)) throw undefinedInstruction();
      const src = cpu.xr(rn) & mask;
      let res: bigint;
      if (s >= r) {
        const width = s - r + 1;
        const field = (src >> BigInt(r)) & ones(width);
        if (opc === 0) res = sext(field, width) & mask;
        else if (opc === 2) res = field;
        else res = (cpu.xr(rd) & mask & ~ones(width)) | field;
      } else {
        const width = s + 1;
        const pos = BigInt(bits - r);
        const field = src & ones(width);
        if (opc === 0) res = (sext(field, width) << pos) & mask;
        else if (opc === 2) res = (field << pos) & mask;
        else res = (cpu.xr(rd) & mask & ~(ones(width) << pos)) | (field << pos);
      }
      cpu.xw(rd, res);
      return;
    }
    case 7: {
      // EXTR
      const n = (insn >>> 22) & 1;
      const o0 = (insn >>> 21) & 1;
      const lsb = (insn >>> 10) & 0x3f;
      if ((insn >>> 29) & 3 || o0 || n !== (sf ? 1 : 0) || (!sf && lsb >= 32)) throw undefinedInstruction();
      const hi = cpu.xr(rn) & mask;
      const lo = cpu.xr((insn >>> 16) & 31) & mask;
      cpu.xw(rd, (((hi << BigInt(bits)) | lo) >> BigInt(lsb)) & mask);
      return;
    }
    default:
      // 011: ADD/SUB with tags (MTE), not implemented.
      throw undefinedInstruction();
  }
}

function shiftReg(v: bigint, type: number, amount: number, bits: number, mask: bigint): bigint {
  if (amount === 0) return v;
  const a = BigInt(amount);
  switch (type) {
    case 0:
      return (v << a) & mask;
    case 1:
      return v >> a;
    case 2:
      return BigInt.asUintN(bits, BigInt.asIntN(bits, v) >> a);
    default:
      return ror(v, amount, bits);
  }
}

/** ExtendReg(): UXTB..SXTX then LSL #shift. */
function extendReg(v: bigint, option: number, shift: number): bigint {
  const len = 8 << (option & 3);
  let x = v & ones(len);
  if (option & 4) x = sext(x, len);
  return BigInt.asUintN(64, x << BigInt(shift));
}

/** Data processing, register (C4.1.88). */
export function executeDataReg(cpu: Arm64Cpu, insn: number): void {
  const rd = insn & 31;
  const rn = (insn >>> 5) & 31;
  const rm = (insn >>> 16) & 31;
  const sf = insn >>> 31 === 1;
  const bits = sf ? 64 : 32;
  const mask = sf ? MASK64 : MASK32;
  const op1 = (insn >>> 28) & 1;
  const op2 = (insn >>> 21) & 0xf;
  if (op1 === 0) {
    if ((op2 & 8) === 0) {
      // Logical (shifted register)
      const amount = (insn >>> 10) & 0x3f;
      if (!sf && amount >= 32) throw undefinedInstruction();
      let b = shiftReg(cpu.xr(rm) & mask, (insn >>> 22) & 3, amount, bits, mask);
      if ((insn >>> 21) & 1) b = ~b & mask;
      const a = cpu.xr(rn) & mask;
      const opc = (insn >>> 29) & 3;
      const res = opc === 0 || opc === 3 ? a & b : opc === 1 ? a | b : a ^ b;
      if (opc === 3) setFlags(cpu, logicFlags(res, bits));
      cpu.xw(rd, res);
      return;
    }
    const sub = (insn >>> 30) & 1;
    const setf = (insn >>> 29) & 1;
    let a: bigint;
    let b: bigint;
    if ((op2 & 1) === 0) {
      // ADD/SUB (shifted register)
      const type = (insn >>> 22) & 3;
      const amount = (insn >>> 10) & 0x3f;
      if (type === 3 || (!sf && amount >= 32)) throw undefinedInstruction();
      a = cpu.xr(rn) & mask;
      b = shiftReg(cpu.xr(rm) & mask, type, amount, bits, mask);
    } else {
      // ADD/SUB (extended register)
      const shift = (insn >>> 10) & 7;
      if ((insn >>> 22) & 3 || shift > 4) throw undefinedInstruction();
      a = cpu.xsp(rn) & mask;
      b = extendReg(cpu.xr(rm), (insn >>> 13) & 7, shift) & mask;
    }
    const [res, nzcv] = sub ? addWithCarry(a, ~b & mask, 1n, bits) : addWithCarry(a, b, 0n, bits);
    if (setf) setFlags(cpu, nzcv);
    if ((op2 & 1) === 1 && !setf) cpu.xspw(rd, res);
    else cpu.xw(rd, res);
    return;
  }
  if (op2 & 8) {
    dataProc3(cpu, insn, rd, rn, rm, sf);
    return;
  }
  switch (op2) {
    case 0: {
      // ADC/SBC(S)
      if ((insn >>> 10) & 0x3f) throw undefinedInstruction();
      const carry = BigInt((cpu.pstate >>> 29) & 1);
      let b = cpu.xr(rm) & mask;
      if ((insn >>> 30) & 1) b = ~b & mask;
      const [res, nzcv] = addWithCarry(cpu.xr(rn) & mask, b, carry, bits);
      if ((insn >>> 29) & 1) setFlags(cpu, nzcv);
      cpu.xw(rd, res);
      return;
    }
    case 2: {
      // CCMN/CCMP (register or immediate)
      if (((insn >>> 29) & 1) === 0 || (insn >>> 10) & 1 || (insn >>> 4) & 1) throw undefinedInstruction();
      if (conditionHolds((insn >>> 12) & 0xf, cpu.pstate)) {
        const a = cpu.xr(rn) & mask;
        const b = (insn >>> 11) & 1 ? BigInt(rm) : cpu.xr(rm) & mask;
        const [, nzcv] =
          (insn >>> 30) & 1 ? addWithCarry(a, ~b & mask, 1n, bits) : addWithCarry(a, b, 0n, bits);
        setFlags(cpu, nzcv);
      } else setFlags(cpu, (insn & 0xf) << 28);
      return;
    }
    case 4: {
      // CSEL, CSINC, CSINV, CSNEG
      const o2 = (insn >>> 10) & 3;
      if ((insn >>> 29) & 1 || o2 > 1) throw undefinedInstruction();
      let res: bigint;
      if (conditionHolds((insn >>> 12) & 0xf, cpu.pstate)) res = cpu.xr(rn) & mask;
      else {
        res = cpu.xr(rm) & mask;
        const inv = (insn >>> 30) & 1;
        if (inv) res = ~res & mask;
        if (o2) res = (res + 1n) & mask;
      }
      cpu.xw(rd, res);
      return;
    }
    case 6:
      if ((insn >>> 30) & 1) {
        dataProc1(cpu, insn, rd, rn, sf);
        return;
      }
      dataProc2(cpu, insn, rd, rn, rm, sf);
      return;
    default:
      throw undefinedInstruction();
  }
}

function dataProc1(cpu: Arm64Cpu, insn: number, rd: number, rn: number, sf: boolean): void {
  if ((insn >>> 16) & 31 || (insn >>> 29) & 1) throw undefinedInstruction();
  const opcode = (insn >>> 10) & 0x3f;
  const bits = sf ? 64 : 32;
  const v = cpu.xr(rn) & (sf ? MASK64 : MASK32);
  const reverseBytesIn = (container: number): bigint => {
    let res = 0n;
    const cbytes = container / 8;
    for (let c = 0; c < bits; c += container) {
      for (let i = 0; i < cbytes; i++) {
        const byte = (v >> BigInt(c + i * 8)) & 0xffn;
        res |= byte << BigInt(c + (cbytes - 1 - i) * 8);
      }
    }
    return res;
  };
  switch (opcode) {
    case 0: {
      // RBIT
      let res = 0n;
      for (let i = 0; i < bits; i++) if ((v >> BigInt(i)) & 1n) res |= 1n << BigInt(bits - 1 - i);
      cpu.xw(rd, res);
      return;
    }
    case 1:
      cpu.xw(rd, reverseBytesIn(16));
      return;
    case 2:
      cpu.xw(rd, reverseBytesIn(32));
      return;
    case 3:
      if (!sf) throw undefinedInstruction();
      cpu.xw(rd, reverseBytesIn(64));
      return;
    case 4: {
      // CLZ
      let n = 0;
      while (n < bits && ((v >> BigInt(bits - 1 - n)) & 1n) === 0n) n++;
      cpu.xw(rd, BigInt(n));
      return;
    }
    case 5: {
      // CLS
      const top = (v >> BigInt(bits - 1)) & 1n;
      let n = 0;
      while (n < bits - 1 && ((v >> BigInt(bits - 2 - n)) & 1n) === top) n++;
      cpu.xw(rd, BigInt(n));
      return;
    }
    default:
      throw undefinedInstruction();
  }
}

function dataProc2(cpu: Arm64Cpu, insn: number, rd: number, rn: number, rm: number, sf: boolean): void {
  if ((insn >>> 29) & 1) throw undefinedInstruction();
  const bits = sf ? 64 : 32;
  const mask = sf ? MASK64 : MASK32;
  const a = cpu.xr(rn) & mask;
  const b = cpu.xr(rm) & mask;
  const opcode = (insn >>> 10) & 0x3f;
  switch (opcode) {
    case 2:
      // UDIV: division by zero gives 0.
      cpu.xw(rd, b === 0n ? 0n : a / b);
      return;
    case 3: {
      // SDIV: rounds towards zero; INT_MIN / -1 wraps.
      const sa = BigInt.asIntN(bits, a);
      const sb = BigInt.asIntN(bits, b);
      cpu.xw(rd, sb === 0n ? 0n : BigInt.asUintN(bits, sa / sb));
      return;
    }
    case 8:
    case 9:
    case 10:
    case 11:
      // LSLV, LSRV, ASRV, RORV: the shift amount is Rm modulo the width.
      cpu.xw(rd, shiftReg(a, opcode - 8, Number(b % BigInt(bits)), bits, mask));
      return;
    default:
      if (opcode >= 16 && opcode <= 23) {
        // CRC32{B,H,W,X} and CRC32C*: the size field must match sf.
        const sz = opcode & 3;
        if ((sz === 3) !== sf) throw undefinedInstruction();
        const res = crc32(Number(cpu.xr(rn) & MASK32), cpu.xr(rm), 1 << sz, (opcode & 4) !== 0);
        cpu.xw(rd, BigInt(res));
        return;
      }
      throw undefinedInstruction();
  }
}

function dataProc3(cpu: Arm64Cpu, insn: number, rd: number, rn: number, rm: number, sf: boolean): void {
  const op54 = (insn >>> 29) & 3;
  const op31 = (insn >>> 21) & 7;
  const o0 = (insn >>> 15) & 1;
  const ra = (insn >>> 10) & 31;
  if (op54 !== 0) throw undefinedInstruction();
  const mask = sf ? MASK64 : MASK32;
  if (op31 === 0) {
    // MADD/MSUB
    const prod = (cpu.xr(rn) & mask) * (cpu.xr(rm) & mask);
    const acc = cpu.xr(ra) & mask;
    cpu.xw(rd, (o0 ? acc - prod : acc + prod) & mask);
    return;
  }
  if (!sf) throw undefinedInstruction();
  switch (op31) {
    case 1:
    case 5: {
      // SMADDL/SMSUBL, UMADDL/UMSUBL
      const signed = op31 === 1;
      const a = cpu.xr(rn) & MASK32;
      const b = cpu.xr(rm) & MASK32;
      const prod = signed ? BigInt.asIntN(32, a) * BigInt.asIntN(32, b) : a * b;
      const acc = cpu.xr(ra);
      cpu.xw(rd, BigInt.asUintN(64, o0 ? acc - prod : acc + prod));
      return;
    }
    case 2:
    case 6: {
      // SMULH/UMULH
      if (o0) throw undefinedInstruction();
      const a = cpu.xr(rn);
      const b = cpu.xr(rm);
      const prod = op31 === 2 ? BigInt.asIntN(64, a) * BigInt.asIntN(64, b) : a * b;
      cpu.xw(rd, BigInt.asUintN(64, prod >> 64n));
      return;
    }
    default:
      throw undefinedInstruction();
  }
}
