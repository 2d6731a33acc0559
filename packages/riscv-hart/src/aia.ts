// The hart's share of the RISC-V Advanced Interrupt Architecture (Smaia /
// Ssaia, ratified 1.0) with the H extension: GEILEN guest interrupt files
// (the VS-level IMSIC files of this hart), hgeie/hgeip, hstatus.VGEIN and
// the VS-level CSRs vsiselect/vsireg/vstopei/vstopi. hart.ts keeps only the
// hooks (CSR dispatch, the guest external interrupt in hip()).

import * as C from './csr.ts';

/** siselect: supervisor indirect register select (V=1: vsiselect). */
export const CSR_SISELECT = 0x150;
/** sireg: supervisor indirect register (V=1: vsireg). */
export const CSR_SIREG = 0x151;
/** stopei: supervisor top external interrupt (V=1: vstopei). */
export const CSR_STOPEI = 0x15c;
/** stopi: supervisor top interrupt, read-only (V=1: vstopi). */
export const CSR_STOPI = 0xdb0;
/** vsiselect. */
export const CSR_VSISELECT = 0x250;
/** vsireg. */
export const CSR_VSIREG = 0x251;
/** vstopei. */
export const CSR_VSTOPEI = 0x25c;
/** vstopi (read-only). */
export const CSR_VSTOPI = 0xeb0;

/** Indirect register numbers of an IMSIC interrupt file (AIA spec, IMSIC chapter). */
export const IMSIC_EIDELIVERY = 0x70;
/** eithreshold. */
export const IMSIC_EITHRESHOLD = 0x72;
/** eip0; eip63 is 0xbf. On RV64 only even numbers exist. */
export const IMSIC_EIP0 = 0x80;
/** eie0; eie63 is 0xff. */
export const IMSIC_EIE0 = 0xc0;
/** Offsets of the interrupt file's MMIO page: seteipnum_le / seteipnum_be. */
export const IMSIC_MMIO_SETIPNUM_LE = 0x0;
/** seteipnum_be. */
export const IMSIC_MMIO_SETIPNUM_BE = 0x4;
/** An interrupt file's MMIO page is 4 KiB. */
export const IMSIC_MMIO_PAGE_SIZE = 0x1000;

/** hstatus.VGEIN: bits 17:12, the guest interrupt file VS-level external interrupts come from. */
export const HSTATUS_VGEIN_SHIFT = 12;
/** hstatus.VGEIN mask (6 bits). */
export const HSTATUS_VGEIN = 0x3f << HSTATUS_VGEIN_SHIFT;
/** Largest GEILEN: hgeie/hgeip bits 1..63 on RV64 (bit 0 is read-only zero). */
export const GEILEN_MAX = 63;
/** vsiselect is WARL; it holds at least 0..0x1ff (QEMU's ISELECT_MASK), which is what this model keeps. */
export const ISELECT_MASK = 0x1ff;

/** The smallest and largest number of identities (N) an interrupt file may have; N+1 is a multiple of 64. */
export const IMSIC_MIN_IDS = 63;
/** Upper bound of N. */
export const IMSIC_MAX_IDS = 2047;

/**
 * One IMSIC interrupt file (AIA spec "Incoming MSI Controller"): identities
 * 1..N with a pending (eip) and an enable (eie) bit each, eidelivery and
 * eithreshold. An MSI is a write of an identity to seteipnum; the file
 * signals its hart while delivery is on and a pending-and-enabled identity
 * is under the threshold. Lower identity = higher priority.
 */
export class ImsicFile {
  /** eidelivery: 1 delivers interrupts to the hart (bit 0 only; the APLIC value 0x4000_0000 is not supported). */
  eidelivery = 0;
  /** eithreshold: when nonzero, only identities below it are signalled. */
  eithreshold = 0;
  /** eip bits, 32 identities a word (bit 0 of word 0, identity 0, is read-only zero). */
  readonly eip: Uint32Array;
  /** eie bits. */
  readonly eie: Uint32Array;
  /** Whether the file's interrupt signal is asserted (what hgeip shows). */
  signalled = false;
  /** Told whenever `signalled` changes (the hart's hgeip bit). */
  onSignal: ((level: boolean) => void) | undefined;

  constructor(
    /** N: the highest identity (63..2047, N+1 a multiple of 64). */
    readonly nrIds: number,
  ) {
    const words = (nrIds + 1) >>> 5;
    this.eip = new Uint32Array(words);
    this.eie = new Uint32Array(words);
  }

