// Tiny guest programs for the benchmarks, encoded by hand (RV64I).
const i = (imm: number, rs1: number, f3: number, rd: number, op: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const s = (imm: number, rs2: number, rs1: number, f3: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23) >>> 0;
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
const lui = (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0;
const addi = (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x13);
const slli = (rd: number, rs1: number, sh: number) => i(sh, rs1, 1, rd, 0x13);
const add = (rd: number, rs1: number, rs2: number) => ((rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x33) >>> 0;
const sd = (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 3);
const sw = (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 2);
const bltu = (rs1: number, rs2: number, imm: number) => b(imm, rs2, rs1, 6);
const jal0 = (imm: number) =>
  ((((imm >> 20) & 1) << 31) |
    (((imm >> 1) & 0x3ff) << 21) |
    (((imm >> 11) & 1) << 20) |
    (((imm >> 12) & 0xff) << 12) |
    0x6f) >>>
  0;

const T0 = 5;
const T1 = 6;
const T2 = 7;
const T3 = 28;
const A0 = 10;

/** reg = value << shift, for a value below 2048 (keeps the encodings short). */
const shifted = (rd: number, v: number, shift: number) => [addi(rd, 0, v), slli(rd, rd, shift)];

/**
 * Forever: store to every `stride` bytes of [base, base + size), then a
 * 4-byte MMIO store to 0x1000_0000 (one exit per pass). base and size are
 * multiples of 2^20 below 2^31 * 2^20.
 */
export function writeLoop(baseMiB: number, sizeMiB: number, stride: number): number[] {
  return [
    lui(T2, 0x10000), // t2 = MMIO
    ...shifted(T3, stride >> 6, 6), // t3 = stride (a multiple of 64)
    // outer: t0 = base, t1 = base + size
    ...shifted(T0, baseMiB >> 4, 24),
    ...shifted(T1, (baseMiB + sizeMiB) >> 4, 24),
    sd(A0, T0, 0), // inner
    add(T0, T0, T3),
    bltu(T0, T1, -8),
    sw(A0, T2, 0),
    jal0(-32), // back to the outer loop
  ];
}

/** Forever: a 4-byte store to MMIO 0x1000_0000 (one exit each). */
export function mmioLoop(): number[] {
  return [lui(T2, 0x10000), sw(A0, T2, 0), jal0(-4)];
}
