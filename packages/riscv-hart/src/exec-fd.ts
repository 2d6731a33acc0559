import * as C from './csr.ts';
import { illegal } from './exceptions.ts';
import { executeFp } from './fpu/index.ts';
import type { Hart } from './hart.ts';
import { htinstLoad, htinstStore, load, store } from './memory-access.ts';

// F and D as the hart sees them: FLW/FLD/FSW/FSD and the mstatus.FS /
// vsstatus.FS rules (Off in either: illegal; a write makes both Dirty); the
// arithmetic itself is src/fpu's executeFp.

export function fpOff(h: Hart): boolean {
  return (h.mstatus & C.SR_FS) === 0 || (h.v === 1 && (h.vsstatus & C.SR_FS) === 0);
}

export function markFsDirty(h: Hart): void {
  h.mstatus |= C.SR_FS_DIRTY;
  if (h.v === 1) h.vsstatus |= C.SR_FS_DIRTY;
}

export function fpMem(h: Hart, insn: number, raw: number, len: number): void {
  const f3 = (insn >> 12) & 7;
  if ((f3 !== 2 && f3 !== 3) || fpOff(h)) illegal(h, raw);
  const r1 = (insn >> 14) & 62;
  const x = h.x32;
  const alo = x[r1]!;
  const isLoad = (insn & 0x7f) === 0x07;
  const imm = isLoad ? insn >> 20 : ((insn >> 25) << 5) | ((insn >>> 7) & 31);
  const lo = (alo + imm) | 0;
  const hi = (x[r1 + 1]! + (imm >> 31) + (lo >>> 0 < alo >>> 0 ? 1 : 0)) | 0;
  const size = f3 === 2 ? 4 : 8;
  if (isLoad) {
    const rd = (insn >> 7) & 31;
    load(h, lo, hi, size, htinstLoad(insn, len));
    h.f[2 * rd] = h.tmp[0]!;
    h.f[2 * rd + 1] = size === 8 ? h.tmp[1]! : 0xffffffff; // NaN-box a single
    markFsDirty(h);
  } else {
    const rs2 = (insn >> 20) & 31;
    store(h, lo, hi, size, h.f[2 * rs2]!, h.f[2 * rs2 + 1]!, htinstStore(insn, len));
  }
}

export function fpOp(h: Hart, insn: number, raw: number): void {
  if (fpOff(h)) illegal(h, raw);
  h.fsDirty = false;
  if (!executeFp(h, insn)) illegal(h, raw);
  if (h.fsDirty) markFsDirty(h);
}
