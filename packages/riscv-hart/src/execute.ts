import * as C from './csr.ts';
import { illegal, record, takeTrap } from './exceptions.ts';
import { amo } from './exec-a.ts';
import { fpMem, fpOp } from './exec-fd.ts';
import { csrKeepsChunk, system } from './exec-system.ts';
import type { Hart } from './hart.ts';
import { BLOCK_TRAP, FRONT_MASK, HEAD_HOT, HEAD_SLOTS, JIT_LIB, type JitBlock, sameCode } from './jit.ts';
import {
  CHAIN_MASK,
  WASM_CHAIN,
  WASM_END,
  WASM_PENDING,
  WASM_RESV,
  WASM_RETIRED,
  WASM_RW,
  WASM_STOP,
  WASM_TRAP,
  WASM_WW,
  WASM_XW,
} from './jit-wasm.ts';
import { fetchSlow, loadInt, storeInt } from './memory-access.ts';
import { divw, mulDiv } from './muldiv.ts';
import { RVC_TABLE, rvcExpand } from './rvc.ts';
import { ACC_EXEC, ACC_READ, ACC_WRITE, TLB_MASK } from './tlb.ts';
import { TRAP } from './trap.ts';

// The interpreter's loop: fetch (through the cached fetch page), decode
// (compressed forms expand through RVC_TABLE to their 32-bit equivalents) and
// execute up to n instructions. The base integer ISA (RV64I) and loads and
// stores with their inline TLB fast path run here; M goes to muldiv.ts, A to
// exec-a.ts, F/D to exec-fd.ts, SYSTEM (CSRs, privileged, H loads/stores) to
// exec-system.ts. A hot block head runs its compiled block (jit.ts) instead.
// An exception anywhere is the TRAP throw, caught here and taken by takeTrap.

const TWO32 = 4294967296;
/** Zihintpause `pause`: FENCE with pred = W, succ = 0, fm = 0, rs1 = rd = x0. */
export const PAUSE = 0x0100000f;

/**
 * The block at h.pcNum from the block map, on a miss in the front table
 * (hart.ts frontPc), compiled if it is absent or its bytes now come from
 * elsewhere; the front table then holds it. Out of exec() so that pc is
 * boxed for the Map only here: a boxing in exec() would be hoisted by V8 to
 * the top of its loop and allocate a HeapNumber per instruction.
 */
function findBlock(h: Hart, u16: Uint16Array, hoff: number, off: number, hx: number): JitBlock | null {
  const pc = h.pcNum;
  let b = h.blocks.get(pc);
  if (
    b === undefined ||
    (b !== null && (b.u16 !== u16 || b.hoff !== hoff || (b.epoch !== h.codeEpoch && !sameCode(b))))
  ) {
    b = h.compileAt(pc, u16, hoff, off);
    h.heat[hx] = HEAD_HOT;
  } else if (b !== null) b.epoch = h.codeEpoch;
  const fx = hx & FRONT_MASK;
  h.frontPc[fx] = pc;
  h.frontBlock[fx] = b;
  return b;
}

