import {
  EXC_INST_ACCESS,
  EXC_INST_GUEST_PAGE_FAULT,
  EXC_INST_PAGE_FAULT,
  EXC_LOAD_ACCESS,
  EXC_LOAD_GUEST_PAGE_FAULT,
  EXC_LOAD_PAGE_FAULT,
  EXC_STORE_ACCESS,
  EXC_STORE_GUEST_PAGE_FAULT,
  EXC_STORE_PAGE_FAULT,
  PRV_U,
} from './csr.ts';
import { frameOf, type MemViews, memViews, type PhysMemory } from './phys-memory.ts';
import { ACC_EXEC, ACC_READ, ACC_WRITE, type TlbSet } from './tlb.ts';
import { type PendingTrap, TRAP } from './trap.ts';

const TWO32 = 4294967296;
const PTE_V = 1;
const PTE_R = 2;
const PTE_W = 4;
const PTE_X = 8;
const PTE_U = 16;
const PTE_A = 64;
const PTE_D = 128;
/** Entries of the G-stage TLB (direct-mapped by guest-physical page). */
const G_TLB_SIZE = 1024;
/** Entries of the host frame cache (direct-mapped by pfn). */
const FRAME_CACHE_SIZE = 1024;

const PAGE_FAULT = [EXC_LOAD_PAGE_FAULT, EXC_STORE_PAGE_FAULT, EXC_INST_PAGE_FAULT];
const GUEST_PAGE_FAULT = [EXC_LOAD_GUEST_PAGE_FAULT, EXC_STORE_GUEST_PAGE_FAULT, EXC_INST_GUEST_PAGE_FAULT];
const ACCESS_FAULT = [EXC_LOAD_ACCESS, EXC_STORE_ACCESS, EXC_INST_ACCESS];

/** htinst pseudoinstructions for implicit VS-stage PTE accesses (RV64: 64-bit read / write). */
export const HTINST_PTE_READ = 0x3000;
/** htinst for an implicit 64-bit VS-stage PTE write (A/D update). */
export const HTINST_PTE_WRITE = 0x3020;

/** The translation state of the current context, refreshed by the hart on every change. */
export interface MmuContext {
  /** Virtualization mode (V). */
  v: number;
  /** Effective privilege of data/fetch accesses (PRV_U or PRV_S). */
  priv: number;
  /** First stage: vsatp when V=1, satp when V=0. 0 = bare, 8 = Sv39, 9 = Sv48. */
  s1Mode: number;
  /** Byte address of the first-stage root table. */
  s1Root: number;
  /** G-stage (only when V=1): 0 = bare, 8 = Sv39x4, 9 = Sv48x4. */
  gMode: number;
  /** Byte address of the G-stage root table. */
  gRoot: number;
  /** SUM: S-mode may access user pages. */
  sum: boolean;
  /** MXR for the first stage (vsstatus.MXR or HS sstatus.MXR when V=1). */
  mxr: boolean;
  /** HS sstatus.MXR, the only MXR that applies to the G-stage. */
  hsMxr: boolean;
  /** Hardware A/D update (Svadu) instead of page faults (Svade). */
  hwAd: boolean;
}

/**
 * The page-table walker: VS-stage (or HS satp) Sv39/Sv48 over G-stage
 * Sv39x4/Sv48x4, with the privileged spec's validity, permission, superpage
 * alignment and A/D rules. A successful walk fills the TLB; a failed one
 * records the trap (page fault, guest-page fault with htval = GPA >> 2, or
 * access fault) and throws TRAP.
 */
export class Mmu {
  private pteLo = 0;
  private pteHi = 0;
  private pteI32: Int32Array | undefined;
  private pteIdx = 0;
  /** Set while an HLVX runs: it needs execute permission but faults as a load. */
  xAsLoad = false;

