import {
  Abort,
  FSC_ACCESS_FLAG,
  FSC_ADDR_SIZE,
  FSC_EXTERNAL,
  FSC_PERMISSION,
  FSC_TRANSLATION,
} from './abort.ts';
import type { PhysMemory } from './phys-memory.ts';

/** What an access wants: read, write or instruction fetch. */
export const ACC_READ = 0;
export const ACC_WRITE = 1;
export const ACC_FETCH = 2;

/** Permission bits cached per page: stage 1 and stage 2 combined. */
export const PERM_R1 = 1;
export const PERM_W1 = 2;
export const PERM_X1 = 4;
export const PERM_R0 = 8;
export const PERM_W0 = 16;
export const PERM_X0 = 32;

/** The bit an access needs, by access kind (row) and EL0 (column 1). */
export function permFor(acc: number, el0: boolean): number {
  if (acc === ACC_READ) return el0 ? PERM_R0 : PERM_R1;
  if (acc === ACC_WRITE) return el0 ? PERM_W0 : PERM_W1;
  return el0 ? PERM_X0 : PERM_X1;
}

/** One page of the software TLB: both stages combined. */
export interface TlbEntry {
  /** The host frame, or undefined: no memory there (an external abort). */
  frame: Uint8Array | undefined;
  /** PERM_* bits allowed by stage 1 and stage 2 together. */
  perm: number;
}

/** A completed translation of one page. */
export interface Translation {
  /** The IPA of the page (stage 1's output). */
  ipa: number;
  /** The host frame and combined permissions. */
  entry: TlbEntry;
}

/** The translation registers the walk reads (the CPU's live values). */
export interface TranslationRegs {
  /** SCTLR_EL1 (M, WXN). */
  sctlr: bigint;
  /** TCR_EL1. */
  tcr: bigint;
  /** TTBR0_EL1. */
  ttbr0: bigint;
  /** TTBR1_EL1. */
  ttbr1: bigint;
  /** HCR_EL2 (VM). */
  hcr: bigint;
  /** VTTBR_EL2. */
  vttbr: bigint;
  /** VTCR_EL2. */
  vtcr: bigint;
}

const TWO32 = 0x1_0000_0000;
/** The CPU reports a 40-bit PA range (ID_AA64MMFR0_EL1.PARange = 2). */
export const PA_BITS = 40;
const PA_LIMIT = 2 ** PA_BITS;

