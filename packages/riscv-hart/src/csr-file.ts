import * as A from './aia.ts';
import * as C from './csr.ts';
import { illegal, virtualInsn } from './exceptions.ts';
import { fpOff, markFsDirty } from './exec-fd.ts';
import type { Hart } from './hart.ts';

// The CSR file: which registers exist, the privilege and virtualization
// checks of an access (csrCheck), and each register's read value and WARL
// write rule (csrRead/csrWrite). The instructions that reach it (CSRRW and
// friends) are decoded in exec-system.ts; the host's getCsr/setCsr use the
// same read and write.

export const PPN_MASK = (1n << 44n) - 1n;
const XLEN_FIELD = 2n << 32n; // UXL / VSXL = 64-bit
const SD = 1n << 63n;
export const MASK64 = (1n << 64n) - 1n;

/** CSRs that exist (host numbering). */
export const CSRS = new Set<number>([
  C.CSR_FFLAGS,
  C.CSR_FRM,
  C.CSR_FCSR,
  C.CSR_SSTATUS,
  C.CSR_SIE,
  C.CSR_STVEC,
  C.CSR_SCOUNTEREN,
  C.CSR_SENVCFG,
  C.CSR_SSCRATCH,
  C.CSR_SEPC,
  C.CSR_SCAUSE,
  C.CSR_STVAL,
  C.CSR_SIP,
  C.CSR_STIMECMP,
  C.CSR_SATP,
  C.CSR_VSSTATUS,
  C.CSR_VSIE,
  C.CSR_VSTVEC,
  C.CSR_VSSCRATCH,
  C.CSR_VSEPC,
  C.CSR_VSCAUSE,
  C.CSR_VSTVAL,
  C.CSR_VSIP,
  C.CSR_VSTIMECMP,
  C.CSR_VSATP,
  C.CSR_HSTATUS,
  C.CSR_HEDELEG,
  C.CSR_HIDELEG,
  C.CSR_HIE,
  C.CSR_HTIMEDELTA,
  C.CSR_HCOUNTEREN,
  C.CSR_HGEIE,
  C.CSR_HENVCFG,
  C.CSR_HTVAL,
  C.CSR_HIP,
  C.CSR_HVIP,
  C.CSR_HTINST,
  C.CSR_HGATP,
  C.CSR_HGEIP,
  C.CSR_MSTATUS,
  A.CSR_SISELECT,
  A.CSR_SIREG,
  A.CSR_STOPEI,
  A.CSR_STOPI,
  A.CSR_VSISELECT,
  A.CSR_VSIREG,
  A.CSR_VSTOPEI,
  A.CSR_VSTOPI,
]);
for (let n = C.CSR_CYCLE; n <= C.CSR_HPMCOUNTER31; n++) CSRS.add(n);

/** When V=1, these supervisor CSR numbers reach their VS counterparts (H spec 8.2). */
const VS_ALIAS = new Map<number, number>([
  [C.CSR_SSTATUS, C.CSR_VSSTATUS],
  [C.CSR_SIE, C.CSR_VSIE],
  [C.CSR_STVEC, C.CSR_VSTVEC],
  [C.CSR_SSCRATCH, C.CSR_VSSCRATCH],
  [C.CSR_SEPC, C.CSR_VSEPC],
  [C.CSR_SCAUSE, C.CSR_VSCAUSE],
  [C.CSR_STVAL, C.CSR_VSTVAL],
  [C.CSR_SIP, C.CSR_VSIP],
  [C.CSR_STIMECMP, C.CSR_VSTIMECMP],
  [C.CSR_SATP, C.CSR_VSATP],
  [A.CSR_SISELECT, A.CSR_VSISELECT],
  [A.CSR_SIREG, A.CSR_VSIREG],
  [A.CSR_STOPEI, A.CSR_VSTOPEI],
  [A.CSR_STOPI, A.CSR_VSTOPI],
]);

/**
 * Privilege checks of a CSR access; returns the register actually accessed
 * (VS aliasing when V=1). Illegal-instruction when the CSR does not exist,
 * is written while read-only or is above the mode even for HS; virtual
 * instruction when HS could access it but V=1 cannot (H spec 9.6).
 */
