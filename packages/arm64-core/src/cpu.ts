import { Abort, FSC_ALIGNMENT, FSC_EXTERNAL } from './abort.ts';
import { executeA64 } from './decode.ts';
import {
  EC_DABT_CUR,
  EC_DABT_LOW,
  EC_IABT_CUR,
  EC_IABT_LOW,
  EC_ILLEGAL_STATE,
  EC_PC_ALIGN,
  El2Exit,
  SyncException,
} from './exceptions.ts';
import { type Arm64Exit, ESR_EC_DABT_LOW, ESR_EC_IABT_LOW } from './exit.ts';
import { ACC_FETCH, ACC_READ, ACC_WRITE, Mmu, type TranslationRegs } from './mmu.ts';
import type { PhysMemory } from './phys-memory.ts';
import { buildSysRegs, type SysRegAccess } from './sysregs-table.ts';
import type { Arm64Vcpu } from './vcpu.ts';

/** How an Arm64Cpu is built. */
export interface Arm64CpuOptions {
  /** MPIDR_EL1 affinity (Aff0..Aff3) before VMPIDR_EL2 is written; default 0. */
  mpidr?: bigint;
  /**
   * The host's system counter (CNTPCT as EL2 sees it). Defaults to the
   * number of instructions this vCPU retired, which keeps tests deterministic.
   */
  counter?: () => bigint;
  /** CNTFRQ_EL0, Hz; default 62.5 MHz as QEMU's virt board reports it. */
  cntfrq?: bigint;
}

/** PSTATE/SPSR bits (Arm ARM C5.2.18). */
export const PSTATE_F = 1 << 6;
export const PSTATE_I = 1 << 7;
export const PSTATE_A = 1 << 8;
export const PSTATE_D = 1 << 9;
export const PSTATE_IL = 1 << 20;
/** EL1h: EL1 using SP_EL1; the reset state KVM gives a vCPU (with DAIF set). */
export const PSTATE_EL1H = 0x5;
/** PSTATE at vCPU reset: EL1h with D, A, I and F masked. */
export const PSTATE_RESET = 0x3c5;

/**
 * An AArch64 PE at EL1/EL0 under a TypeScript EL2: the interpreter, its
 * registers and the EL1&0 translation regime with stage 2.
 */
export class Arm64Cpu implements Arm64Vcpu, TranslationRegs {
  /** General purpose registers X0-X30. */
  readonly x = new BigUint64Array(31);
  /** V0-V31 as 64-bit halves: V[n] = v[2n] | v[2n+1] << 64. */
  readonly v = new BigUint64Array(64);
  /** The program counter. */
  pc = 0n;
  /** PSTATE in the SPSR layout; resets to EL1h with DAIF masked, as KVM's vCPU reset. */
  pstate = PSTATE_RESET;
  /** SP_EL0. */
  spEl0 = 0n;
  /** SP_EL1. */
  spEl1 = 0n;

  /** @internal SCTLR_EL1 (RES1 bits and SPAN set at reset). */
  sctlr = 0x30d0_0800n;
  /** @internal TCR_EL1. */
  tcr = 0n;
  /** @internal TTBR0_EL1. */
  ttbr0 = 0n;
  /** @internal TTBR1_EL1. */
  ttbr1 = 0n;
  /** @internal HCR_EL2. */
  hcr = 0n;
  /** @internal VTTBR_EL2. */
  vttbr = 0n;
  /** @internal VTCR_EL2. */
  vtcr = 0n;
  /** @internal CNTVOFF_EL2. */
  cntvoff = 0n;
  /** @internal VPIDR_EL2 (Cortex-A57 r1p0 by default). */
  vpidr = 0x411f_d070n;
  /** @internal VMPIDR_EL2. */
  vmpidr: bigint;
  /** @internal MAIR_EL1. */
  mair = 0n;
  /** @internal VBAR_EL1. */
  vbar = 0n;
  /** @internal ESR_EL1. */
  esr = 0n;
  /** @internal FAR_EL1. */
  far = 0n;
  /** @internal ELR_EL1. */
  elr = 0n;
  /** @internal SPSR_EL1. */
  spsr = 0n;
  /** @internal CPACR_EL1. */
  cpacr = 0n;
  /** @internal PAR_EL1. */
  par = 0n;
  /** @internal CNTKCTL_EL1. */
  cntkctl = 0n;
  /** @internal CNTV_CTL_EL0 (ENABLE, IMASK). */
  cntvCtl = 0n;
  /** @internal CNTV_CVAL_EL0. */
  cntvCval = 0n;
  /** @internal CNTP_CTL_EL0. */
  cntpCtl = 0n;
  /** @internal CNTP_CVAL_EL0. */
  cntpCval = 0n;
  /** @internal FPCR. */
  fpcr = 0n;
  /** @internal FPSR. */
  fpsr = 0n;
  /** CNTFRQ_EL0 in Hz. */
  readonly cntfrq: bigint;

