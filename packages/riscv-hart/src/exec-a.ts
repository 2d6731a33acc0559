import * as C from './csr.ts';
import { illegal, raise } from './exceptions.ts';
import type { Hart } from './hart.ts';
import { entry } from './memory-access.ts';
import { ACC_READ, ACC_WRITE } from './tlb.ts';

// The A extension: LR/SC against the machine's shared ReservationSet, and
// the AMOs as one read-modify-write through the write translation (an AMO
// needs write permission and faults as a store).

const AMO_OPS = new Set([0, 1, 4, 8, 0xc, 0x10, 0x14, 0x18, 0x1c]);

export function amo(h: Hart, insn: number, raw: number, len: number): void {
  const f3 = (insn >> 12) & 7;
  if (f3 !== 2 && f3 !== 3) illegal(h, raw);
  const size = f3 === 2 ? 4 : 8;
  const f5 = insn >>> 27;
  const rd = (insn >> 7) & 31;
  const r1 = (insn >> 14) & 62;
  const r2 = (insn >> 19) & 62;
  const x = h.x32;
  const lo = x[r1]!;
  const hi = x[r1 + 1]!;
  const ht = insn & 0xfff07fff & (len === 2 ? ~2 : ~0);
  if (f5 === 2) {
    // LR: rs2 must be 0.
    if (r2 !== 0) illegal(h, raw);
    if ((lo & (size - 1)) !== 0) raise(h, C.EXC_LOAD_MISALIGNED, lo, hi);
    const e = entry(h, lo, hi, ACC_READ, ht);
    const w = h.set.ways[ACC_READ];
    const p = w.base[e]! + (lo & 4095);
    const m = w.mem[e]!.i32;
    const a = m[p >>> 2]!;
    const b = size === 8 ? m[(p >>> 2) + 1]! : a >> 31;
    h.reservations.reserve(h.resvId, w.hpa[e]! + (lo & 4095));
    if (rd !== 0) {
      x[rd << 1] = a;
      x[(rd << 1) + 1] = b;
    }
    return;
  }
  if (f5 !== 3 && !AMO_OPS.has(f5)) illegal(h, raw);
  if ((lo & (size - 1)) !== 0) raise(h, C.EXC_STORE_MISALIGNED, lo, hi);
  const e = entry(h, lo, hi, ACC_WRITE, ht);
  const w = h.set.ways[ACC_WRITE];
  const p = w.base[e]! + (lo & 4095);
  const hpa = w.hpa[e]! + (lo & 4095);
  const m = w.mem[e]!.i32;
  const i = p >>> 2;
  const blo = x[r2]!;
  const bhi = x[r2 + 1]!;
  const resv = h.reservations;
  if (f5 === 3) {
    // SC: succeeds only while this hart still holds the reservation.
    const ok = resv.holds(h.resvId, hpa);
    resv.clear(h.resvId);
    if (ok) {
      m[i] = blo;
      if (size === 8) m[i + 1] = bhi;
      if (resv.active !== 0) resv.store(hpa, size);
    }
    if (rd !== 0) {
      x[rd << 1] = ok ? 0 : 1;
      x[(rd << 1) + 1] = 0;
    }
    return;
  }
  const alo = m[i]!;
  const ahi = size === 8 ? m[i + 1]! : alo >> 31;
  let nlo: number;
  let nhi: number;
  switch (f5) {
    case 1:
      nlo = blo;
      nhi = bhi;
      break;
    case 0:
      nlo = (alo + blo) | 0;
      nhi = (ahi + bhi + (nlo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
      break;
    case 4:
      nlo = alo ^ blo;
      nhi = ahi ^ bhi;
      break;
    case 0xc:
      nlo = alo & blo;
      nhi = ahi & bhi;
      break;
    case 8:
      nlo = alo | blo;
      nhi = ahi | bhi;
      break;
    default: {
      const bh = size === 8 ? bhi : blo >> 31;
      const signed = f5 === 0x10 || f5 === 0x14;
      const ah = signed ? ahi : ahi >>> 0;
      const bb = signed ? bh : bh >>> 0;
      const less = ah < bb || (ahi === bh && alo >>> 0 < blo >>> 0);
      const takeA = f5 === 0x10 || f5 === 0x18 ? less : !less;
      nlo = takeA ? alo : blo;
      nhi = takeA ? ahi : bhi;
    }
  }
  m[i] = nlo;
  if (size === 8) m[i + 1] = nhi;
  if (resv.active !== 0) resv.store(hpa, size);
  if (rd !== 0) {
    x[rd << 1] = alo;
    x[(rd << 1) + 1] = ahi;
  }
}