export function csrCheck(h: Hart, csr: number, write: boolean, raw: number): number {
  if (!CSRS.has(csr)) illegal(h, raw);
  if (write && csr >>> 10 === 3) illegal(h, raw);
  const level = (csr >>> 8) & 3;
  if (level === 3) illegal(h, raw);
  const v = h.v;
  const u = h.priv === C.PRV_U;
  if (v === 0) {
    if (u && level > 0) illegal(h, raw);
  } else if (level === 2 || (level === 1 && u)) virtualInsn(h, raw);
  if (csr >= C.CSR_CYCLE && csr <= C.CSR_HPMCOUNTER31) {
    const bit = csr & 31;
    if (v === 1) {
      if (((h.hcounteren >>> bit) & 1) === 0) virtualInsn(h, raw);
      if (u && ((h.scounteren >>> bit) & 1) === 0) virtualInsn(h, raw);
    } else if (u && ((h.scounteren >>> bit) & 1) === 0) illegal(h, raw);
  }
  if (csr <= C.CSR_FCSR && fpOff(h)) illegal(h, raw);
  const alias = VS_ALIAS.get(csr);
  if (alias !== undefined && A.isAiaCsr(alias)) {
    // AIA: no HS-level IMSIC is modelled (illegal from HS); vsireg/vstopei need a valid VGEIN/vsiselect.
    if (v === 0) illegal(h, raw);
    if (h.aia.accessFault(alias, h.hstatus)) virtualInsn(h, raw);
  } else if (v === 0 && h.aia.accessFault(csr, h.hstatus)) illegal(h, raw);
  if (v === 1) {
    if (csr === C.CSR_SATP && (h.hstatus & C.HSTATUS_VTVM) !== 0) virtualInsn(h, raw);
    if (csr === C.CSR_STIMECMP && ((h.henvcfg & C.ENVCFG_STCE) === 0n || ((h.hcounteren >>> 1) & 1) === 0))
      virtualInsn(h, raw);
    return VS_ALIAS.get(csr) ?? csr;
  }
  return csr;
}

export function csrRead(h: Hart, num: number): bigint {
  switch (num) {
    case C.CSR_FFLAGS:
      return BigInt(h.fflags);
    case C.CSR_FRM:
      return BigInt(h.frm);
    case C.CSR_FCSR:
      return BigInt((h.frm << 5) | h.fflags);
    case C.CSR_CYCLE:
    case C.CSR_INSTRET:
      return BigInt(h.instret + h.inflight);
    case C.CSR_TIME:
      return h.v === 1 ? h.vsTime() : BigInt.asUintN(64, h.readTime());
    case C.CSR_MSTATUS:
    case C.CSR_SSTATUS:
      return status64(h.mstatus & (num === C.CSR_SSTATUS ? C.SSTATUS_WRITABLE : -1));
    case C.CSR_SIE:
      return BigInt(h.sie);
    case C.CSR_SIP:
      return BigInt(h.sip);
    case C.CSR_STVEC:
      return h.stvec;
    case C.CSR_SCOUNTEREN:
      return BigInt(h.scounteren >>> 0);
    case C.CSR_SENVCFG:
      return h.senvcfg;
    case C.CSR_SSCRATCH:
      return h.sscratch;
    case C.CSR_SEPC:
      return h.sepc;
    case C.CSR_SCAUSE:
      return h.scause;
    case C.CSR_STVAL:
      return h.stval;
    case C.CSR_STIMECMP:
      return h.stimecmp;
    case C.CSR_SATP:
      return h.satp;
    case C.CSR_VSSTATUS:
      return status64(h.vsstatus);
    case C.CSR_VSIE:
      return BigInt((h.hie & h.hideleg & C.VS_INTERRUPTS) >>> 1);
    case C.CSR_VSIP:
      return BigInt((h.hip() & h.hideleg & C.VS_INTERRUPTS) >>> 1);
    case C.CSR_VSTVEC:
      return h.vstvec;
    case C.CSR_VSSCRATCH:
      return h.vsscratch;
    case C.CSR_VSEPC:
      return h.vsepc;
    case C.CSR_VSCAUSE:
      return h.vscause;
    case C.CSR_VSTVAL:
      return h.vstval;
    case C.CSR_VSTIMECMP:
      return h.vstimecmp;
    case C.CSR_VSATP:
      return h.vsatp;
    case C.CSR_HSTATUS:
      return BigInt(h.hstatus >>> 0) | XLEN_FIELD;
    case C.CSR_HEDELEG:
      return BigInt(h.hedeleg);
    case C.CSR_HIDELEG:
      return BigInt(h.hideleg);
    case C.CSR_HIE:
      return BigInt(h.hie);
    case C.CSR_HIP:
      return BigInt(h.hip());
    case C.CSR_HVIP:
      return BigInt(h.hvip);
    case C.CSR_HTIMEDELTA:
      return h.htimedelta;
    case C.CSR_HCOUNTEREN:
      return BigInt(h.hcounteren >>> 0);
    case C.CSR_HENVCFG:
      return h.henvcfg;
    case C.CSR_HTVAL:
      return h.htval;
    case C.CSR_HTINST:
      return h.htinst;
    case C.CSR_HGATP:
      return h.hgatp;
    default:
      return h.aia.read(num, h.hstatus, h.hip() & h.hie & h.hideleg); // AIA CSRs; 0 for hpmcounters
  }
}