  /** @internal Where the current instruction goes next (branches rewrite it). */
  nextPc = 0n;
  /**
   * @internal ESR_EL2 ISS bits 24:14 (ISV, SAS, SSE, SRT, SF, AR) of the
   * current load/store, for a stage-2 data abort KVM can emulate as MMIO; 0
   * when the instruction gives no valid syndrome. CM (bit 8) for cache maintenance.
   */
  syndrome = 0;
  /** @internal Access kind of the translation in progress (ACC_*). */
  lastAcc = ACC_READ;
  /** @internal The local exclusive monitor: armed address (-1 when clear). */
  monitorAddr = -1n;
  /** @internal The monitored size in bytes. */
  monitorSize = 0;
  /** @internal The value the exclusive load read. */
  monitorValue = 0n;

  /** @internal The EL1&0 translation regime and its TLB. */
  readonly mmu: Mmu;
  /** @internal Encodings whose EL1 MRS/MSR exit to EL2 (trapSysRegs). */
  readonly trappedSysRegs = new Set<number>();
  /** @internal The system registers by encoding. */
  sysRegs: Map<number, SysRegAccess>;
  private virq = false;
  private vfiq = false;
  /** @internal Re-check interrupts before the next instruction (DAIF, lines or HCR changed). */
  irqCheck = true;
  private retiredTotal = 0;
  private readonly counterFn: () => bigint;
  // The page the last fetch came from (cleared with the TLB and on EL change).
  private fetchBase = 0n;
  private fetchFrame: Uint8Array | undefined;

  constructor(
    /** Host memory after stage 2. */
    readonly mem: PhysMemory,
    options: Arm64CpuOptions = {},
  ) {
    this.mmu = new Mmu(mem, this);
    this.vmpidr = 0x8000_0000n | (options.mpidr ?? 0n);
    this.cntfrq = options.cntfrq ?? 62_500_000n;
    this.counterFn = options.counter ?? (() => BigInt(this.retiredTotal));
    this.sysRegs = buildSysRegs(this);
  }

  // --- the Arm64Vcpu contract ---

  /** Run at most `budget` steps, or until something is taken to EL2 (see Arm64Vcpu.run). */
  run(budget: number): Arm64Exit {
    let retired = 0;
    // The host may have changed PSTATE or HCR_EL2 directly since the last run.
    this.irqCheck = true;
    this.fetchFrame = undefined;
    // Exceptions taken count against the budget too, so a guest looping on a fault still returns.
    for (let steps = 0; steps < budget; steps++) {
      if (this.irqCheck) {
        this.irqCheck = false;
        if (this.takeInterrupt()) continue;
      }
      const pc = this.pc;
      try {
        if ((this.pstate & PSTATE_IL) !== 0) throw new SyncException(EC_ILLEGAL_STATE, 0);
        const insn = this.fetch(pc);
        this.nextPc = pc + 4n;
        this.syndrome = 0;
        executeA64(this, insn);
        this.pc = this.nextPc;
        retired++;
        this.retiredTotal++;
      } catch (e) {
        if (e instanceof SyncException) {
          this.takeSync(e, pc);
        } else if (e instanceof Abort) {
          const exit = this.abort(e, pc, retired);
          if (exit) return exit;
        } else if (e instanceof El2Exit) {
          if (e.retired) {
            retired++;
            this.retiredTotal++;
          }
          this.pc = e.returnPc;
          return {
            kind: 'trap',
            esr: ((e.ec << 26) | (1 << 25) | e.iss) >>> 0,
            far: 0n,
            hpfar: 0n,
            pc: e.returnPc,
            retired,
          };
        } else {
          throw e;
        }
      }
    }
    return { kind: 'budget', esr: 0, far: 0n, hpfar: 0n, pc: this.pc, retired };
  }

  /** A system register by its ARM64_SYS_REG() encoding; undefined when not implemented. */
  getSysReg(enc: number): bigint | undefined {
    const r = this.sysRegs.get(enc);
    return r ? r.read() : undefined;
  }

