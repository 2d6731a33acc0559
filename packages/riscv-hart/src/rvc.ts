// RV64C: each 16-bit instruction expands to the 32-bit instruction it is
// defined as (the C extension's "expands to" column), built on first use;
// 0 marks a reserved or illegal encoding, which raises illegal-instruction.
// HINT encodings (e.g. c.nop with imm != 0, c.li x0) expand to their no-op
// 32-bit forms, as the spec makes them legal.

const bit = (v: number, b: number) => (v >>> b) & 1;
const bits = (v: number, hi: number, lo: number) => (v >>> lo) & ((1 << (hi - lo + 1)) - 1);
const sext = (v: number, width: number) => (v << (32 - width)) >> (32 - width);

const iType = (op: number, rd: number, f3: number, rs1: number, imm: number) =>
  ((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
const sType = (op: number, f3: number, rs1: number, rs2: number, imm: number) =>
  (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op;
const rType = (op: number, rd: number, f3: number, rs1: number, rs2: number, f7: number) =>
  (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
const bType = (f3: number, rs1: number, rs2: number, imm: number) =>
  (bit(imm, 12) << 31) |
  (bits(imm, 10, 5) << 25) |
  (rs2 << 20) |
  (rs1 << 15) |
  (f3 << 12) |
  (bits(imm, 4, 1) << 8) |
  (bit(imm, 11) << 7) |
  0x63;
const jType = (rd: number, imm: number) =>
  (bit(imm, 20) << 31) |
  (bits(imm, 10, 1) << 21) |
  (bit(imm, 11) << 20) |
  (bits(imm, 19, 12) << 12) |
  (rd << 7) |
  0x6f;

const OP_LOAD = 0x03;
const OP_LOAD_FP = 0x07;
const OP_IMM = 0x13;
const OP_IMM32 = 0x1b;
const OP_STORE = 0x23;
const OP_STORE_FP = 0x27;
const OP = 0x33;
const OP_LUI = 0x37;
const OP_32 = 0x3b;
const OP_JALR = 0x67;

/** Expand one 16-bit encoding; 0 when reserved/illegal. */
export function expandCompressed(c: number): number {
  const op = c & 3;
  const f3 = c >>> 13;
  const rdp = bits(c, 4, 2) + 8; // rd'/rs2'
  const rs1p = bits(c, 9, 7) + 8; // rs1'/rd'
  const rd = bits(c, 11, 7);
  const rs2 = bits(c, 6, 2);
  const imm6 = sext((bit(c, 12) << 5) | bits(c, 6, 2), 6);
  if (op === 0) {
    switch (f3) {
      case 0: {
        // c.addi4spn; all-zero is the defined illegal instruction.
        const imm = (bits(c, 12, 11) << 4) | (bits(c, 10, 7) << 6) | (bit(c, 6) << 2) | (bit(c, 5) << 3);
        return imm === 0 ? 0 : iType(OP_IMM, rdp, 0, 2, imm);
      }
      case 1: // c.fld
        return iType(OP_LOAD_FP, rdp, 3, rs1p, (bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6));
      case 2: // c.lw
        return iType(OP_LOAD, rdp, 2, rs1p, (bits(c, 12, 10) << 3) | (bit(c, 6) << 2) | (bit(c, 5) << 6));
      case 3: // c.ld
        return iType(OP_LOAD, rdp, 3, rs1p, (bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6));
      case 5: // c.fsd
        return sType(OP_STORE_FP, 3, rs1p, rdp, (bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6));
      case 6: // c.sw
        return sType(OP_STORE, 2, rs1p, rdp, (bits(c, 12, 10) << 3) | (bit(c, 6) << 2) | (bit(c, 5) << 6));
      case 7: // c.sd
        return sType(OP_STORE, 3, rs1p, rdp, (bits(c, 12, 10) << 3) | (bits(c, 6, 5) << 6));
      default:
        return 0; // 100: reserved
    }
  }
  if (op === 1) {
    switch (f3) {
      case 0: // c.addi / c.nop (HINTs included)
        return iType(OP_IMM, rd, 0, rd, imm6);
      case 1: // c.addiw; rd = 0 is reserved
        return rd === 0 ? 0 : iType(OP_IMM32, rd, 0, rd, imm6);
      case 2: // c.li
        return iType(OP_IMM, rd, 0, 0, imm6);
      case 3: {
        if (rd === 2) {
          // c.addi16sp
          const imm = sext(
            (bit(c, 12) << 9) | (bit(c, 6) << 4) | (bit(c, 5) << 6) | (bits(c, 4, 3) << 7) | (bit(c, 2) << 5),
            10,
          );
          return imm === 0 ? 0 : iType(OP_IMM, 2, 0, 2, imm);
        }
        // c.lui; nzimm = 0 is reserved
        if (imm6 === 0) return 0;
        return ((imm6 << 12) & 0xfffff000) | (rd << 7) | OP_LUI;
      }
      case 4: {
        const sub = bits(c, 11, 10);
        const shamt = (bit(c, 12) << 5) | bits(c, 6, 2);
        if (sub === 0) return iType(OP_IMM, rs1p, 5, rs1p, shamt); // c.srli
        if (sub === 1) return iType(OP_IMM, rs1p, 5, rs1p, 0x400 | shamt); // c.srai
        if (sub === 2) return iType(OP_IMM, rs1p, 7, rs1p, imm6); // c.andi
        const fn = bits(c, 6, 5);
        if (bit(c, 12) === 0) {
          if (fn === 0) return rType(OP, rs1p, 0, rs1p, rdp, 0x20); // c.sub
          if (fn === 1) return rType(OP, rs1p, 4, rs1p, rdp, 0); // c.xor
          if (fn === 2) return rType(OP, rs1p, 6, rs1p, rdp, 0); // c.or
          return rType(OP, rs1p, 7, rs1p, rdp, 0); // c.and
        }
        if (fn === 0) return rType(OP_32, rs1p, 0, rs1p, rdp, 0x20); // c.subw
        if (fn === 1) return rType(OP_32, rs1p, 0, rs1p, rdp, 0); // c.addw
        return 0;
      }
      case 5: {
        const imm = sext(
          (bit(c, 12) << 11) |
            (bit(c, 11) << 4) |
            (bits(c, 10, 9) << 8) |
            (bit(c, 8) << 10) |
            (bit(c, 7) << 6) |
            (bit(c, 6) << 7) |
            (bits(c, 5, 3) << 1) |
            (bit(c, 2) << 5),
          12,
        );
        return jType(0, imm); // c.j
      }
      default: {
        const imm = sext(
          (bit(c, 12) << 8) |
            (bits(c, 11, 10) << 3) |
            (bits(c, 6, 5) << 6) |
            (bits(c, 4, 3) << 1) |
            (bit(c, 2) << 5),
          9,
        );
        return bType(f3 === 6 ? 0 : 1, rs1p, 0, imm); // c.beqz / c.bnez
      }
    }
  }
  if (op === 2) {
    switch (f3) {
      case 0: // c.slli
        return iType(OP_IMM, rd, 1, rd, (bit(c, 12) << 5) | bits(c, 6, 2));
      case 1: // c.fldsp
        return iType(OP_LOAD_FP, rd, 3, 2, (bit(c, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6));
      case 2: // c.lwsp; rd = 0 reserved
        return rd === 0
          ? 0
          : iType(OP_LOAD, rd, 2, 2, (bit(c, 12) << 5) | (bits(c, 6, 4) << 2) | (bits(c, 3, 2) << 6));
      case 3: // c.ldsp; rd = 0 reserved
        return rd === 0
          ? 0
          : iType(OP_LOAD, rd, 3, 2, (bit(c, 12) << 5) | (bits(c, 6, 5) << 3) | (bits(c, 4, 2) << 6));
      case 4:
        if (bit(c, 12) === 0) {
          if (rs2 === 0) return rd === 0 ? 0 : iType(OP_JALR, 0, 0, rd, 0); // c.jr
          return rType(OP, rd, 0, 0, rs2, 0); // c.mv
        }
        if (rs2 === 0) {
          if (rd === 0) return 0x00100073; // c.ebreak
          return iType(OP_JALR, 1, 0, rd, 0); // c.jalr
        }
        return rType(OP, rd, 0, rd, rs2, 0); // c.add
      case 5: // c.fsdsp
        return sType(OP_STORE_FP, 3, 2, rs2, (bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6));
      case 6: // c.swsp
        return sType(OP_STORE, 2, 2, rs2, (bits(c, 12, 9) << 2) | (bits(c, 8, 7) << 6));
      default: // c.sdsp
        return sType(OP_STORE, 3, 2, rs2, (bits(c, 12, 10) << 3) | (bits(c, 9, 7) << 6));
    }
  }
  return 0;
}

/**
 * Expansions by 16-bit encoding, filled on first use by rvcExpand(): 0 is an
 * encoding not expanded yet (or reserved). Building all 49152 at module load
 * was about an eighth of the VMM's start; a guest uses a few thousand. The
 * interpreter reads the table inline and calls rvcExpand() only on a 0.
 */
export const RVC_TABLE: Int32Array = new Int32Array(65536);

/** The 32-bit expansion of `c` (0 for reserved/illegal), remembered in RVC_TABLE. */
export function rvcExpand(c: number): number {
  const hit = RVC_TABLE[c]!;
  if (hit !== 0) return hit;
  const x = (c & 3) === 3 ? 0 : expandCompressed(c);
  RVC_TABLE[c] = x;
  return x;
}

/**
 * The instruction at byte `at` of a code page's halfwords, as the block
 * compilers read it (the interpreter has the same inline): its 32-bit form
 * (a compressed one expanded), the bits as fetched, and its length; undefined
 * for a reserved compressed encoding.
 */
export function decodeAt(
  u16: Uint16Array,
  at: number,
  rvc: Int32Array,
): { insn: number; raw: number; len: number } | undefined {
  const raw = u16[at >>> 1]!;
  if ((raw & 3) === 3) {
    const w = raw | (u16[(at >>> 1) + 1]! << 16);
    return { insn: w, raw: w, len: 4 };
  }
  let insn = rvc[raw]!;
  if (insn === 0) {
    insn = rvcExpand(raw);
    if (insn === 0) return undefined;
  }
  return { insn, raw, len: 2 };
}
