import * as C from './csr.ts';
import { csrCheck, csrRead, csrWrite, MASK64, sx } from './csr-file.ts';
import { illegal, raise, raiseCause, record, virtualInsn } from './exceptions.ts';
import type { Hart } from './hart.ts';
import { entry, load, store } from './memory-access.ts';
import { ACC_EXEC } from './tlb.ts';

// SYSTEM: the CSR instructions, ecall/ebreak, sret, wfi, the TLB fences
// (sfence.vma, hfence.vvma/gvma) and the H extension's HLV/HLVX/HSV.

/**
 * Executes the SYSTEM instruction at h.pcNum and leaves the next pc there
 * (pcs pass through the hart, not as arguments or results: see exec()).
 */
export function system(h: Hart, insn: number, raw: number, len: number): void {
  const f3 = (insn >> 12) & 7;
  const pc = h.pcNum;
  if (f3 === 0) {
    h.pcNum = privileged(h, insn, raw, pc, len);
    return;
  }
  if (f3 === 4) {
    hypervisorLoadStore(h, insn, raw);
    h.pcNum = pc + len;
    return;
  }
  const csr = insn >>> 20;
  const rs1 = (insn >> 15) & 31;
  const rd = (insn >> 7) & 31;
  const op = f3 & 3;
  const write = op === 1 || rs1 !== 0;
  const num = csrCheck(h, csr, write, raw);
  if (num === C.CSR_TIME) {
    // rdtime (time is read-only: csrCheck let no write through). The
    // BigInt64Array store wraps to 64 bits, as csrRead's asUintN and the
    // register write's asIntN would, without their two BigInts: U-Boot's
    // delay loops read time some 350 thousand times a boot.
    if (rd !== 0) h.x[rd] = h.v === 1 ? h.readTime() + h.htimedelta : h.readTime();
    h.pcNum = pc + len;
    return;
  }
  if (num === C.CSR_SSTATUS || num === C.CSR_VSSTATUS) {
    statusAccess(h, num, f3, rs1, rd);
    h.pcNum = pc + len;
    return;
  }
  const old = csrRead(h, num);
  if (write) {
    const src = f3 >= 5 ? BigInt(rs1) : BigInt.asUintN(64, h.x[rs1]!);
    csrWrite(h, num, op === 1 ? src : op === 2 ? old | src : old & ~src & MASK64);
  }
  if (rd !== 0) h.x[rd] = BigInt.asIntN(64, old);
  h.pcNum = pc + len;
}

/**
 * sstatus (or vsstatus, which sstatus is while V=1) read and written in
 * int32 words: Linux's local_irq_save/restore and uaccess SUM toggles do
 * this tens of thousands of times a boot, and the general path's BigInt
 * value and register write allocate on each. The same result as csrRead
 * (UXL = 64, SD when FS is dirty) and csrWrite (the writable bits only,
 * then updateContext when SUM or MXR changed).
 */
function statusAccess(h: Hart, num: number, f3: number, rs1: number, rd: number): void {
  const x = h.x32;
  const v = num === C.CSR_VSSTATUS;
  const lo = v ? h.vsstatus : h.mstatus & C.SSTATUS_WRITABLE;
  const op = f3 & 3;
  if (op === 1 || rs1 !== 0) {
    const src = f3 >= 5 ? rs1 : x[rs1 << 1]!;
    const w = (op === 1 ? src : op === 2 ? lo | src : lo & ~src) & C.SSTATUS_WRITABLE;
    if (v) h.vsstatus = (h.vsstatus & ~C.SSTATUS_WRITABLE) | w;
    else h.mstatus = (h.mstatus & ~C.SSTATUS_WRITABLE) | w;
    // Of these bits only SUM and MXR reach the translation context: an SIE
    // toggle (local_irq_save/restore) keeps it, the TLB set and the fetch page.
    if (((lo ^ w) & (C.SR_SUM | C.SR_MXR)) !== 0) h.updateContext();
  }
  if (rd !== 0) {
    x[rd << 1] = lo;
    x[(rd << 1) + 1] = (lo & C.SR_FS) === C.SR_FS_DIRTY ? STATUS_HI | 0x80000000 : STATUS_HI;
  }
}