  /** Set a system register as the host (EL2 controls and ID registers included); false when not writable. */
  setSysReg(enc: number, value: bigint): boolean {
    const r = this.sysRegs.get(enc);
    if (!r) return false;
    (r.hostWrite ?? r.write ?? (() => undefined))(BigInt.asUintN(64, value));
    this.irqCheck = true;
    return r.hostWrite !== undefined || r.write !== undefined;
  }

  /**
   * The guest-visible system registers this CPU implements, by encoding
   * (what KVM_GET_REG_LIST lists); EL2 controls are not included.
   */
  sysRegList(): number[] {
    return [...this.sysRegs.entries()].filter(([, r]) => !r.el2).map(([enc]) => enc);
  }

  /**
   * The architectural reset of the EL1/EL0 state (kvm_reset_vcpu()): general
   * and vector registers zero, PSTATE EL1h with DAIF masked, EL1 system
   * registers at their reset values, the monitor clear, the TLB empty. The EL2
   * controls and the ID registers (set by the hypervisor) are kept.
   */
  reset(): void {
    const ids = [...this.sysRegs.entries()]
      .filter(([, r]) => r.id3)
      .map(([enc, r]) => [enc, r.read()] as const);
    this.x.fill(0n);
    this.v.fill(0n);
    this.pc = 0n;
    this.pstate = PSTATE_RESET;
    this.spEl0 = 0n;
    this.spEl1 = 0n;
    this.sctlr = 0x30d0_0800n;
    this.tcr = 0n;
    this.ttbr0 = 0n;
    this.ttbr1 = 0n;
    this.mair = 0n;
    this.vbar = 0n;
    this.esr = 0n;
    this.far = 0n;
    this.elr = 0n;
    this.spsr = 0n;
    this.cpacr = 0n;
    this.par = 0n;
    this.cntkctl = 0n;
    this.cntvCtl = 0n;
    this.cntvCval = 0n;
    this.cntpCtl = 0n;
    this.cntpCval = 0n;
    this.fpcr = 0n;
    this.fpsr = 0n;
    this.monitorAddr = -1n;
    this.sysRegs = buildSysRegs(this);
    for (const [enc, value] of ids) this.sysRegs.get(enc)?.hostWrite?.(value);
    this.irqCheck = true;
    this.flushTlb();
  }

  /** Make EL1 MRS/MSR of these encodings exit to EL2 with EC 0x18 (or stop doing so). */
  trapSysRegs(encs: Iterable<number>, trapped = true): void {
    for (const enc of encs) {
      if (trapped) this.trappedSysRegs.add(enc);
      else this.trappedSysRegs.delete(enc);
    }
  }

  /** The virtual IRQ line (HCR_EL2.VI as a GIC drives it). */
  setVirtualIrq(level: boolean): void {
    this.virq = level;
    this.irqCheck = true;
  }

  /** The virtual FIQ line (HCR_EL2.VF). */
  setVirtualFiq(level: boolean): void {
    this.vfiq = level;
    this.irqCheck = true;
  }

  /** Invalidate every cached translation (after the hypervisor changes stage 2). */
  flushTlb(): void {
    this.mmu.flush();
    this.fetchFrame = undefined;
  }

  // --- the generic timer (Arm ARM D11) ---

  /** The host counter (CNTPCT_EL0). */
  counter(): bigint {
    return BigInt.asUintN(64, this.counterFn());
  }

  /** CNTVCT_EL0 = CNTPCT - CNTVOFF_EL2. */
  virtualCounter(): bigint {
    return BigInt.asUintN(64, this.counter() - this.cntvoff);
  }

  /** The EL1 virtual timer's interrupt output (PPI 27 on a GIC): ENABLE, !IMASK and ISTATUS. */
  vtimerLevel(): boolean {
    return (this.cntvCtl & 3n) === 1n && this.virtualCounter() >= this.cntvCval;
  }

  /** The EL1 physical timer's output (PPI 30). */
  ptimerLevel(): boolean {
    return (this.cntpCtl & 3n) === 1n && this.counter() >= this.cntpCval;
  }

  // --- state helpers for the decoder ---

  /** @internal The current exception level (0 or 1). */
  el(): number {
    return (this.pstate >> 2) & 3;
  }

  /** @internal X[n] with register 31 as XZR. */
  xr(n: number): bigint {
    return n === 31 ? 0n : this.x[n];
  }

  /** @internal Write X[n]; register 31 (XZR) discards it. */
  xw(n: number, value: bigint): void {
    if (n !== 31) this.x[n] = value;
  }

