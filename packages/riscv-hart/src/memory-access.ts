import { illegal } from './exceptions.ts';
import type { Hart } from './hart.ts';
import { ACC_EXEC, ACC_READ, ACC_WRITE, TLB_MASK } from './tlb.ts';
import { TRAP } from './trap.ts';

// Memory access slow paths: the fetch of a new page, TLB lookups that
// translate on a miss (and may raise a page fault), and loads/stores that
// miss the inline TLB check, are misaligned or cross a page. The interpreter
// and compiled blocks call these only when their inline fast path fails.

const TWO32 = 4294967296;

/** Fetch at h.pcNum through the TLB (a new fetch page): the raw instruction, and the page cached in h. */
export function fetchSlow(h: Hart): number {
  const pc = h.pcNum;
  const lo = pc | 0;
  const hi = Math.floor(pc / TWO32) | 0;
  const e = entry(h, lo, hi, ACC_EXEC, 0);
  const w = h.set.ways[ACC_EXEC];
  const m = w.mem[e]!;
  const off = lo & 4095;
  h.fPage = pc - off;
  h.fU16 = m.u16;
  h.fBase = w.base[e]!;
  h.fWasm = w.wasmBase[e]! >= 0;
  const hw = (h.fBase + off) >>> 1;
  let raw = m.u16[hw]!;
  if ((raw & 3) === 3) {
    if (off < 4094) raw |= m.u16[hw + 1]! << 16;
    else {
      // The upper half lives on the next page.
      const nlo = (lo + 2) | 0;
      const nhi = (hi + (nlo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
      const e2 = entry(h, nlo, nhi, ACC_EXEC, 0);
      raw |= w.mem[e2]!.u16[w.base[e2]! >>> 1]! << 16;
      h.fPage = Number.NaN; // the cached entry may have been replaced
    }
  }
  return raw;
}

/** The TLB entry for (lo, hi) and access kind, translating on a miss; every exception is thrown. */
export function entry(h: Hart, lo: number, hi: number, acc: number, htinst: number): number {
  const e = entryOrFault(h, lo, hi, acc, htinst);
  if (e < 0) throw TRAP;
  return e;
}

/**
 * entry(), except that a guest-page fault of the access itself is returned
 * as -1 (recorded in the hart's pending trap: Mmu.translateOrFault) rather
 * than thrown. The interpreter's loads and stores use it: an MMIO access is
 * such a fault, and it exits to KVM thousands of times a boot.
 */
export function entryOrFault(h: Hart, lo: number, hi: number, acc: number, htinst: number): number {
  const w = h.set.ways[acc]!;
  const e = (lo >>> 12) & TLB_MASK;
  if (w.tagLo[e] === (lo & -4096) && w.tagHi[e] === hi) return e;
  return h.mmu.translateOrFault(h.set, lo, hi, acc, htinst);
}

/** Load `size` bytes at (lo, hi) into tmp[0..1], zero-extended. Misaligned accesses are done bytewise. */
export function load(h: Hart, lo: number, hi: number, size: number, htinst: number): void {
  if (!loadOrFault(h, lo, hi, size, htinst)) throw TRAP;
}

/** load(), false when a guest-page fault is pending instead of thrown (entryOrFault). */
export function loadOrFault(h: Hart, lo: number, hi: number, size: number, htinst: number): boolean {
  const t = h.tmp;
  const off = lo & 4095;
  const w = h.set.ways[ACC_READ];
  if (off + size <= 4096) {
    const e = entryOrFault(h, lo, hi, ACC_READ, htinst);
    if (e < 0) return false;
    const m = w.mem[e]!;
    const p = w.base[e]! + off;
    if ((off & (size - 1)) === 0) {
      if (size === 8) {
        t[0] = m.i32[p >>> 2]!;
        t[1] = m.i32[(p >>> 2) + 1]!;
        return true;
      }
      t[0] = size === 4 ? m.i32[p >>> 2]! : size === 2 ? m.u16[p >>> 1]! : m.u8[p]!;
      t[1] = 0;
      return true;
    }
    let a = 0;
    let b = 0;
    for (let k = 0; k < size; k++) {
      const byte = m.u8[p + k]!;
      if (k < 4) a |= byte << (8 * k);
      else b |= byte << (8 * (k - 4));
    }
    t[0] = a;
    t[1] = b;
    return true;
  }
  // Crosses a page: translate both pages before reading.
  const nlo = (lo + size - 1) | 0;
  const nhi = (hi + (nlo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
  if (entryOrFault(h, lo, hi, ACC_READ, htinst) < 0 || entryOrFault(h, nlo, nhi, ACC_READ, htinst) < 0)
    return false;
  let a = 0;
  let b = 0;
  for (let k = 0; k < size; k++) {
    const blo = (lo + k) | 0;
    const bhi = (hi + (blo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
    // Both pages translated above, but the second fill may have replaced the first's entry.
    const e = entryOrFault(h, blo, bhi, ACC_READ, htinst);
    if (e < 0) return false;
    const byte = w.mem[e]!.u8[w.base[e]! + (blo & 4095)]!;
    if (k < 4) a |= byte << (8 * k);
    else b |= byte << (8 * (k - 4));
  }
  t[0] = a;
  t[1] = b;
  return true;
}

/** Store `size` bytes of (vlo, vhi) at (lo, hi); breaks reservations on the bytes written. */
export function store(
  h: Hart,
  lo: number,
  hi: number,
  size: number,
  vlo: number,
  vhi: number,
  htinst: number,
): void {
  if (!storeOrFault(h, lo, hi, size, vlo, vhi, htinst)) throw TRAP;
}

/** store(), false when a guest-page fault is pending instead of thrown (entryOrFault); nothing is written then. */
export function storeOrFault(
  h: Hart,
  lo: number,
  hi: number,
  size: number,
  vlo: number,
  vhi: number,
  htinst: number,
): boolean {
  const off = lo & 4095;
  const w = h.set.ways[ACC_WRITE];
  const resv = h.reservations;
  if (off + size <= 4096) {
    const e = entryOrFault(h, lo, hi, ACC_WRITE, htinst);
    if (e < 0) return false;
    const m = w.mem[e]!;
    const p = w.base[e]! + off;
    if ((off & (size - 1)) === 0 && size >= 4) {
      m.i32[p >>> 2] = vlo;
      if (size === 8) m.i32[(p >>> 2) + 1] = vhi;
    } else {
      for (let k = 0; k < size; k++) m.u8[p + k] = k < 4 ? vlo >>> (8 * k) : vhi >>> (8 * (k - 4));
    }
    if (resv.active !== 0) resv.store(w.hpa[e]! + off, size);
    return true;
  }
  // Crosses a page: both translations must succeed before any byte is written.
  const nlo = (lo + size - 1) | 0;
  const nhi = (hi + (nlo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
  if (entryOrFault(h, lo, hi, ACC_WRITE, htinst) < 0 || entryOrFault(h, nlo, nhi, ACC_WRITE, htinst) < 0)
    return false;
  for (let k = 0; k < size; k++) {
    const blo = (lo + k) | 0;
    const bhi = (hi + (blo >>> 0 < lo >>> 0 ? 1 : 0)) | 0;
    const e = entryOrFault(h, blo, bhi, ACC_WRITE, htinst);
    if (e < 0) return false;
    w.mem[e]!.u8[w.base[e]! + (blo & 4095)] = k < 4 ? vlo >>> (8 * k) : vhi >>> (8 * (k - 4));
    if (resv.active !== 0) resv.store(w.hpa[e]! + (blo & 4095), 1);
  }
  return true;
}

/** An integer load into rd; false when a guest-page fault is pending (the caller takes it, at the load's pc). */
export function loadInt(
  h: Hart,
  lo: number,
  hi: number,
  f3: number,
  rd: number,
  insn: number,
  raw: number,
  len: number,
): boolean {
  if (f3 === 7) illegal(h, raw);
  const size = 1 << (f3 & 3);
  if (!loadOrFault(h, lo, hi, size, htinstLoad(insn, len))) return false;
  const t = h.tmp;
  let a = t[0]!;
  let b = t[1]!;
  if (f3 === 0) a = (a << 24) >> 24;
  else if (f3 === 1) a = (a << 16) >> 16;
  if (f3 <= 2) b = a >> 31;
  if (rd !== 0) {
    h.x32[rd << 1] = a;
    h.x32[(rd << 1) + 1] = b;
  }
  return true;
}

/** An integer store from r2; false when a guest-page fault is pending (nothing was written). */
export function storeInt(
  h: Hart,
  lo: number,
  hi: number,
  f3: number,
  r2: number,
  insn: number,
  raw: number,
  len: number,
): boolean {
  if (f3 > 3) illegal(h, raw);
  return storeOrFault(h, lo, hi, 1 << f3, h.x32[r2]!, h.x32[r2 + 1]!, htinstStore(insn, len));
}

/** htinst for a load: the transformed instruction (imm and rs1 zeroed; bit 1 clear if compressed). */
export function htinstLoad(insn: number, len: number): number {
  return insn & 0x7fff & (len === 2 ? ~2 : ~0);
}

/** htinst for a store: rs2, funct3 and opcode kept; imm and rs1 zeroed. */
export function htinstStore(insn: number, len: number): number {
  return insn & 0x01f0707f & (len === 2 ? ~2 : ~0);
}
