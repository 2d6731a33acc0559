import * as C from './csr.ts';
import { amo } from './exec-a.ts';
import { fpMem, fpOp } from './exec-fd.ts';
import { csrKeepsChunk, system } from './exec-system.ts';
import type { Hart } from './hart.ts';
import { loadInt, storeInt } from './memory-access.ts';
import { TRAP } from './trap.ts';

// What compiled blocks call for the instructions they do not inline: the
// interpreter's own code for each, with an exception turned into a status
// (1; the trap is recorded in h.pending) so it never throws through a block.
// The block then returns BLOCK_TRAP at once, h.jitIndex naming the
// instruction. 0: the instruction was done. The block writes its register
// locals back before each call and reloads what the call may have written.

/** A compiled block's load slow path (a TLB miss, a misaligned or MMIO access): loadInt. */
export function blockLoad(
  h: Hart,
  lo: number,
  hi: number,
  f3: number,
  rd: number,
  insn: number,
  raw: number,
  len: number,
): number {
  try {
    return loadInt(h, lo, hi, f3, rd, insn, raw, len) ? 0 : 1;
  } catch (e) {
    if (e !== TRAP) throw e;
    return 1;
  }
}

/** A compiled block's store slow path: storeInt with an exception as status 1. */
export function blockStore(
  h: Hart,
  lo: number,
  hi: number,
  f3: number,
  r2: number,
  insn: number,
  raw: number,
  len: number,
): number {
  try {
    return storeInt(h, lo, hi, f3, r2, insn, raw, len) ? 0 : 1;
  } catch (e) {
    if (e !== TRAP) throw e;
    return 1;
  }
}

/** LR/SC and the AMOs (exec-a.ts). */
export function blockAmo(h: Hart, insn: number, raw: number, len: number): number {
  try {
    amo(h, insn, raw, len);
    return 0;
  } catch (e) {
    if (e !== TRAP) throw e;
    return 1;
  }
}

/** FLW/FLD/FSW/FSD (exec-fd.ts). */
export function blockFpMem(h: Hart, insn: number, raw: number, len: number): number {
  try {
    fpMem(h, insn, raw, len);
    return 0;
  } catch (e) {
    if (e !== TRAP) throw e;
    return 1;
  }
}

/** OP-FP and the fused multiply-adds (exec-fd.ts, src/fpu). */
export function blockFpOp(h: Hart, insn: number, raw: number): number {
  try {
    fpOp(h, insn, raw);
    return 0;
  } catch (e) {
    if (e !== TRAP) throw e;
    return 1;
  }
}

/**
 * A CSR instruction. `retired` is how many instructions of the chunk came
 * before it inside the block (h.inflight holds those before the block), so
 * cycle/instret read what the interpreter would. When the access may have
 * made an interrupt deliverable or changed the translation context, it sets
 * h.jitStop: the block ends after it (the compiler puts such writes last)
 * and the run loop ends the chunk, as after an interpreted one.
 */
export function blockCsr(
  h: Hart,
  insn: number,
  raw: number,
  pc: number,
  len: number,
  retired: number,
): number {
  const before = h.inflight;
  const set0 = h.set;
  const sie0 = (h.v === 1 ? h.vsstatus : h.mstatus) & C.SR_SIE;
  h.inflight = before + retired;
  try {
    h.pcNum = pc;
    system(h, insn, raw, len);
  } catch (e) {
    if (e !== TRAP) throw e;
    return 1;
  } finally {
    h.inflight = before;
  }
  if (h.set !== set0 || !csrKeepsChunk(h, insn, sie0)) h.jitStop = true;
  return 0;
}
