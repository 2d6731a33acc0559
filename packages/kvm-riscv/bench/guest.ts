// Tiny guest programs for the benchmarks, encoded with the shared test assembler (RV64I).
import { add, addi, bltu, jal, lui, sd, slli, sw } from '@tsvirt/test-utils/riscv-asm';

const jal0 = (imm: number) => jal(0, imm);

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