/** Output address bits [47:12] of a descriptor held as two 32-bit halves. */
function descAddr(lo: number, hi: number): number {
  return (hi & 0xffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
}

/**
 * The EL1&0 translation regime under a hypervisor: stage 1 from
 * TTBR0/TTBR1_EL1 and TCR_EL1 (4 KiB granule), then stage 2 from
 * VTTBR_EL2/VTCR_EL2 when HCR_EL2.VM is set. A software TLB caches the
 * combined result per 4 KiB page; any TLBI (and any write to a register the
 * walk reads) empties it, which over-invalidates but never keeps a stale entry.
 */
export class Mmu {
  private readonly tlb = new Map<number, TlbEntry>();

  /** Walks read tables from `mem` and the live registers in `regs`. */
  constructor(
    private readonly mem: PhysMemory,
    private readonly regs: TranslationRegs,
  ) {}

  /** Empty the TLB. */
  flush(): void {
    this.tlb.clear();
  }

  /** Look a page up, walking on a miss; throws Abort when the access faults. */
  lookup(va: bigint, acc: number, el0: boolean): TlbEntry {
    const key = Number(va >> 12n);
    const hit = this.tlb.get(key);
    const need = permFor(acc, el0);
    if (hit !== undefined && (hit.perm & need) !== 0) return hit;
    const e = this.walk(va, acc, el0);
    this.tlb.set(key, e);
    if ((e.perm & need) === 0) throw new Error('unreachable: walk granted no permission');
    return e;
  }

  /** Translate without caching (AT instructions): the IPA and host frame, or an Abort. */
  translate(va: bigint, acc: number, el0: boolean): Translation {
    return this.walkFull(va, acc, el0);
  }

  private walk(va: bigint, acc: number, el0: boolean): TlbEntry {
    return this.walkFull(va, acc, el0).entry;
  }

  private walkFull(va: bigint, acc: number, el0: boolean): Translation {
    const r = this.regs;
    if ((r.sctlr & 1n) === 0n) {
      // Stage 1 off: VA = IPA, flat permissions (D8.2.11).
      if (va >= BigInt(PA_LIMIT)) throw new Abort(false, FSC_ADDR_SIZE, va, 0, false);
      const ipa = Number(va) - (Number(va) % 4096);
      const s2 = this.stage2(ipa, acc, va, false);
      return { ipa, entry: { frame: s2.frame, perm: s2.perm & 0x3f } };
    }
    const tcr = r.tcr;
    const upper = ((va >> 55n) & 1n) === 1n;
    // Top byte ignore for data accesses (TCR_EL1.TBI0/TBI1).
    let addr = va;
    if (acc !== ACC_FETCH && ((tcr >> (upper ? 38n : 37n)) & 1n) === 1n) {
      addr = upper ? va | 0xff00_0000_0000_0000n : va & 0x00ff_ffff_ffff_ffffn;
    }
    let txsz = Number((tcr >> (upper ? 16n : 0n)) & 0x3fn);
    if (txsz < 16) txsz = 16;
    if (txsz > 39) txsz = 39;
    const epd = ((tcr >> (upper ? 23n : 7n)) & 1n) === 1n;
    const inputSize = 64 - txsz;
    const topBits = addr >> BigInt(inputSize);
    const expected = upper ? (1n << BigInt(txsz)) - 1n : 0n;
    if (epd || topBits !== expected) throw new Abort(false, FSC_TRANSLATION | 0, va, 0, false);
    const ttbr = upper ? r.ttbr1 : r.ttbr0;
    let table = Number(ttbr & 0x0000_ffff_ffff_fffen);
    const vaLow = Number(addr & 0xffff_ffff_ffffn);
    let level = 4 - Math.ceil((inputSize - 12) / 9);
    let apTable = 0;
    let pxnTable = false;
    let uxnTable = false;
    for (;;) {
      const shift = 12 + 9 * (3 - level);
      const bits = Math.min(9, inputSize - shift);
      const index = Math.floor(vaLow / 2 ** shift) % 2 ** bits;
      const descIpa = table + index * 8;
      if (descIpa >= PA_LIMIT) throw new Abort(false, FSC_ADDR_SIZE | level, va, 0, false);
      const s2 = this.stage2(descIpa - (descIpa % 4096), ACC_READ, va, true);
      if (s2.frame === undefined) throw new Abort(false, FSC_EXTERNAL, va, 0, false);
      const off = descIpa % 4096;
      const f = s2.frame;
      const lo = (f[off] | (f[off + 1] << 8) | (f[off + 2] << 16) | (f[off + 3] << 24)) >>> 0;
      const hi = (f[off + 4] | (f[off + 5] << 8) | (f[off + 6] << 16) | (f[off + 7] << 24)) >>> 0;
      if ((lo & 1) === 0) throw new Abort(false, FSC_TRANSLATION | level, va, 0, false);
      const isTable = (lo & 2) !== 0;
      if (level < 3 && isTable) {
        table = descAddr(lo, hi);
        if (table >= PA_LIMIT) throw new Abort(false, FSC_ADDR_SIZE | level, va, 0, false);
        apTable |= (hi >>> 29) & 3;
        pxnTable ||= ((hi >>> 27) & 1) === 1;
        uxnTable ||= ((hi >>> 28) & 1) === 1;
        level++;
        continue;
      }
      if ((level === 3 && !isTable) || level === 0) {
        throw new Abort(false, FSC_TRANSLATION | level, va, 0, false);
      }
      // A block (level 1/2) or page (level 3): its output address.
      const span = 2 ** shift;
      const base = descAddr(lo, hi);
      const oa = base - (base % span) + (vaLow % span);
      const page = oa - (oa % 4096);
      if (page >= PA_LIMIT) throw new Abort(false, FSC_ADDR_SIZE | level, va, 0, false);
      if ((lo & 0x400) === 0) throw new Abort(false, FSC_ACCESS_FLAG | level, va, 0, false);
      let ap = (lo >>> 6) & 3;
      if ((apTable & 1) !== 0) ap &= ~1; // APTable[0]: no EL0 access below
      if ((apTable & 2) !== 0) ap |= 2; // APTable[1]: read-only below
      const pxn = pxnTable || ((hi >>> 21) & 1) === 1;
      const uxn = uxnTable || ((hi >>> 22) & 1) === 1;
      const wxn = ((r.sctlr >> 19n) & 1n) === 1n;
      const w1 = (ap & 2) === 0;
      const r0 = (ap & 1) !== 0;
      const w0 = ap === 1;
      let perm = PERM_R1;
      if (w1) perm |= PERM_W1;
      if (r0) perm |= PERM_R0;
      if (w0) perm |= PERM_W0;
      // An EL0-writable page is never executable at EL1 (D8.4.2).
      if (!pxn && !w0 && !(wxn && w1)) perm |= PERM_X1;
      if (!uxn && !(wxn && w0)) perm |= PERM_X0;
      if ((perm & permFor(acc, el0)) === 0) throw new Abort(false, FSC_PERMISSION | level, va, 0, false);
      const leaf = this.stage2(page, acc, va, false);
      return { ipa: page, entry: { frame: leaf.frame, perm: perm & leaf.perm } };
    }
  }

  /**
   * Stage 2 of one IPA page: the host frame and the stage-2 permissions
   * (R/W/X replicated for both ELs). Faults are stage-2 aborts for EL2.
   */
  private stage2(ipa: number, acc: number, va: bigint, s1ptw: boolean): TlbEntry {
    const r = this.regs;
    if ((r.hcr & 1n) === 0n) return { frame: this.mem.frame(Math.floor(ipa / 4096)), perm: 0x3f };
    const vtcr = r.vtcr;
    const t0sz = Number(vtcr & 0x3fn);
    const sl0 = Number((vtcr >> 6n) & 3n);
    const inputSize = 64 - t0sz;
    if (ipa >= 2 ** inputSize) throw new Abort(true, FSC_TRANSLATION, va, ipa, s1ptw);
    let level = 2 - sl0;
    let table = Number(r.vttbr & 0x0000_ffff_ffff_fffen);
    for (;;) {
      const shift = 12 + 9 * (3 - level);
      // The start level may index concatenated tables: all bits above `shift`.
      const bits = level === 2 - sl0 ? inputSize - shift : 9;
      const index = Math.floor(ipa / 2 ** shift) % 2 ** bits;
      const addr = table + index * 8;
      const f = this.mem.frame(Math.floor(addr / 4096));
      if (f === undefined) throw new Abort(true, FSC_TRANSLATION | level, va, ipa, s1ptw);
      const off = addr % 4096;
      const lo = (f[off] | (f[off + 1] << 8) | (f[off + 2] << 16) | (f[off + 3] << 24)) >>> 0;
      const hi = (f[off + 4] | (f[off + 5] << 8) | (f[off + 6] << 16) | (f[off + 7] << 24)) >>> 0;
      if ((lo & 1) === 0) throw new Abort(true, FSC_TRANSLATION | level, va, ipa, s1ptw);
      const isTable = (lo & 2) !== 0;
      if (level < 3 && isTable) {
        table = descAddr(lo, hi);
        level++;
        continue;
      }
      if ((level === 3 && !isTable) || level === 0)
        throw new Abort(true, FSC_TRANSLATION | level, va, ipa, s1ptw);
      if ((lo & 0x400) === 0) throw new Abort(true, FSC_ACCESS_FLAG | level, va, ipa, s1ptw);
      const span = 2 ** shift;
      const base = descAddr(lo, hi);
      const hpa = base - (base % span) + (ipa % span);
      let perm = 0;
      if ((lo & 0x40) !== 0) perm |= PERM_R1 | PERM_R0;
      if ((lo & 0x80) !== 0) perm |= PERM_W1 | PERM_W0;
      if (((hi >>> 22) & 1) === 0) perm |= PERM_X1 | PERM_X0;
      // A stage-1 walk reads tables: it needs stage-2 read access.
      const need = acc === ACC_WRITE ? PERM_W1 : acc === ACC_FETCH ? PERM_X1 : PERM_R1;
      if ((perm & need) === 0) throw new Abort(true, FSC_PERMISSION | level, va, ipa, s1ptw);
      return { frame: this.mem.frame(Math.floor(hpa / 4096)), perm };
    }
  }
}