  /** A write of `id` to seteipnum: identities 0 and above N are ignored, as the spec says. */
  setPending(id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > this.nrIds) return;
    const w = id >>> 5;
    this.eip[w] = this.eip[w]! | (1 << (id & 31));
    this.update();
  }

  /** A 32-bit write to the file's MMIO page (reads of the page return zero, stores elsewhere are ignored). */
  mmioWrite(offset: number, value: number): void {
    if (offset === IMSIC_MMIO_SETIPNUM_LE) this.setPending(value >>> 0);
    else if (offset === IMSIC_MMIO_SETIPNUM_BE) this.setPending(bswap32(value));
  }

  /** The highest-priority pending-and-enabled identity under the threshold, or 0. */
  topId(): number {
    const limit = this.eithreshold === 0 ? this.nrIds + 1 : Math.min(this.eithreshold, this.nrIds + 1);
    const eip = this.eip;
    const eie = this.eie;
    for (let w = 0; w < eip.length; w++) {
      const m = eip[w]! & eie[w]!;
      if (m === 0) continue;
      const id = w * 32 + (31 - Math.clz32(m & -m));
      return id < limit ? id : 0;
    }
    return 0;
  }

  /** *topei: identity in bits 26:16 and again as the priority in bits 10:0 (IMSIC priority = identity). */
  topei(): number {
    const id = this.topId();
    return id === 0 ? 0 : ((id << 16) | id) >>> 0;
  }

  /** A write to *topei claims the top identity: its pending bit clears. */
  claim(): void {
    const id = this.topId();
    if (id === 0) return;
    const w = id >>> 5;
    this.eip[w] = this.eip[w]! & ~(1 << (id & 31));
    this.update();
  }

  /**
   * Whether `isel` names a register of this file on RV64: eidelivery,
   * eithreshold, or an even eipK/eieK that covers identities up to N (the
   * others raise an exception, as imsic_mrif_isel_check() refuses them).
   */
  hasRegister(isel: number): boolean {
    if (isel === IMSIC_EIDELIVERY || isel === IMSIC_EITHRESHOLD) return true;
    if (isel < IMSIC_EIP0 || isel > IMSIC_EIE0 + 63) return false;
    const k = (isel - IMSIC_EIP0) & 63;
    return (k & 1) === 0 && k * 32 <= this.nrIds;
  }

  /** Read an indirect register; the caller has checked hasRegister(). */
  read(isel: number): bigint {
    if (isel === IMSIC_EIDELIVERY) return BigInt(this.eidelivery);
    if (isel === IMSIC_EITHRESHOLD) return BigInt(this.eithreshold);
    const arr = isel < IMSIC_EIE0 ? this.eip : this.eie;
    const w = (isel - IMSIC_EIP0) & 63;
    return (BigInt(arr[w + 1]!) << 32n) | BigInt(arr[w]!);
  }

  /** Write an indirect register with its WARL rules; the caller has checked hasRegister(). */
  write(isel: number, v: bigint): void {
    if (isel === IMSIC_EIDELIVERY) this.eidelivery = Number(v & 1n);
    else if (isel === IMSIC_EITHRESHOLD) {
      // Holds any value 0..N (the field is wide enough for N); bits above are dropped.
      const bits = 32 - Math.clz32(this.nrIds);
      this.eithreshold = Number(v & BigInt((1 << bits) - 1));
    } else {
      const arr = isel < IMSIC_EIE0 ? this.eip : this.eie;
      const w = (isel - IMSIC_EIP0) & 63;
      arr[w] = w === 0 ? Number(v & 0xffff_fffen) : Number(v & 0xffff_ffffn);
      arr[w + 1] = Number((v >> 32n) & 0xffff_ffffn);
    }
    this.update();
  }

  /** Power-on state: delivery off, nothing pending or enabled. */
  reset(): void {
    this.eidelivery = 0;
    this.eithreshold = 0;
    this.eip.fill(0);
    this.eie.fill(0);
    this.update();
  }

  /** Recompute the interrupt signal and tell the hart when it changes. */
  update(): void {
    const level = this.eidelivery === 1 && this.topId() !== 0;
    if (level === this.signalled) return;
    this.signalled = level;
    this.onSignal?.(level);
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}

/** How an AIA CSR access must fail: the hart raises illegal-instruction from HS, virtual-instruction from VS. */
export type AiaFault = 'none' | 'fault';

/**
 * The hart's AIA state: its GEILEN guest interrupt files (files[1..GEILEN]),
 * hgeie, hgeip (the files' signals, read-only) and vsiselect.
 */
export class HartAia {
  /** Guest interrupt files, index 1..GEILEN (index 0 unused: VGEIN = 0 selects none). */
  readonly files: (ImsicFile | undefined)[];
  /** hgeie: which guest files raise the HS-level SGEI (bits 1..GEILEN). */
  hgeie = 0;
  /** hgeip: bit i is file i's interrupt signal. */
  hgeip = 0;
  /** vsiselect. */
  vsiselect = 0;
  /** Writable bits of hgeie. */
  readonly hgeieMask: number;
  /** Set when hgeip changes, so a hart that sleeps or runs elsewhere can be told (KVM's vCPU kick). */
  onChange: (() => void) | undefined;