  // The G-stage TLB: leaf translations of guest-physical pages, as hardware
  // keeps them beside the combined ones (until HFENCE.GVMA), so the VS-stage
  // walk's PTE reads and a new page's final step skip the G-stage walk. An
  // entry holds a walk that succeeded: the page's host address and the leaf
  // PTE as it was left (A, and D if it was set); an access its bits do not
  // allow walks again, which faults or sets A/D exactly as before.
  /** Guest-physical page number of each entry; -1 when empty. */
  private readonly gTag = new Float64Array(G_TLB_SIZE).fill(-1);
  /** Host physical address of each entry's 4 KiB page. */
  private readonly gHpa = new Float64Array(G_TLB_SIZE);
  /** Low word of each entry's leaf PTE. */
  private readonly gPte = new Int32Array(G_TLB_SIZE);
  /** hgatp root and mode the entries were walked from. */
  private gRoot = -1;
  private gMode = -1;
  // Host frames by pfn: PhysMemory.frame() makes a new view per call, and
  // a walk reads up to 24 PTEs. A frame's storage does not move while it is
  // mapped, as the TLB's own entries already assume; flushed with the TLB.
  /** pfn of each frame cache entry; -1 when empty. */
  private readonly fTag = new Float64Array(FRAME_CACHE_SIZE).fill(-1);
  // Packed, as TlbWay.mem: no hole check on a hit.
  private readonly fViews: (MemViews | undefined)[] = Array.from(
    { length: FRAME_CACHE_SIZE },
    () => undefined,
  );
  private readonly fOff = new Float64Array(FRAME_CACHE_SIZE);

  constructor(
    private readonly mem: PhysMemory,
    private readonly ctx: MmuContext,
    private readonly pend: PendingTrap,
  ) {}

  /**
   * Translate the page of (lo, hi) for access kind `acc`, fill `set` and
   * return the entry index. `htinst` is the transformed instruction reported
   * if the G-stage faults on the access itself. Such a guest-page fault (an
   * MMIO address, or a page KVM has not mapped yet: most of a guest's exits)
   * is returned as -1, recorded in the pending trap, rather than thrown
   * (memory-access.ts entry() throws it for the callers that want a throw).
   * Other exceptions are thrown as ever. A throw is costly in V8, and worse
   * when it unwinds through functions that have only ever left by throwing:
   * they are never optimized (V8 counts a function's budget at its returns),
   * and each unoptimized frame costs the unwinder a linear search of its code.
   */
  translateOrFault(set: TlbSet, lo: number, hi: number, acc: number, htinst: number): number {
    const c = this.ctx;
    let gpa: number;
    // The page's first-stage result plus the offset: guest-page faults report the full GPA.
    if (c.s1Mode !== 0) gpa = this.walkStage1(lo, hi, acc) + (lo & 4095);
    else {
      if (c.v === 1 && c.gMode !== 0) {
        // Bare VS-stage: the GPA is the whole 64-bit address; bits above the
        // G-stage's width make it a guest-page fault.
        const limitBits = c.gMode === 8 ? 9 : 18;
        if (hi >>> limitBits !== 0) return this.guestFault(acc, lo, hi, hi * TWO32 + (lo >>> 0), htinst);
      } else if (hi >>> 24 !== 0) this.fault(ACCESS_FAULT[acc]!, lo, hi, false);
      gpa = (hi >>> 0) * TWO32 + (lo >>> 0);
    }
    const hpa = c.v === 1 ? this.gstageOrFault(gpa, acc, acc, lo, hi, htinst) : gpa;
    if (hpa < 0) return -1;
    const pfn = Math.floor(hpa / 4096);
    const fi = this.frameSlot(pfn);
    if (fi < 0) this.fault(ACCESS_FAULT[acc]!, lo, hi, c.v === 1);
    return set.ways[acc]!.fill(lo, hi, this.fViews[fi]!, this.fOff[fi]!, pfn * 4096);
  }

  /** Forget the G-stage TLB and the frame cache (HFENCE.GVMA, or KVM changed G-stage tables). */
  flush(): void {
    this.gTag.fill(-1);
    this.fTag.fill(-1);
  }

  /** The frame cache slot holding `pfn`, filled from PhysMemory on a miss; -1 for no memory there. */
  private frameSlot(pfn: number): number {
    const i = pfn & (FRAME_CACHE_SIZE - 1);
    if (this.fTag[i] === pfn) return i;
    const frame = frameOf(this.mem, pfn);
    if (frame === undefined) return -1;
    this.fTag[i] = pfn;
    this.fViews[i] = memViews(frame.buffer);
    this.fOff[i] = frame.byteOffset;
    return i;
  }

