import * as C from './csr.ts';
import { sx } from './csr-file.ts';
import type { ExitKind, HartExit } from './exit.ts';
import type { Hart } from './hart.ts';
import { TRAP, TRAP_CHARGE } from './trap.ts';

// Exceptions and interrupts: raising an exception records the cause and trap
// values in the hart's PendingTrap and throws TRAP (the run loop catches it);
// takeTrap then delivers it into the guest's VS handler when hedeleg says so,
// or ends run() with an exit record holding what a trap to HS writes.

export function illegal(h: Hart, raw: number): never {
  const p = h.pending;
  p.cause = C.EXC_ILLEGAL_INST;
  p.tval = BigInt((raw & 3) === 3 ? raw >>> 0 : raw & 0xffff);
  p.htval = 0n;
  p.htinst = 0;
  p.gva = false;
  throw TRAP;
}

export function virtualInsn(h: Hart, raw: number): never {
  const p = h.pending;
  p.cause = C.EXC_VIRTUAL_INST;
  p.tval = BigInt((raw & 3) === 3 ? raw >>> 0 : raw & 0xffff);
  p.htval = 0n;
  p.htinst = 0;
  p.gva = false;
  throw TRAP;
}

export function raise(h: Hart, cause: number, lo: number, hi: number): never {
  const p = h.pending;
  p.cause = cause;
  p.tval = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  p.htval = 0n;
  p.htinst = 0;
  p.gva = h.v === 1;
  throw TRAP;
}

export function raiseCause(h: Hart, cause: number, tval: bigint): never {
  const p = h.pending;
  p.cause = cause;
  p.tval = tval;
  p.htval = 0n;
  p.htinst = 0;
  p.gva = false;
  throw TRAP;
}

/** An exception was raised at pcNum: into the guest if hedeleg says so, else an exit. */
export function takeTrap(h: Hart): void {
  const p = h.pending;
  h.trapCharge += TRAP_CHARGE;
  const cause = p.cause;
  if (h.v === 1 && ((h.hedeleg >>> cause) & 1) !== 0) {
    deliverVS(h, cause, false, p.tval);
    return;
  }
  let kind: ExitKind = 'exception';
  if (cause === C.EXC_ECALL_U || cause === C.EXC_ECALL_HS || cause === C.EXC_ECALL_VS) kind = 'ecall';
  else if (
    cause === C.EXC_INST_GUEST_PAGE_FAULT ||
    cause === C.EXC_LOAD_GUEST_PAGE_FAULT ||
    cause === C.EXC_STORE_GUEST_PAGE_FAULT
  )
    kind = 'guest-page-fault';
  else if (cause === C.EXC_VIRTUAL_INST) kind = p.tval === 0x10500073n ? 'wfi' : 'virtual-instruction';
  else if (cause === C.EXC_ILLEGAL_INST) kind = 'illegal-instruction';
  h.exitRec = record(h, kind, cause, false, p.tval, p.htval, BigInt(p.htinst), p.gva);
}

/** Trap into VS-mode: vsepc/vscause/vstval, vsstatus SPP/SPIE/SIE, pc = vstvec. */
export function deliverVS(h: Hart, code: number, interrupt: boolean, tval: bigint): void {
  h.vsepc = BigInt.asUintN(64, BigInt(h.pcNum));
  h.vscause = interrupt ? (1n << 63n) | BigInt(code) : BigInt(code);
  h.vstval = tval;
  let s = h.vsstatus;
  s = h.priv === C.PRV_S ? s | C.SR_SPP : s & ~C.SR_SPP;
  s = (s & C.SR_SIE) !== 0 ? s | C.SR_SPIE : s & ~C.SR_SPIE;
  h.vsstatus = s & ~C.SR_SIE;
  h.priv = C.PRV_S;
  const base = sx(h.vstvec & ~3n);
  h.pcNum = interrupt && (h.vstvec & 1n) !== 0n ? base + 4 * code : base;
  h.reservations.clear(h.resvId);
  h.updateContext();
}

/** The exit record, and the HS CSRs a real trap to HS would have written. */
export function record(
  h: Hart,
  kind: ExitKind,
  cause: number,
  interrupt: boolean,
  tval: bigint,
  htval: bigint,
  htinst: bigint,
  gva: boolean,
): HartExit {
  const pc = BigInt.asUintN(64, BigInt(h.pcNum));
  if (cause >= 0) {
    h.scause = interrupt ? (1n << 63n) | BigInt(cause) : BigInt(cause);
    h.stval = tval;
    h.sepc = pc;
    h.htval = htval;
    h.htinst = htinst;
    let hs = h.hstatus & ~(C.HSTATUS_SPV | C.HSTATUS_GVA);
    if (h.v === 1) {
      hs |= C.HSTATUS_SPV;
      hs = h.priv === C.PRV_S ? hs | C.HSTATUS_SPVP : hs & ~C.HSTATUS_SPVP;
    }
    if (gva) hs |= C.HSTATUS_GVA;
    h.hstatus = hs;
  }
  return {
    kind,
    cause,
    interrupt,
    tval,
    htval,
    htinst,
    pc,
    v: h.v,
    priv: h.priv,
    gva,
    retired: 0,
    charged: 0,
  };
}

/** Take a pending VS interrupt; returns true when it ends the run (not delegated). */
export function checkInterrupts(h: Hart): boolean {
  if (h.v !== 1) return false;
  const hie = h.hie;
  // Cheap exits before hip() (the Sstc timer compare is BigInt work), run at
  // every chunk boundary: nothing enabled could be taken, either because the
  // only enabled interrupts are delegated ones the guest masks (S-mode with
  // vsstatus.SIE clear), or because no enabled one is pending in hvip and the
  // timer is not enabled.
  // The guest interrupt files (AIA hgeip) feed VSEIP and SGEIP, so they count too.
  if (
    (hie & ~h.hideleg & (C.VS_INTERRUPTS | C.MIP_SGEIP)) === 0 &&
    h.priv !== C.PRV_U &&
    (h.vsstatus & C.SR_SIE) === 0
  )
    return false;
  if ((h.hvip & hie) === 0 && (hie & C.MIP_VSTIP) === 0 && h.aia.hgeip === 0) return false;
  const pend = h.hip() & hie;
  if (pend === 0) return false;
  const toHs = pend & ~h.hideleg;
  if (toHs !== 0) {
    h.trapCharge += TRAP_CHARGE;
    h.exitRec = record(h, 'interrupt', pickIrq(toHs), true, 0n, 0n, 0n, false);
    return true;
  }
  if (h.priv === C.PRV_U || (h.vsstatus & C.SR_SIE) !== 0) {
    // VS interrupt n is seen by the guest as the S interrupt n - 1.
    h.trapCharge += TRAP_CHARGE;
    deliverVS(h, pickIrq(pend) - 1, true, 0n);
  }
  return false;
}

/** Priority among VS interrupts: external, software, timer (privileged spec 3.1.9 order). */
function pickIrq(bits: number): number {
  if ((bits & C.MIP_SGEIP) !== 0) return C.IRQ_S_GEXT; // HS-level SGEI outranks every VS interrupt
  if ((bits & C.MIP_VSEIP) !== 0) return C.IRQ_VS_EXT;
  if ((bits & C.MIP_VSSIP) !== 0) return C.IRQ_VS_SOFT;
  return C.IRQ_VS_TIMER;
}