export function csrWrite(h: Hart, num: number, v: bigint): void {
  const lo = Number(v & 0xffffffffn) | 0;
  switch (num) {
    case C.CSR_FFLAGS:
      h.fflags = lo & 31;
      markFsDirty(h);
      return;
    case C.CSR_FRM:
      h.frm = lo & 7;
      markFsDirty(h);
      return;
    case C.CSR_FCSR:
      h.fflags = lo & 31;
      h.frm = (lo >>> 5) & 7;
      markFsDirty(h);
      return;
    case C.CSR_MSTATUS:
    case C.CSR_SSTATUS:
      h.mstatus = (h.mstatus & ~C.SSTATUS_WRITABLE) | (lo & C.SSTATUS_WRITABLE);
      h.updateContext();
      return;
    case C.CSR_SIE:
      h.sie = lo & 0x222;
      return;
    case C.CSR_SIP:
      h.sip = (h.sip & ~2) | (lo & 2);
      return;
    case C.CSR_STVEC:
      h.stvec = v & ~2n;
      return;
    case C.CSR_SCOUNTEREN:
      h.scounteren = lo;
      return;
    case C.CSR_SENVCFG:
      h.senvcfg = v & 1n; // FIOM only
      return;
    case C.CSR_SSCRATCH:
      h.sscratch = v;
      return;
    case C.CSR_SEPC:
      h.sepc = v & ~1n;
      return;
    case C.CSR_SCAUSE:
      h.scause = v;
      return;
    case C.CSR_STVAL:
      h.stval = v;
      return;
    case C.CSR_STIMECMP:
      h.stimecmp = v;
      return;
    case C.CSR_SATP:
      if (!validSatp(v)) return; // unsupported MODE: the write has no effect
      h.satp = v & ((0xfn << 60n) | (0xffffn << 44n) | PPN_MASK);
      h.updateContext();
      return;
    case C.CSR_VSSTATUS:
      h.vsstatus = (h.vsstatus & ~C.SSTATUS_WRITABLE) | (lo & C.SSTATUS_WRITABLE);
      h.updateContext();
      return;
    case C.CSR_VSIE: {
      const m = h.hideleg & C.VS_INTERRUPTS;
      h.hie = (h.hie & ~m) | ((lo << 1) & m);
      return;
    }
    case C.CSR_VSIP:
      if ((h.hideleg & C.MIP_VSSIP) !== 0) h.hvip = (h.hvip & ~C.MIP_VSSIP) | ((lo << 1) & C.MIP_VSSIP);
      return;
    case C.CSR_VSTVEC:
      h.vstvec = v & ~2n;
      return;
    case C.CSR_VSSCRATCH:
      h.vsscratch = v;
      return;
    case C.CSR_VSEPC:
      h.vsepc = v & ~1n;
      return;
    case C.CSR_VSCAUSE:
      h.vscause = v;
      return;
    case C.CSR_VSTVAL:
      h.vstval = v;
      return;
    case C.CSR_VSTIMECMP:
      h.vstimecmp = v;
      return;
    case C.CSR_VSATP:
      if (!validSatp(v)) return;
      h.vsatp = v & ((0xfn << 60n) | (0xffffn << 44n) | PPN_MASK);
      h.updateContext();
      return;
    case C.CSR_HSTATUS:
      h.hstatus = lo & (C.HSTATUS_WRITABLE | A.HSTATUS_VGEIN);
      return;
    case C.CSR_HEDELEG:
      h.hedeleg = lo & C.HEDELEG_WRITABLE;
      return;
    case C.CSR_HIDELEG:
      h.hideleg = lo & C.HIDELEG_WRITABLE;
      return;
    case C.CSR_HIE:
      h.hie = lo & (C.VS_INTERRUPTS | C.MIP_SGEIP);
      return;
    case C.CSR_HIP:
      h.hvip = (h.hvip & ~C.MIP_VSSIP) | (lo & C.MIP_VSSIP);
      return;
    case C.CSR_HVIP:
      h.hvip = lo & C.VS_INTERRUPTS;
      return;
    case C.CSR_HTIMEDELTA:
      h.htimedelta = v;
      return;
    case C.CSR_HCOUNTEREN:
      h.hcounteren = lo;
      return;
    case C.CSR_HENVCFG:
      h.henvcfg = v & (C.ENVCFG_STCE | 1n);
      return;
    case C.CSR_HTVAL:
      h.htval = v;
      return;
    case C.CSR_HTINST:
      h.htinst = v;
      return;
    case C.CSR_HGATP: {
      const mode = Number(v >> 60n);
      if (mode !== 0 && mode !== C.HGATP_MODE_SV39X4 && mode !== C.HGATP_MODE_SV48X4) return;
      // VMIDLEN = 14; the x4 root is 16 KiB aligned, so PPN bits 1:0 read as zero.
      h.hgatp = v & ((0xfn << 60n) | (0x3fffn << 44n) | (PPN_MASK & ~3n));
      h.updateContext();
      return;
    }
    default:
      h.aia.write(num, h.hstatus, v); // AIA CSRs (aia.ts)
      return;
  }
}

function status64(low: number): bigint {
  const v = BigInt(low >>> 0) | XLEN_FIELD;
  return (low & C.SR_FS) === C.SR_FS_DIRTY ? v | SD : v;
}

function validSatp(v: bigint): boolean {
  const mode = Number(v >> 60n);
  return mode === C.SATP_MODE_BARE || mode === C.SATP_MODE_SV39 || mode === C.SATP_MODE_SV48;
}

export const sx = (v: bigint) => Number(BigInt.asIntN(64, v));