  /** First-stage walk; returns the (guest) physical address of the page. */
  private walkStage1(lo: number, hi: number, acc: number): number {
    const c = this.ctx;
    const levels = c.s1Mode === 8 ? 3 : 4;
    // Bits 63..VA width must all equal the top VA bit.
    const shift = levels === 3 ? 25 : 16;
    if ((hi << shift) >> shift !== hi) this.fault(PAGE_FAULT[acc]!, lo, hi, c.v === 1);
    const va = hi * TWO32 + (lo >>> 0);
    let a = c.s1Root;
    for (let level = levels - 1; level >= 0; level--) {
      const vpn = Math.floor(va / 2 ** (12 + 9 * level)) & 511;
      const pteGpa = a + vpn * 8;
      const pteHpa = c.v === 1 ? this.gstage(pteGpa, ACC_READ, acc, lo, hi, HTINST_PTE_READ) : pteGpa;
      if (!this.readPte(pteHpa)) this.fault(ACCESS_FAULT[acc]!, lo, hi, c.v === 1);
      const pl = this.pteLo;
      const ph = this.pteHi;
      // Reserved bits 63:54 (no Svnapot/Svpbmt), V clear, or W without R: page fault.
      if ((pl & PTE_V) === 0 || (pl & (PTE_R | PTE_W)) === PTE_W || ph >>> 22 !== 0)
        this.fault(PAGE_FAULT[acc]!, lo, hi, c.v === 1);
      const ppn = (ph & 0x3fffff) * 4194304 + (pl >>> 10);
      if ((pl & (PTE_R | PTE_X)) === 0) {
        // Pointer to the next level; A, D and U are reserved there.
        if (level === 0 || (pl & (PTE_A | PTE_D | PTE_U)) !== 0)
          this.fault(PAGE_FAULT[acc]!, lo, hi, c.v === 1);
        a = ppn * 4096;
        continue;
      }
      const u = (pl & PTE_U) !== 0;
      if (c.priv === PRV_U ? !u : u && (acc === ACC_EXEC || !c.sum))
        this.fault(PAGE_FAULT[acc]!, lo, hi, c.v === 1);
      if (!permits(pl, acc, c.mxr)) this.fault(PAGE_FAULT[acc]!, lo, hi, c.v === 1);
      const span = 2 ** (9 * level); // pages covered by this leaf
      if (ppn % span !== 0) this.fault(PAGE_FAULT[acc]!, lo, hi, c.v === 1); // misaligned superpage
      const need = PTE_A | (acc === ACC_WRITE ? PTE_D : 0);
      if ((pl & need) !== need) {
        if (!c.hwAd) this.fault(PAGE_FAULT[acc]!, lo, hi, c.v === 1);
        // The A/D update is a store to the PTE: it needs G-stage write permission
        // (that walk reuses the PTE cursor, so keep where this PTE lives).
        const view = this.pteI32!;
        const idx = this.pteIdx;
        if (c.v === 1) this.gstage(pteGpa, ACC_WRITE, acc, lo, hi, HTINST_PTE_WRITE);
        view[idx] = pl | need;
      }
      const pageInLeaf = Math.floor(va / 4096) % span;
      return (ppn + (pageInLeaf < 0 ? pageInLeaf + span : pageInLeaf)) * 4096;
    }
    return this.fault(PAGE_FAULT[acc]!, lo, hi, c.v === 1);
  }

  /**
   * G-stage walk of `gpa` for permission kind `perm`; faults are reported as
   * guest-page faults of the original access kind `acc` (H spec: implicit
   * VS-stage accesses fault as the access that caused them). `htinst` is
   * HTINST_PTE_READ/WRITE for those implicit accesses (never the value of an
   * explicit one, whose transformed instruction has a real opcode).
   */
  private gstage(gpa: number, perm: number, acc: number, lo: number, hi: number, htinst: number): number {
    const hpa = this.gstageOrFault(gpa, perm, acc, lo, hi, htinst);
    if (hpa < 0) throw TRAP;
    return hpa;
  }