  /** @internal X[n] with register 31 as the current SP. */
  xsp(n: number): bigint {
    if (n !== 31) return this.x[n];
    return (this.pstate & 1) !== 0 ? this.spEl1 : this.spEl0;
  }

  /** @internal Write X[n] with register 31 as the current SP. */
  xspw(n: number, value: bigint): void {
    if (n !== 31) this.x[n] = value;
    else if ((this.pstate & 1) !== 0) this.spEl1 = value;
    else this.spEl0 = value;
  }

  // --- memory ---

  /** A host frame for `va`, after both stages; throws Abort. */
  private frameFor(va: bigint, acc: number, el0: boolean): Uint8Array {
    this.lastAcc = acc;
    const e = this.mmu.lookup(va, acc, el0);
    if (e.frame === undefined) throw new Abort(false, FSC_EXTERNAL, va, 0, false);
    return e.frame;
  }

  /** @internal Alignment checks: SCTLR_ELx.A, or always for exclusives and atomics. */
  checkAlign(va: bigint, size: number, always: boolean, write = false): void {
    if ((always || (this.sctlr & 2n) !== 0n) && (va & BigInt(size - 1)) !== 0n) {
      this.lastAcc = write ? ACC_WRITE : ACC_READ;
      throw new Abort(false, FSC_ALIGNMENT, va, 0, false);
    }
  }

  /** @internal Load `size` (1, 2, 4, 8) bytes, little-endian. */
  load(va: bigint, size: number, unpriv = false): bigint {
    const el0 = unpriv || this.el() === 0;
    const off = Number(va & 0xfffn);
    if (off + size > 4096) {
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | this.load(va + BigInt(i), 1, unpriv);
      return v;
    }
    const f = this.frameFor(va, ACC_READ, el0);
    switch (size) {
      case 1:
        return BigInt(f[off]);
      case 2:
        return BigInt(f[off] | (f[off + 1] << 8));
      case 4:
        return BigInt((f[off] | (f[off + 1] << 8) | (f[off + 2] << 16) | (f[off + 3] << 24)) >>> 0);
      default: {
        const lo = (f[off] | (f[off + 1] << 8) | (f[off + 2] << 16) | (f[off + 3] << 24)) >>> 0;
        const hi = (f[off + 4] | (f[off + 5] << 8) | (f[off + 6] << 16) | (f[off + 7] << 24)) >>> 0;
        return (BigInt(hi) << 32n) | BigInt(lo);
      }
    }
  }

  /** @internal Store `size` (1, 2, 4, 8) bytes, little-endian. */
  store(va: bigint, size: number, value: bigint, unpriv = false): void {
    const el0 = unpriv || this.el() === 0;
    const off = Number(va & 0xfffn);
    if (off + size > 4096) {
      // Translate both pages first so a fault leaves memory untouched.
      this.frameFor(va, ACC_WRITE, el0);
      this.frameFor(va + BigInt(size - 1), ACC_WRITE, el0);
      for (let i = 0; i < size; i++) this.store(va + BigInt(i), 1, (value >> BigInt(8 * i)) & 0xffn, unpriv);
      return;
    }
    const f = this.frameFor(va, ACC_WRITE, el0);
    if (size === 8) {
      const lo = Number(value & 0xffff_ffffn);
      const hi = Number((value >> 32n) & 0xffff_ffffn);
      f[off] = lo;
      f[off + 1] = lo >>> 8;
      f[off + 2] = lo >>> 16;
      f[off + 3] = lo >>> 24;
      f[off + 4] = hi;
      f[off + 5] = hi >>> 8;
      f[off + 6] = hi >>> 16;
      f[off + 7] = hi >>> 24;
      return;
    }
    const n = Number(value & 0xffff_ffffn);
    f[off] = n;
    if (size >= 2) f[off + 1] = n >>> 8;
    if (size === 4) {
      f[off + 2] = n >>> 16;
      f[off + 3] = n >>> 24;
    }
  }

  /** @internal Translate for a cache maintenance or AT-like probe without touching memory. */
  probe(va: bigint, acc: number): void {
    this.frameFor(va, acc, this.el() === 0);
  }

