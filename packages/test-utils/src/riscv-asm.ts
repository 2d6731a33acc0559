// A tiny RV64 encoder for the tests: just the forms they use.
const r = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const i = (imm: number, rs1: number, f3: number, rd: number, op: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const s = (imm: number, rs2: number, rs1: number, f3: number, op: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op) >>> 0;
const b = (imm: number, rs2: number, rs1: number, f3: number) =>
  ((((imm >> 12) & 1) << 31) |
    (((imm >> 5) & 0x3f) << 25) |
    (rs2 << 20) |
    (rs1 << 15) |
    (f3 << 12) |
    (((imm >> 1) & 0xf) << 8) |
    (((imm >> 11) & 1) << 7) |
    0x63) >>>
  0;

export const lui = (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0;
export const auipc = (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x17) >>> 0;
export const jal = (rd: number, imm: number) =>
  ((((imm >> 20) & 1) << 31) |
    (((imm >> 1) & 0x3ff) << 21) |
    (((imm >> 11) & 1) << 20) |
    (((imm >> 12) & 0xff) << 12) |
    (rd << 7) |
    0x6f) >>>
  0;
export const jalr = (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x67);
export const beq = (rs1: number, rs2: number, imm: number) => b(imm, rs2, rs1, 0);
export const bne = (rs1: number, rs2: number, imm: number) => b(imm, rs2, rs1, 1);
export const blt = (rs1: number, rs2: number, imm: number) => b(imm, rs2, rs1, 4);
export const bge = (rs1: number, rs2: number, imm: number) => b(imm, rs2, rs1, 5);
export const bltu = (rs1: number, rs2: number, imm: number) => b(imm, rs2, rs1, 6);
export const bgeu = (rs1: number, rs2: number, imm: number) => b(imm, rs2, rs1, 7);

export const lb = (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x03);
export const lh = (rd: number, rs1: number, imm: number) => i(imm, rs1, 1, rd, 0x03);
export const lw = (rd: number, rs1: number, imm: number) => i(imm, rs1, 2, rd, 0x03);
export const ld = (rd: number, rs1: number, imm: number) => i(imm, rs1, 3, rd, 0x03);
export const lbu = (rd: number, rs1: number, imm: number) => i(imm, rs1, 4, rd, 0x03);
export const lhu = (rd: number, rs1: number, imm: number) => i(imm, rs1, 5, rd, 0x03);
export const lwu = (rd: number, rs1: number, imm: number) => i(imm, rs1, 6, rd, 0x03);
export const sb = (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 0, 0x23);
export const sh = (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 1, 0x23);
export const sw = (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 2, 0x23);
export const sd = (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 3, 0x23);
export const flw = (rd: number, rs1: number, imm: number) => i(imm, rs1, 2, rd, 0x07);
export const fld = (rd: number, rs1: number, imm: number) => i(imm, rs1, 3, rd, 0x07);
export const fsw = (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 2, 0x27);
export const fsd = (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 3, 0x27);

export const addi = (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x13);
export const slti = (rd: number, rs1: number, imm: number) => i(imm, rs1, 2, rd, 0x13);
export const sltiu = (rd: number, rs1: number, imm: number) => i(imm, rs1, 3, rd, 0x13);
export const xori = (rd: number, rs1: number, imm: number) => i(imm, rs1, 4, rd, 0x13);
export const ori = (rd: number, rs1: number, imm: number) => i(imm, rs1, 6, rd, 0x13);
export const andi = (rd: number, rs1: number, imm: number) => i(imm, rs1, 7, rd, 0x13);
export const slli = (rd: number, rs1: number, sh: number) => i(sh, rs1, 1, rd, 0x13);
export const srli = (rd: number, rs1: number, sh: number) => i(sh, rs1, 5, rd, 0x13);
export const srai = (rd: number, rs1: number, sh: number) => i(0x400 | sh, rs1, 5, rd, 0x13);
export const addiw = (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x1b);
export const slliw = (rd: number, rs1: number, sh: number) => i(sh, rs1, 1, rd, 0x1b);
export const srliw = (rd: number, rs1: number, sh: number) => i(sh, rs1, 5, rd, 0x1b);
export const sraiw = (rd: number, rs1: number, sh: number) => i(0x400 | sh, rs1, 5, rd, 0x1b);

const op = (f7: number, f3: number) => (rd: number, rs1: number, rs2: number) =>
  r(f7, rs2, rs1, f3, rd, 0x33);
const op32 = (f7: number, f3: number) => (rd: number, rs1: number, rs2: number) =>
  r(f7, rs2, rs1, f3, rd, 0x3b);
export const add = op(0, 0);
export const sub = op(0x20, 0);
export const sll = op(0, 1);
export const slt = op(0, 2);
export const sltu = op(0, 3);
export const xor = op(0, 4);
export const srl = op(0, 5);
export const sra = op(0x20, 5);
export const or = op(0, 6);
export const and = op(0, 7);
export const mul = op(1, 0);
export const mulh = op(1, 1);
export const mulhsu = op(1, 2);
export const mulhu = op(1, 3);
export const div = op(1, 4);
export const divu = op(1, 5);
export const rem = op(1, 6);
export const remu = op(1, 7);
export const addw = op32(0, 0);
export const subw = op32(0x20, 0);
export const sllw = op32(0, 1);
export const srlw = op32(0, 5);
export const sraw = op32(0x20, 5);
export const mulw = op32(1, 0);
export const divw = op32(1, 4);
export const divuw = op32(1, 5);
export const remw = op32(1, 6);
export const remuw = op32(1, 7);

const amo = (f5: number, f3: number) => (rd: number, rs1: number, rs2: number) =>
  r(f5 << 2, rs2, rs1, f3, rd, 0x2f);
export const lrW = (rd: number, rs1: number) => amo(2, 2)(rd, rs1, 0);
export const lrD = (rd: number, rs1: number) => amo(2, 3)(rd, rs1, 0);
export const scW = amo(3, 2);
export const scD = amo(3, 3);
export const amoswapW = amo(1, 2);
export const amoaddW = amo(0, 2);
export const amoaddD = amo(0, 3);
export const amoxorD = amo(4, 3);
export const amoandD = amo(0xc, 3);
export const amoorD = amo(8, 3);
export const amominD = amo(0x10, 3);
export const amomaxD = amo(0x14, 3);
export const amominuD = amo(0x18, 3);
export const amomaxuD = amo(0x1c, 3);
export const amominW = amo(0x10, 2);
export const amomaxuW = amo(0x1c, 2);

export const csrrw = (rd: number, csr: number, rs1: number) => i(csr, rs1, 1, rd, 0x73);
export const csrrs = (rd: number, csr: number, rs1: number) => i(csr, rs1, 2, rd, 0x73);
export const csrrc = (rd: number, csr: number, rs1: number) => i(csr, rs1, 3, rd, 0x73);
export const csrrwi = (rd: number, csr: number, uimm: number) => i(csr, uimm, 5, rd, 0x73);
export const csrrsi = (rd: number, csr: number, uimm: number) => i(csr, uimm, 6, rd, 0x73);
export const csrrci = (rd: number, csr: number, uimm: number) => i(csr, uimm, 7, rd, 0x73);
export const ECALL = 0x00000073;
export const EBREAK = 0x00100073;
export const SRET = 0x10200073;
export const MRET = 0x30200073;
export const WFI = 0x10500073;
export const FENCE = 0x0ff0000f;
export const FENCE_I = 0x0000100f;
export const sfenceVma = (rs1: number, rs2: number) => r(0x09, rs2, rs1, 0, 0, 0x73);
export const hfenceVvma = (rs1: number, rs2: number) => r(0x11, rs2, rs1, 0, 0, 0x73);
export const hfenceGvma = (rs1: number, rs2: number) => r(0x31, rs2, rs1, 0, 0, 0x73);

/** li for any 64-bit value: a sequence of lui/addiw/slli/addi (like the assembler's). */
export function li(rd: number, value: bigint): number[] {
  const v = BigInt.asIntN(64, value);
  if (v >= -2048n && v < 2048n) return [addi(rd, 0, Number(v))];
  if (v >= -(2n ** 31n) && v < 2n ** 31n) {
    const n = Number(v);
    const lo12 = (n << 20) >> 20;
    const hi20 = ((n - lo12) >> 12) & 0xfffff;
    const out = [lui(rd, hi20)];
    if (lo12 !== 0) out.push(addiw(rd, rd, lo12));
    return out;
  }
  const lo12 = Number(BigInt.asIntN(12, v));
  const rest = (v - BigInt(lo12)) >> 12n;
  // Shift out trailing zeros to keep the upper part small.
  let shift = 12;
  let upper = rest;
  while ((upper & 1n) === 0n && upper !== 0n) {
    upper >>= 1n;
    shift++;
  }
  const out = li(rd, upper);
  out.push(slli(rd, rd, shift));
  if (lo12 !== 0) out.push(addi(rd, rd, lo12));
  return out;
}