/** Run up to n instructions from h.pcNum; returns the number retired. */
export function exec(h: Hart, n: number): number {
  const x = h.x32;
  const set = h.set;
  const rw = set.ways[ACC_READ];
  const ww = set.ways[ACC_WRITE];
  const rTagLo = rw.tagLo;
  const rTagHi = rw.tagHi;
  const rBase = rw.base;
  const rMem = rw.mem;
  const wTagLo = ww.tagLo;
  const wTagHi = ww.tagHi;
  const wBase = ww.base;
  const wMem = ww.mem;
  const wHpa = ww.hpa;
  const resv = h.reservations;
  const rvc = RVC_TABLE;
  let fPage = h.fPage;
  let fU16 = h.fU16;
  let fBase = h.fBase;
  let fWasm = h.fWasm;
  let pc = h.pcNum;
  let i = 0;
  const jit = h.jit;
  const wasm = h.wasmTier !== undefined;
  if (wasm) {
    // The ways wasm blocks use: the translation context, fixed for this exec()
    // (a change of it ends the chunk).
    const c = h.wasmCtl;
    c[WASM_RW >>> 2] = rw.addr;
    c[WASM_WW >>> 2] = ww.addr;
    c[WASM_XW >>> 2] = set.ways[ACC_EXEC].addr;
  }
  // Imported constants, as locals: optimized code reads a module binding
  // from its context, with a Smi check, at every use inside the loop.
  const tlbMask = TLB_MASK;
  const headMask = HEAD_SLOTS - 1;
  const frontMask = FRONT_MASK;
  const heat = h.heat;
  const frontPc = h.frontPc;
  const frontBlock = h.frontBlock;
  /** A head is compiled on its threshold-th visit. */
  const threshold = h.jitThreshold - 1;
  /** pc is a block head: the chunk's start, or where a branch, jump or block went. */
  let head = true;
  /** A compiled block reported an exception (BLOCK_TRAP): take it after the loop. */
  let trapped = false;
  try {
    loop: while (i < n) {
      let raw: number;
      let off = pc - fPage;
      if (head && wasm && !(off >= 0 && off < 4094)) {
        // A head on another page (where a chain of wasm blocks returned, or
        // after a jump): translate its page first, so the head is counted and
        // its block found. A fault here is the one its fetch would take.
        // (JavaScript blocks leave such heads uncounted: their threshold was
        // tuned that way, and counting them compiles more slow blocks.)
        h.pcNum = pc;
        fetchSlow(h);
        fPage = h.fPage;
        fU16 = h.fU16;
        fBase = h.fBase;
        fWasm = h.fWasm;
        off = pc - fPage;
      }
      if (head && jit && off >= 0 && off < 4094) {
        head = false;
        const hx = (pc >>> 1) & headMask;
        const hv = heat[hx]!;
        let b: JitBlock | null | undefined;
        if (hv >= threshold) {
          // The front table first: a hit compares pc as a double, where a
          // Map lookup would box it (a HeapNumber per hot head visit).
          const fx = hx & frontMask;
          b = frontPc[fx] === pc ? frontBlock[fx] : undefined;
          if (
            b === undefined ||
            (b !== null &&
              (b.u16 !== fU16 || b.hoff !== fBase + off || (b.epoch !== h.codeEpoch && !sameCode(b))))
          ) {
            h.pcNum = pc;
            b = findBlock(h, fU16, fBase + off, off, hx);
          } else if (b !== null) b.epoch = h.codeEpoch;
        } else heat[hx] = hv + 1;
        if (b != null && i + b.n <= n && b.wasm !== WASM_PENDING) {
          if (b.wasm >= 0) {
            // A wasm block, checked above for this epoch and fetch location: the
            // chain table may now lead the dispatcher here without us.
            const c = h.wasmCtl;
            if (fWasm) {
              const e = (WASM_CHAIN >>> 2) + (((pc >>> 1) & CHAIN_MASK) << 2);
              c[e] = pc | 0;
              c[e + 1] = Math.floor(pc / TWO32) | 0;
              c[e + 2] = fBase + off;
              c[e + 3] = b.wasm * 512 + b.n;
            }
            c[WASM_RESV >>> 2] = resv.active;
            h.inflight = i; // for a CSR read of instret inside the blocks
            const st = h.wasmTier!.enter(h.wasmRegs, b.wasm, n - i, h);
            i += c[WASM_RETIRED >>> 2]!;
            pc = h.wasmPc[0]!;
            // Stopped before an instruction (a TLB miss, a misaligned access, a
            // store with reservations held): the interpreter runs it.
            if (st === WASM_STOP) continue;
            if (st === WASM_TRAP) {
              trapped = true;
              break;
            }
            head = true;
            if (st === WASM_END) {
              // A CSR write that may have enabled an interrupt or changed the context.
              h.jitStop = false;
              break;
            }
            continue;
          }
          h.inflight = i; // for a CSR read of instret inside the block
          // The block leaves its next pc in h.pcNum (a double field, stored in
          // place): a pc returned would be boxed on every block call.
          if (
            b.fn(
              x,
              rTagLo,
              rTagHi,
              rBase,
              rMem,
              wTagLo,
              wTagHi,
              wBase,
              wMem,
              wHpa,
              resv,
              h,
              JIT_LIB,
              n - i,
            ) === BLOCK_TRAP
          ) {
            // An exception inside the block: its earlier instructions retired.
            pc = b.pcs[h.jitIndex]!;
            i += (b.loop ? b.n * h.jitLoops : 0) + h.jitIndex;
            trapped = true;
            break;
          }
          pc = h.pcNum;
          i += b.loop ? b.n * h.jitLoops : b.n;
          head = true;
          if (h.jitStop) {
            // The block ended with a CSR write that may have enabled an interrupt or changed the context.
            h.jitStop = false;
            break;
          }
          continue;
        }
      }
      if (off >= 0 && off < 4094) {
        const h = (fBase + off) >>> 1;
        raw = fU16[h]!;
        if ((raw & 3) === 3) raw |= fU16[h + 1]! << 16;
      } else {
        h.pcNum = pc;
        raw = fetchSlow(h) | 0;
        fPage = h.fPage;
        fU16 = h.fU16;
        fBase = h.fBase;
        fWasm = h.fWasm;
      }
      let insn = raw;
      let len = 4;
      if ((raw & 3) !== 3) {
        insn = rvc[raw]!;
        len = 2;
        if (insn === 0) {
          // Not expanded yet (the table fills on first use), or reserved.
          insn = rvcExpand(raw) | 0;
          if (insn === 0) illegal(h, raw);
        }
      }
      let npc = pc + len;
      const rd = (insn >> 7) & 31;
      // raw, insn, lo and hi only ever hold int32s (`| 0` on a call's result
      // or an unsigned `>>>`): one other input made V8 tag them, or keep
      // them as doubles, and convert at every use (README, eighth round).
      let lo = 0;
      let hi = 0;
      switch (insn & 0x7f) {
        case 0x13: {
          // OP-IMM
          const r1 = (insn >> 14) & 62;
          const imm = insn >> 20;
          const alo = x[r1]!;
          const ahi = x[r1 + 1]!;
          switch ((insn >> 12) & 7) {
            case 0:
              lo = (alo + imm) | 0;
              hi = (ahi + (imm >> 31) + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
              break;
            case 1: {
              if (insn >>> 26 !== 0) illegal(h, raw);
              const sh = imm & 63;
              if (sh === 0) {
                lo = alo;
                hi = ahi;
              } else if (sh < 32) {
                hi = (ahi << sh) | (alo >>> (32 - sh));
                lo = alo << sh;
              } else {
                hi = alo << (sh - 32);
                lo = 0;
              }
              break;
            }
            case 2: {
              const ih = imm >> 31;
              lo = ahi < ih || (ahi === ih && alo >>> 0 < imm >>> 0) ? 1 : 0;
              break;
            }
            case 3: {
              const ih = imm >> 31;
              lo = ahi >>> 0 < ih >>> 0 || (ahi === ih && alo >>> 0 < imm >>> 0) ? 1 : 0;
              break;
            }
            case 4:
              lo = alo ^ imm;
              hi = ahi ^ (imm >> 31);
              break;
            case 5: {
              const top = insn >>> 26;
              const sh = imm & 63;
              if (top !== 0 && top !== 0x10) illegal(h, raw);
              if (sh === 0) {
                lo = alo;
                hi = ahi;
              } else if (sh < 32) {
                lo = (alo >>> sh) | (ahi << (32 - sh));
                hi = (top === 0 ? ahi >>> sh : ahi >> sh) | 0;
              } else {
                lo = (top === 0 ? ahi >>> (sh - 32) : ahi >> (sh - 32)) | 0;
                hi = top === 0 ? 0 : ahi >> 31;
              }
              break;
            }
            case 6:
              lo = alo | imm;
              hi = ahi | (imm >> 31);
              break;
            default:
              lo = alo & imm;
              hi = ahi & (imm >> 31);
              break;
          }
          break;
        }
        case 0x33: {
          // OP
          const r1 = (insn >> 14) & 62;
          const r2 = (insn >> 19) & 62;
          const alo = x[r1]!;
          const ahi = x[r1 + 1]!;
          const blo = x[r2]!;
          const bhi = x[r2 + 1]!;
          const f7 = insn >>> 25;
          const f3 = (insn >> 12) & 7;
          if (f7 === 0) {
            switch (f3) {
              case 0:
                lo = (alo + blo) | 0;
                hi = (ahi + bhi + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
                break;
              case 1: {
                const sh = blo & 63;
                if (sh === 0) {
                  lo = alo;
                  hi = ahi;
                } else if (sh < 32) {
                  hi = (ahi << sh) | (alo >>> (32 - sh));
                  lo = alo << sh;
                } else {
                  hi = alo << (sh - 32);
                  lo = 0;
                }
                break;
              }
              case 2:
                lo = ahi < bhi || (ahi === bhi && alo >>> 0 < blo >>> 0) ? 1 : 0;
                break;
              case 3:
                lo = ahi >>> 0 < bhi >>> 0 || (ahi === bhi && alo >>> 0 < blo >>> 0) ? 1 : 0;
                break;
              case 4:
                lo = alo ^ blo;
                hi = ahi ^ bhi;
                break;
              case 5: {
                const sh = blo & 63;
                if (sh === 0) {
                  lo = alo;
                  hi = ahi;
                } else if (sh < 32) {
                  lo = (alo >>> sh) | (ahi << (32 - sh));
                  hi = (ahi >>> sh) | 0;
                } else {
                  lo = (ahi >>> (sh - 32)) | 0;
                  hi = 0;
                }
                break;
              }
              case 6:
                lo = alo | blo;
                hi = ahi | bhi;
                break;
              default:
                lo = alo & blo;
                hi = ahi & bhi;
                break;
            }
          } else if (f7 === 0x20) {
            if (f3 === 0) {
              lo = (alo - blo) | 0;
              hi = (ahi - bhi - (alo >>> 0 < blo >>> 0 ? 1 : 0)) | 0;
            } else if (f3 === 5) {
              const sh = blo & 63;
              if (sh === 0) {
                lo = alo;
                hi = ahi;
              } else if (sh < 32) {
                lo = (alo >>> sh) | (ahi << (32 - sh));
                hi = ahi >> sh;
              } else {
                lo = ahi >> (sh - 32);
                hi = ahi >> 31;
              }
            } else illegal(h, raw);
          } else if (f7 === 1) {
            const t = h.tmp;
            mulDiv(f3, alo, ahi, blo, bhi, t);
            lo = t[0]!;
            hi = t[1]!;
          } else illegal(h, raw);
          break;
        }
        case 0x1b: {
          // OP-IMM-32
          const alo = x[(insn >> 14) & 62]!;
          const f3 = (insn >> 12) & 7;
          const sh = (insn >> 20) & 31;
          const top = insn >>> 25;
          if (f3 === 0) lo = (alo + (insn >> 20)) | 0;
          else if (f3 === 1 && top === 0) lo = alo << sh;
          else if (f3 === 5 && top === 0) lo = (alo >>> sh) | 0;
          else if (f3 === 5 && top === 0x20) lo = alo >> sh;
          else illegal(h, raw);
          hi = lo >> 31;
          break;
        }
        case 0x3b: {
          // OP-32
          const alo = x[(insn >> 14) & 62]!;
          const blo = x[(insn >> 19) & 62]!;
          const f3 = (insn >> 12) & 7;
          const f7 = insn >>> 25;
          if (f7 === 0 && f3 === 0) lo = (alo + blo) | 0;
          else if (f7 === 0 && f3 === 1) lo = alo << (blo & 31);
          else if (f7 === 0 && f3 === 5) lo = (alo >>> (blo & 31)) | 0;
          else if (f7 === 0x20 && f3 === 0) lo = (alo - blo) | 0;
          else if (f7 === 0x20 && f3 === 5) lo = alo >> (blo & 31);
          else if (f7 === 1 && f3 === 0) lo = Math.imul(alo, blo);
          else if (f7 === 1 && f3 >= 4) lo = divw(alo, blo, f3) | 0;
          else illegal(h, raw);
          hi = lo >> 31;
          break;
        }
        case 0x37:
          lo = insn & 0xfffff000;
          hi = lo >> 31;
          break;
        case 0x17: {
          const t = pc + (insn & 0xfffff000);
          lo = t | 0;
          hi = Math.floor(t / TWO32) | 0;
          break;
        }
        case 0x6f: {
          head = true;
          const imm =
            ((insn >> 31) << 20) |
            (((insn >>> 12) & 0xff) << 12) |
            (((insn >>> 20) & 1) << 11) |
            (((insn >>> 21) & 0x3ff) << 1);
          lo = npc | 0;
          hi = Math.floor(npc / TWO32) | 0;
          npc = pc + imm;
          break;
        }
        case 0x67: {
          head = true;
          if ((insn & 0x7000) !== 0) illegal(h, raw);
          const r1 = (insn >> 14) & 62;
          const imm = insn >> 20;
          const alo = x[r1]!;
          const tlo = (alo + imm) | 0;
          const thi = (x[r1 + 1]! + (imm >> 31) + (tlo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
          lo = npc | 0;
          hi = Math.floor(npc / TWO32) | 0;
          npc = thi * TWO32 + ((tlo & ~1) >>> 0);
          break;
        }
        case 0x63: {
          head = true;
          const r1 = (insn >> 14) & 62;
          const r2 = (insn >> 19) & 62;
          const alo = x[r1]!;
          const ahi = x[r1 + 1]!;
          const blo = x[r2]!;
          const bhi = x[r2 + 1]!;
          let taken: boolean;
          switch ((insn >> 12) & 7) {
            case 0:
              taken = alo === blo && ahi === bhi;
              break;
            case 1:
              taken = alo !== blo || ahi !== bhi;
              break;
            case 4:
              taken = ahi < bhi || (ahi === bhi && alo >>> 0 < blo >>> 0);
              break;
            case 5:
              taken = !(ahi < bhi || (ahi === bhi && alo >>> 0 < blo >>> 0));
              break;
            case 6:
              taken = ahi >>> 0 < bhi >>> 0 || (ahi === bhi && alo >>> 0 < blo >>> 0);
              break;
            case 7:
              taken = !(ahi >>> 0 < bhi >>> 0 || (ahi === bhi && alo >>> 0 < blo >>> 0));
              break;
            default:
              return illegal(h, raw);
          }
          if (taken)
            npc =
              pc +
              (((insn >> 31) << 12) |
                (((insn >>> 7) & 1) << 11) |
                (((insn >>> 25) & 0x3f) << 5) |
                (((insn >>> 8) & 0xf) << 1));
          pc = npc;
          i++;
          continue loop;
        }
        case 0x03: {
          // LOAD: a TLB hit on an aligned access is one typed-array read.
          const r1 = (insn >> 14) & 62;
          const imm = insn >> 20;
          const alo = x[r1]!;
          const vlo = (alo + imm) | 0;
          const vhi = (x[r1 + 1]! + (imm >> 31) + (vlo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
          const e = (vlo >>> 12) & tlbMask;
          const f3 = (insn >> 12) & 7;
          if (rTagLo[e] === (vlo & -4096) && rTagHi[e] === vhi) {
            const m = rMem[e]!;
            const p = rBase[e]! + (vlo & 4095);
            switch (f3) {
              case 3:
                if ((p & 7) !== 0) break;
                lo = m.i32[p >>> 2]!;
                hi = m.i32[(p >>> 2) + 1]!;
                if (rd !== 0) {
                  x[rd << 1] = lo;
                  x[(rd << 1) + 1] = hi;
                }
                pc = npc;
                i++;
                continue loop;
              case 2:
              case 6:
                if ((p & 3) !== 0) break;
                lo = m.i32[p >>> 2]!;
                hi = f3 === 2 ? lo >> 31 : 0;
                if (rd !== 0) {
                  x[rd << 1] = lo;
                  x[(rd << 1) + 1] = hi;
                }
                pc = npc;
                i++;
                continue loop;
              case 0:
                lo = m.i8[p]!;
                hi = lo >> 31;
                if (rd !== 0) {
                  x[rd << 1] = lo;
                  x[(rd << 1) + 1] = hi;
                }
                pc = npc;
                i++;
                continue loop;
              case 4:
                lo = m.u8[p]!;
                if (rd !== 0) {
                  x[rd << 1] = lo;
                  x[(rd << 1) + 1] = 0;
                }
                pc = npc;
                i++;
                continue loop;
              case 1:
              case 5:
                if ((p & 1) !== 0) break;
                lo = f3 === 1 ? m.i16[p >>> 1]! : m.u16[p >>> 1]!;
                hi = lo >> 31;
                if (rd !== 0) {
                  x[rd << 1] = lo;
                  x[(rd << 1) + 1] = hi;
                }
                pc = npc;
                i++;
                continue loop;
            }
          }
          if (!loadInt(h, vlo, vhi, f3, rd, insn, raw, len)) {
            // An exception, pending in the hart: taken after the loop, at this pc.
            trapped = true;
            break loop;
          }
          pc = npc;
          i++;
          continue loop;
        }
        case 0x23: {
          // STORE
          const r1 = (insn >> 14) & 62;
          const r2 = (insn >> 19) & 62;
          const imm = ((insn >> 25) << 5) | ((insn >>> 7) & 31);
          const alo = x[r1]!;
          const vlo = (alo + imm) | 0;
          const vhi = (x[r1 + 1]! + (imm >> 31) + (vlo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
          const e = (vlo >>> 12) & tlbMask;
          const f3 = (insn >> 12) & 7;
          if (wTagLo[e] === (vlo & -4096) && wTagHi[e] === vhi) {
            const m = wMem[e]!;
            const p = wBase[e]! + (vlo & 4095);
            let ok = true;
            switch (f3) {
              case 3:
                if ((p & 7) !== 0) ok = false;
                else {
                  m.i32[p >>> 2] = x[r2]!;
                  m.i32[(p >>> 2) + 1] = x[r2 + 1]!;
                }
                break;
              case 2:
                if ((p & 3) !== 0) ok = false;
                else m.i32[p >>> 2] = x[r2]!;
                break;
              case 1:
                if ((p & 1) !== 0) ok = false;
                else m.i16[p >>> 1] = x[r2]!;
                break;
              case 0:
                m.u8[p] = x[r2]!;
                break;
              default:
                ok = false;
            }
            if (ok) {
              if (resv.active !== 0) resv.store(wHpa[e]! + (vlo & 4095), 1 << f3);
              pc = npc;
              i++;
              continue loop;
            }
          }
          if (!storeInt(h, vlo, vhi, f3, r2, insn, raw, len)) {
            // An exception, pending in the hart: taken after the loop, at this pc.
            trapped = true;
            break loop;
          }
          pc = npc;
          i++;
          continue loop;
        }
        case 0x0f: {
          const f3 = (insn >> 12) & 7;
          if (f3 === 1) {
            // fence.i: drop the compiled blocks and end the chunk so the
            // next fetch re-reads through the TLB.
            h.flushCodeCache();
            pc = npc;
            i++;
            break loop;
          }
          if (f3 !== 0) illegal(h, raw);
          pc = npc;
          i++;
          if (insn === PAUSE && h.pauseExits) {
            // Zihintpause: a spin-wait hint. With PAUSE exiting armed it ends
            // the run, retired, as a pause-loop exit hands the CPU back.
            h.pcNum = pc;
            h.exitRec = record(h, 'pause', -1, false, 0n, 0n, 0n, false);
            break loop;
          }
          continue loop;
        }
        case 0x2f:
          amo(h, insn, raw, len);
          pc = npc;
          i++;
          continue loop;
        case 0x73: {
          h.inflight = i; // instructions retired so far in this chunk, for instret reads
          const set0 = h.set;
          const sie0 = (h.v === 1 ? h.vsstatus : h.mstatus) & C.SR_SIE;
          h.pcNum = pc;
          system(h, insn, raw, len);
          pc = h.pcNum;
          i++;
          // Most SYSTEM instructions end the chunk: run() then checks
          // interrupts and the next chunk reloads what may have changed (the
          // translation set, the fetch page, the mode). A CSR access that
          // changed none of that (a read, a scratch/epc/cause/tval/tvec or
          // fcsr write, an sstatus write that kept the translation context
          // and did not newly set SIE) goes straight on, as Linux's
          // local_irq_save/restore and uaccess toggles do thousands of times.
          if ((insn & 0x3000) !== 0 && h.set === set0 && csrKeepsChunk(h, insn, sie0)) {
            head = true; // compiled blocks end before a CSR access: what follows is a head
            continue loop;
          }
          break loop;
        }
        case 0x07:
        case 0x27:
          fpMem(h, insn, raw, len);
          pc = npc;
          i++;
          continue loop;
        case 0x43:
        case 0x47:
        case 0x4b:
        case 0x4f:
        case 0x53:
          fpOp(h, insn, raw);
          pc = npc;
          i++;
          continue loop;
        default:
          illegal(h, raw);
      }
      if (rd !== 0) {
        x[rd << 1] = lo;
        x[(rd << 1) + 1] = hi;
      }
      pc = npc;
      i++;
    }
  } catch (e) {
    h.inflight = 0;
    if (e !== TRAP) throw e;
    h.pcNum = pc;
    h.instret += i;
    takeTrap(h);
    return i;
  }
  h.inflight = 0;
  h.pcNum = pc;
  h.instret += i;
  if (trapped) takeTrap(h);
  return i;
}