  constructor(
    /** GEILEN: the number of guest interrupt files (0..31 in this model). */
    readonly geilen: number,
    /** N of each guest file. */
    nrIds = 255,
  ) {
    this.files = [undefined];
    for (let i = 1; i <= geilen; i++) {
      const f = new ImsicFile(nrIds);
      const bit = 1 << i;
      f.onSignal = (level) => {
        this.hgeip = level ? this.hgeip | bit : this.hgeip & ~bit;
        this.onChange?.();
      };
      this.files.push(f);
    }
    // Bit 31 would make the mask negative; files above 30 are not modelled.
    this.hgeieMask = geilen === 0 ? 0 : ((1 << (geilen + 1)) - 2) | 0;
  }

  /** The file hstatus.VGEIN selects, if it is a valid number (1..GEILEN). */
  selected(hstatus: number): ImsicFile | undefined {
    const vgein = (hstatus & HSTATUS_VGEIN) >>> HSTATUS_VGEIN_SHIFT;
    return vgein === 0 ? undefined : this.files[vgein];
  }

  /**
   * hip bits the guest files contribute: VSEIP when the file VGEIN selects
   * signals, SGEIP when any file enabled in hgeie does (AIA spec, hgeip/hgeie).
   */
  hipBits(hstatus: number): number {
    const g = this.hgeip;
    if (g === 0) return 0;
    let p = (g & this.hgeie) !== 0 ? C.MIP_SGEIP : 0;
    const vgein = (hstatus & HSTATUS_VGEIN) >>> HSTATUS_VGEIN_SHIFT;
    if (vgein !== 0 && ((g >>> vgein) & 1) !== 0) p |= C.MIP_VSEIP;
    return p;
  }

  /**
   * Whether an access to vsireg or vstopei must fault: vsireg needs
   * vsiselect to name an IMSIC register of the selected file (0x70-0xff
   * with VGEIN valid; 0x30-0x3f, the major priorities, are not reachable
   * through vsireg), vstopei needs VGEIN valid. hart.ts turns a fault into
   * illegal-instruction from HS and virtual-instruction from VS, as the
   * spec (and QEMU's rmw_xireg) do.
   */
  accessFault(csr: number, hstatus: number): boolean {
    if (csr !== CSR_VSIREG && csr !== CSR_VSTOPEI) return false;
    const f = this.selected(hstatus);
    if (f === undefined) return true;
    return csr === CSR_VSIREG && !f.hasRegister(this.vsiselect);
  }

  /** Read vsiselect, vsireg, vstopei or vstopi (after accessFault said no). */
  read(csr: number, hstatus: number, vsPending: number): bigint {
    switch (csr) {
      case CSR_VSISELECT:
        return BigInt(this.vsiselect);
      case CSR_VSIREG:
        return this.selected(hstatus)?.read(this.vsiselect) ?? 0n;
      case CSR_VSTOPEI:
        return BigInt(this.selected(hstatus)?.topei() ?? 0);
      case CSR_VSTOPI:
        return vstopi(vsPending);
      case C.CSR_HGEIE:
        return BigInt(this.hgeie >>> 0);
      case C.CSR_HGEIP:
        return BigInt(this.hgeip >>> 0);
      default:
        return 0n;
    }
  }

  /** Write vsiselect, vsireg, vstopei (a claim) or hgeie. */
  write(csr: number, hstatus: number, v: bigint): void {
    switch (csr) {
      case CSR_VSISELECT:
        this.vsiselect = Number(v & BigInt(ISELECT_MASK));
        return;
      case CSR_VSIREG:
        this.selected(hstatus)?.write(this.vsiselect, v);
        return;
      case CSR_VSTOPEI:
        this.selected(hstatus)?.claim();
        return;
      case C.CSR_HGEIE:
        this.hgeie = Number(v & 0xffff_ffffn) & this.hgeieMask;
        this.onChange?.();
        return;
    }
  }
}

/**
 * vstopi with hvictl = 0 (no VTI injection, IPRIOM = 0): the highest
 * pending-and-enabled VS-level interrupt in the guest's numbering (SEI 9,
 * SSI 1, STI 5, the default priority order), IID in bits 27:16 and IPRIO 1,
 * as IPRIOM = 0 reports it; 0 when none. `vsPending` is hip & hie & hideleg.
 */
export function vstopi(vsPending: number): bigint {
  let iid = 0;
  if ((vsPending & C.MIP_VSEIP) !== 0) iid = C.IRQ_S_EXT;
  else if ((vsPending & C.MIP_VSSIP) !== 0) iid = C.IRQ_S_SOFT;
  else if ((vsPending & C.MIP_VSTIP) !== 0) iid = C.IRQ_S_TIMER;
  return iid === 0 ? 0n : BigInt((iid << 16) | 1);
}

/** Is `csr` one of the AIA CSR numbers hart.ts routes here? */
export function isAiaCsr(csr: number): boolean {
  return (
    csr === CSR_VSISELECT ||
    csr === CSR_VSIREG ||
    csr === CSR_VSTOPEI ||
    csr === CSR_VSTOPI ||
    csr === C.CSR_HGEIE ||
    csr === C.CSR_HGEIP
  );
}