/** The high word of a 64-bit status CSR: UXL (bits 33:32) = 2, 64-bit. */
const STATUS_HI = 2;

/**
 * HLV/HLVX/HSV: an access from HS (or U with hstatus.HU) made as though
 * V=1 at privilege hstatus.SPVP, through vsatp and hgatp. From V=1 they are
 * virtual instructions; from U without HU, illegal. HLVX needs execute
 * permission and faults as a load.
 */
export function hypervisorLoadStore(h: Hart, insn: number, raw: number): void {
  if (h.v === 1) virtualInsn(h, raw);
  if (h.priv === C.PRV_U && (h.hstatus & C.HSTATUS_HU) === 0) illegal(h, raw);
  const f7 = insn >>> 25;
  const rs2 = (insn >> 20) & 31;
  const rd = (insn >> 7) & 31;
  const size = 1 << ((f7 >> 1) & 3);
  const isStore = (f7 & 1) === 1;
  if ((f7 & 0x78) !== 0x30 || (isStore ? rd !== 0 : rs2 > 3 || rs2 === 2)) illegal(h, raw);
  const hlvx = !isStore && rs2 === 3;
  if ((hlvx && size === 1) || (!isStore && size === 8 && rs2 !== 0)) illegal(h, raw);
  const r1 = (insn >> 14) & 62;
  const lo = h.x32[r1]!;
  const hi = h.x32[r1 + 1]!;
  const priv = h.priv;
  h.v = 1;
  h.priv = (h.hstatus & C.HSTATUS_SPVP) !== 0 ? C.PRV_S : C.PRV_U;
  h.updateContext();
  try {
    if (isStore) {
      store(h, lo, hi, size, h.x32[rs2 << 1]!, h.x32[(rs2 << 1) + 1]!, 0);
      return;
    }
    const t = h.tmp;
    if (hlvx) {
      if ((lo & (size - 1)) !== 0) raise(h, C.EXC_LOAD_MISALIGNED, lo, hi);
      h.mmu.xAsLoad = true;
      const e = entry(h, lo, hi, ACC_EXEC, 0);
      const w = h.set.ways[ACC_EXEC];
      const p = w.base[e]! + (lo & 4095);
      t[0] = size === 4 ? w.mem[e]!.i32[p >>> 2]! : w.mem[e]!.u16[p >>> 1]!;
      t[1] = 0;
    } else load(h, lo, hi, size, 0);
    let a = t[0]!;
    let b = t[1]!;
    const signed = rs2 === 0;
    if (size < 8) b = signed ? (a << (32 - 8 * size)) >> 31 : 0;
    if (size < 4) a = signed ? (a << (32 - 8 * size)) >> (32 - 8 * size) : a;
    if (size === 4 && !signed) b = 0;
    if (rd !== 0) {
      h.x32[rd << 1] = a;
      h.x32[(rd << 1) + 1] = b;
    }
  } finally {
    h.mmu.xAsLoad = false;
    h.v = 0;
    h.priv = priv;
    h.updateContext();
  }
}