  private fetch(pc: bigint): number {
    // Same page as the last fetch (the EL is part of the cached page: resetFetch on EL change).
    const off = pc - this.fetchBase;
    const f = this.fetchFrame;
    if (f !== undefined && off >= 0n && off < 4096n) {
      const o = Number(off);
      if ((o & 3) === 0) return (f[o] | (f[o + 1] << 8) | (f[o + 2] << 16) | (f[o + 3] << 24)) >>> 0;
    }
    if ((pc & 3n) !== 0n) throw new SyncException(EC_PC_ALIGN, 0, undefined, pc);
    const frame = this.frameFor(pc, ACC_FETCH, this.el() === 0);
    this.fetchFrame = frame;
    this.fetchBase = pc & ~0xfffn;
    const o = Number(pc & 0xfffn);
    return (frame[o] | (frame[o + 1] << 8) | (frame[o + 2] << 16) | (frame[o + 3] << 24)) >>> 0;
  }

  /** @internal Forget the cached fetch page (EL change, TLB flush). */
  resetFetch(): void {
    this.fetchFrame = undefined;
  }

  // --- exceptions ---

  private abort(a: Abort, pc: bigint, retired: number): Arm64Exit | undefined {
    const fetch = this.lastAcc === ACC_FETCH;
    const write = this.lastAcc === ACC_WRITE;
    if (a.stage2) {
      // handle_exit(): kvm_handle_guest_abort() reads ESR/FAR/HPFAR_EL2.
      let iss = a.fsc;
      if (a.s1ptw) iss |= 1 << 7;
      else if (!fetch) {
        iss |= this.syndrome;
        if (write || (this.syndrome & (1 << 8)) !== 0) iss |= 1 << 6;
      }
      const ec = fetch ? ESR_EC_IABT_LOW : ESR_EC_DABT_LOW;
      return {
        kind: 'trap',
        esr: ((ec << 26) | (1 << 25) | iss) >>> 0,
        far: a.va,
        hpfar: BigInt(Math.floor(a.ipa / 4096)) << 4n,
        pc,
        retired,
      };
    }
    const low = this.el() === 0;
    let ec: number;
    let iss = a.fsc;
    if (fetch) ec = low ? EC_IABT_LOW : EC_IABT_CUR;
    else {
      ec = low ? EC_DABT_LOW : EC_DABT_CUR;
      if (write) iss |= 1 << 6;
      if ((this.syndrome & (1 << 8)) !== 0) iss |= (1 << 8) | (1 << 6);
    }
    this.takeSync(new SyncException(ec, iss, undefined, a.va), pc);
    return undefined;
  }

  /** Take a synchronous exception to EL1 (AArch64.TakeException). */
  private takeSync(e: SyncException, pc: bigint): void {
    this.esr = BigInt(((e.ec << 26) | (1 << 25) | e.iss) >>> 0);
    if (e.far !== undefined) this.far = e.far;
    this.enterEl1(0, e.returnPc ?? pc);
  }

  /** @internal Exception entry to EL1: SPSR/ELR saved, DAIF masked, EL1h, PC from VBAR_EL1. */
  enterEl1(kind: number, elr: bigint): void {
    const from = this.pstate;
    let offset: bigint;
    if (((from >> 2) & 3) === 0) offset = 0x400n;
    else offset = (from & 1) !== 0 ? 0x200n : 0n;
    this.spsr = BigInt(from >>> 0);
    this.elr = elr;
    this.pstate = ((from & 0xf000_0000) | PSTATE_D | PSTATE_A | PSTATE_I | PSTATE_F | PSTATE_EL1H) >>> 0;
    this.pc = this.vbar + offset + BigInt(kind * 0x80);
    this.monitorAddr = -1n;
    this.resetFetch();
  }

  /** A pending virtual IRQ/FIQ unmasked by PSTATE: taken at EL1. */
  private takeInterrupt(): boolean {
    const fiq = this.vfiqPending();
    if (fiq && (this.pstate & PSTATE_F) === 0) {
      this.enterEl1(2, this.pc);
      return true;
    }
    if (this.virqPending() && (this.pstate & PSTATE_I) === 0) {
      this.enterEl1(1, this.pc);
      return true;
    }
    return false;
  }

  /** @internal HCR_EL2.VI or the line, routed to EL1 when HCR_EL2.IMO is set. */
  virqPending(): boolean {
    return (this.hcr & 0x10n) !== 0n && (this.virq || (this.hcr & 0x80n) !== 0n);
  }

  /** @internal HCR_EL2.VF or the line, routed to EL1 when HCR_EL2.FMO is set. */
  vfiqPending(): boolean {
    return (this.hcr & 0x8n) !== 0n && (this.vfiq || (this.hcr & 0x40n) !== 0n);
  }
}