  /** gstage(), with a guest-page fault recorded and returned as -1 (translateOrFault). */
  private gstageOrFault(
    gpa: number,
    perm: number,
    acc: number,
    lo: number,
    hi: number,
    htinst: number,
  ): number {
    const c = this.ctx;
    if (c.gMode === 0) return gpa;
    if (c.gRoot !== this.gRoot || c.gMode !== this.gMode) {
      // Another VM's tables (hgatp changed): these entries are not its translations.
      this.gTag.fill(-1);
      this.gRoot = c.gRoot;
      this.gMode = c.gMode;
    }
    // HS-level MXR (never vsstatus.MXR) reaches the G-stage, and only for the
    // explicit access: a VS-stage walk's implicit PTE reads need G-stage R
    // (priv spec clarification, riscv-isa-manual #1543).
    const mxr = c.hsMxr && htinst !== HTINST_PTE_READ;
    const gpn = Math.floor(gpa / 4096);
    const gi = gpn & (G_TLB_SIZE - 1);
    if (this.gTag[gi] === gpn) {
      const pl = this.gPte[gi]!;
      const need = PTE_A | (perm === ACC_WRITE ? PTE_D : 0);
      if ((pl & need) === need && permits(pl, perm, mxr)) return this.gHpa[gi]! + (gpa % 4096);
    }
    const levels = c.gMode === 8 ? 3 : 4;
    if (gpa >= 2 ** (12 + 9 * levels + 2)) return this.guestFault(acc, lo, hi, gpa, htinst);
    let a = c.gRoot;
    for (let level = levels - 1; level >= 0; level--) {
      let vpn = Math.floor(gpa / 2 ** (12 + 9 * level));
      if (level !== levels - 1) vpn &= 511; // the x4 root takes 2 extra bits
      const pteAddr = a + vpn * 8;
      if (!this.readPte(pteAddr)) this.fault(ACCESS_FAULT[acc]!, lo, hi, true);
      const pl = this.pteLo;
      const ph = this.pteHi;
      if ((pl & PTE_V) === 0 || (pl & (PTE_R | PTE_W)) === PTE_W || ph >>> 22 !== 0)
        return this.guestFault(acc, lo, hi, gpa, htinst);
      const ppn = (ph & 0x3fffff) * 4194304 + (pl >>> 10);
      if ((pl & (PTE_R | PTE_X)) === 0) {
        if (level === 0 || (pl & (PTE_A | PTE_D | PTE_U)) !== 0)
          return this.guestFault(acc, lo, hi, gpa, htinst);
        a = ppn * 4096;
        continue;
      }
      // Every G-stage access is a user-level access: U must be set.
      if ((pl & PTE_U) === 0 || !permits(pl, perm, mxr)) return this.guestFault(acc, lo, hi, gpa, htinst);
      const span = 2 ** (9 * level);
      if (ppn % span !== 0) return this.guestFault(acc, lo, hi, gpa, htinst);
      const need = PTE_A | (perm === ACC_WRITE ? PTE_D : 0);
      if ((pl & need) !== need) {
        if (!c.hwAd) return this.guestFault(acc, lo, hi, gpa, htinst);
        this.pteI32![this.pteIdx] = pl | need;
      }
      const hpa = ppn * 4096 + (gpa % (span * 4096));
      this.gTag[gi] = gpn;
      this.gHpa[gi] = hpa - (gpa % 4096);
      this.gPte[gi] = pl | need;
      return hpa;
    }
    return this.guestFault(acc, lo, hi, gpa, htinst);
  }

  private readPte(hpa: number): boolean {
    const fi = this.frameSlot(Math.floor(hpa / 4096));
    if (fi < 0) return false;
    const v = this.fViews[fi]!;
    const idx = (this.fOff[fi]! + (hpa % 4096)) >>> 2;
    this.pteI32 = v.i32;
    this.pteIdx = idx;
    this.pteLo = v.i32[idx]!;
    this.pteHi = v.i32[idx + 1]!;
    return true;
  }

  private fault(cause: number, lo: number, hi: number, gva: boolean): never {
    const p = this.pend;
    if (this.xAsLoad)
      cause =
        cause === EXC_INST_PAGE_FAULT
          ? EXC_LOAD_PAGE_FAULT
          : cause === EXC_INST_ACCESS
            ? EXC_LOAD_ACCESS
            : cause;
    p.cause = cause;
    p.tval = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    p.htval = 0n;
    p.htinst = 0;
    p.gva = gva;
    throw TRAP;
  }

  /** Record a guest-page fault of `acc` at gpa in the pending trap; returns -1 (the caller returns or throws it). */
  private guestFault(acc: number, lo: number, hi: number, gpa: number, htinst: number): number {
    const p = this.pend;
    p.cause = GUEST_PAGE_FAULT[this.xAsLoad && acc === ACC_EXEC ? ACC_READ : acc]!;
    p.tval = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    p.htval = BigInt(Math.floor(gpa / 4));
    // Callers pass 0 for an instruction fetch itself (htinst is 0 there) and
    // the pseudoinstruction for implicit PTE accesses.
    p.htinst = htinst;
    p.gva = true;
    return -1;
  }
}

function permits(pte: number, acc: number, mxr: boolean): boolean {
  if (acc === ACC_READ) return (pte & PTE_R) !== 0 || (mxr && (pte & PTE_X) !== 0);
  if (acc === ACC_WRITE) return (pte & PTE_W) !== 0;
  return (pte & PTE_X) !== 0;
}