export function privileged(h: Hart, insn: number, raw: number, pc: number, len: number): number {
  const v = h.v;
  const u = h.priv === C.PRV_U;
  switch (insn) {
    case 0x00000073: // ecall
      return raiseCause(h, u ? C.EXC_ECALL_U : v === 1 ? C.EXC_ECALL_VS : C.EXC_ECALL_HS, 0n);
    case 0x00100073: // ebreak
      return raiseCause(h, C.EXC_BREAKPOINT, BigInt.asUintN(64, BigInt(pc)));
    case 0x10200073: {
      // sret
      if (v === 1) {
        if (u || (h.hstatus & C.HSTATUS_VTSR) !== 0) virtualInsn(h, raw);
        const s = h.vsstatus;
        h.priv = (s & C.SR_SPP) !== 0 ? C.PRV_S : C.PRV_U;
        h.vsstatus = ((s & C.SR_SPIE) !== 0 ? s | C.SR_SIE : s & ~C.SR_SIE) | C.SR_SPIE;
        h.vsstatus &= ~C.SR_SPP;
        h.reservations.clear(h.resvId);
        h.updateContext();
        return sx(h.vsepc);
      }
      if (u) illegal(h, raw);
      const s = h.mstatus;
      h.priv = (s & C.SR_SPP) !== 0 ? C.PRV_S : C.PRV_U;
      h.mstatus = (((s & C.SR_SPIE) !== 0 ? s | C.SR_SIE : s & ~C.SR_SIE) | C.SR_SPIE) & ~C.SR_SPP;
      if ((h.hstatus & C.HSTATUS_SPV) !== 0) {
        h.v = 1;
        h.hstatus &= ~C.HSTATUS_SPV;
      }
      h.reservations.clear(h.resvId);
      h.updateContext();
      return sx(h.sepc);
    }
    case 0x10500073: // wfi
      if (u) {
        if (v === 1) virtualInsn(h, raw);
        illegal(h, raw);
      }
      if (v === 1 && (h.hstatus & C.HSTATUS_VTW) !== 0) virtualInsn(h, raw);
      if ((h.hip() & h.hie) === 0 || v === 0) {
        h.pcNum = pc + len;
        h.exitRec = record(h, 'idle', -1, false, 0n, 0n, 0n, false);
      }
      return pc + len;
  }
  const f7 = insn >>> 25;
  if ((insn & 0x7f80) !== 0) illegal(h, raw); // rd and funct3 must be zero
  const rs1 = (insn >> 15) & 31;
  const rs2 = (insn >> 20) & 31;
  const lo = h.x32[rs1 << 1]!;
  const hi = h.x32[(rs1 << 1) + 1]!;
  if (f7 === 0x09) {
    // sfence.vma
    if (v === 1 && (u || (h.hstatus & C.HSTATUS_VTVM) !== 0)) virtualInsn(h, raw);
    if (u) illegal(h, raw);
    const asid = rs2 === 0 ? undefined : h.x32[rs2 << 1]! & 0xffff;
    const vmid = v === 1 ? hgatpVmid(h) : undefined;
    if (rs1 === 0) h.tlb.flush(v, vmid, asid);
    else h.tlb.flush(v, vmid, asid, lo, hi);
  } else if (f7 === 0x11 || f7 === 0x31) {
    // hfence.vvma / hfence.gvma
    if (v === 1) virtualInsn(h, raw);
    if (u) illegal(h, raw);
    if (f7 === 0x11) {
      const asid = rs2 === 0 ? undefined : h.x32[rs2 << 1]! & 0xffff;
      if (rs1 === 0) h.tlb.flush(1, hgatpVmid(h), asid);
      else h.tlb.flush(1, hgatpVmid(h), asid, lo, hi);
    } else {
      // A GPA names no virtual page: drop all of the VMID's combined translations.
      h.tlb.flush(1, rs2 === 0 ? undefined : h.x32[rs2 << 1]! & 0x3fff, undefined);
      h.mmu.flush();
    }
  } else {
    if (v === 1 && insn === 0x30200073) illegal(h, raw); // mret
    illegal(h, raw);
  }
  h.fPage = Number.NaN;
  return pc + len;
}

/** The VMID field of hgatp. */
export function hgatpVmid(h: Hart): number {
  return Number((h.hgatp >> 44n) & 0x3fffn);
}

/**
 * After a CSR instruction (funct3 != 0): true when it cannot have made an
 * interrupt deliverable nor changed state the running chunk holds, so the
 * chunk may go on. sie0 is the SIE bit before it, of vsstatus (V=1) or
 * mstatus (V=0).
 */
export function csrKeepsChunk(h: Hart, insn: number, sie0: number): boolean {
  const f3 = (insn >> 12) & 7;
  const rs1 = (insn >> 15) & 31;
  if ((f3 & 3) !== 1 && rs1 === 0) return true; // CSRRS/CSRRC with x0: a read
  switch (insn >>> 20) {
    case C.CSR_FFLAGS:
    case C.CSR_FRM:
    case C.CSR_FCSR:
    case C.CSR_STVEC:
    case C.CSR_SSCRATCH:
    case C.CSR_SEPC:
    case C.CSR_SCAUSE:
    case C.CSR_STVAL:
      return true;
    case C.CSR_SSTATUS:
      return ((h.v === 1 ? h.vsstatus : h.mstatus) & C.SR_SIE & ~sie0) === 0;
    default:
      return false;
  }
}
