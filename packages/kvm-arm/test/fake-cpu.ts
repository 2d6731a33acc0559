// A stand-in for @tsvirt/arm64-core's CPU: it executes nothing, but replays
// a script of exits as a real AArch64 PE under EL2 would produce them (the
// syndrome in ESR_EL2, FAR_EL2, HPFAR_EL2, the PC at ELR_EL2), and keeps the
// registers KVM reads and writes.
import {
  type Arm64Exit,
  type Arm64Vcpu,
  ESR_EC_DABT_LOW,
  ESR_EC_HVC64,
  ESR_EC_IABT_LOW,
  ESR_EC_SMC64,
  ESR_EC_SYS64,
  ESR_EC_WFX,
  type PhysMemory,
} from '@tsvirt/arm64-core';
import {
  SYS_CNTV_CTL_EL0,
  SYS_CNTV_CVAL_EL0,
  SYS_CNTVCT_EL0,
  SYS_CNTVOFF_EL2,
  SYS_ELR_EL1,
  SYS_ESR_EL1,
  SYS_FAR_EL1,
  SYS_FPCR,
  SYS_FPSR,
  SYS_HCR_EL2,
  SYS_MPIDR_EL1,
  SYS_SCTLR_EL1,
  SYS_SPSR_EL1,
  SYS_TCR_EL1,
  SYS_VBAR_EL1,
  SYS_VMPIDR_EL2,
  SYS_VTCR_EL2,
  SYS_VTTBR_EL2,
} from '../src/index.ts';

const IL = 1 << 25;

/** One step: change registers as the guest would, then return the exit. */
export type Step = (cpu: FakeCpu) => Arm64Exit;

export class FakeCpu implements Arm64Vcpu {
  readonly x = new BigUint64Array(31);
  readonly v = new BigUint64Array(64);
  pc = 0n;
  pstate = 0;
  spEl0 = 0n;
  spEl1 = 0n;
  virq = false;
  vfiq = false;
  tlbFlushes = 0;
  /** The physical count CNTVCT_EL0 derives from (CNTVCT = count - CNTVOFF_EL2). */
  physCount = 0n;
  readonly sys = new Map<number, bigint>();
  readonly steps: Step[] = [];

  /** Encodings made to trap (trapSysRegs). */
  readonly trapped = new Set<number>();
  resets = 0;

  constructor(
    readonly mem: PhysMemory,
    readonly id: number,
  ) {
    for (const r of [
      SYS_FPCR,
      SYS_FPSR,
      SYS_SCTLR_EL1,
      SYS_TCR_EL1,
      SYS_VBAR_EL1,
      SYS_ELR_EL1,
      SYS_SPSR_EL1,
      SYS_ESR_EL1,
      SYS_FAR_EL1,
      SYS_CNTV_CTL_EL0,
      SYS_CNTV_CVAL_EL0,
      SYS_CNTVOFF_EL2,
      SYS_HCR_EL2,
      SYS_VTTBR_EL2,
      SYS_VTCR_EL2,
      SYS_VMPIDR_EL2,
    ])
      this.sys.set(r, 0n);
    this.sys.set(SYS_SCTLR_EL1, 0x30d0_0800n);
  }

  run(budget: number): Arm64Exit {
    const step = this.steps.shift();
    // Nothing scripted: the guest spins through its whole budget.
    if (step === undefined) return { ...exit('budget', 0, 0n, 0n, this.pc), retired: budget };
    return step(this);
  }

  getSysReg(enc: number): bigint | undefined {
    if (enc === SYS_CNTVCT_EL0) return BigInt.asUintN(64, this.physCount - this.sys.get(SYS_CNTVOFF_EL2)!);
    if (enc === SYS_MPIDR_EL1) return this.sys.get(SYS_VMPIDR_EL2);
    return this.sys.get(enc);
  }

  setSysReg(enc: number, value: bigint): boolean {
    if (!this.sys.has(enc)) return false;
    this.sys.set(enc, value);
    return true;
  }

  sysRegList(): number[] {
    // The EL2 controls (op1 = 4) are the hypervisor's, not guest-visible.
    return [...this.sys.keys()].filter((enc) => ((enc >> 11) & 7) !== 4);
  }

  /** The architectural reset: registers zero, EL1h with DAIF masked, EL1 system registers at reset; EL2 kept. */
  reset(): void {
    this.resets++;
    this.x.fill(0n);
    this.v.fill(0n);
    this.pc = 0n;
    this.spEl0 = 0n;
    this.spEl1 = 0n;
    this.pstate = 0x3c5;
    for (const enc of this.sysRegList()) this.sys.set(enc, 0n);
    this.sys.set(SYS_SCTLR_EL1, 0x30d0_0800n);
  }

  trapSysRegs(encs: Iterable<number>, trapped = true): void {
    for (const e of encs) {
      if (trapped) this.trapped.add(e);
      else this.trapped.delete(e);
    }
  }

  vtimerLevel(): boolean {
    const ctl = this.sys.get(SYS_CNTV_CTL_EL0)!;
    return (ctl & 3n) === 1n && this.getSysReg(SYS_CNTVCT_EL0)! >= this.sys.get(SYS_CNTV_CVAL_EL0)!;
  }

  ptimerLevel(): boolean {
    return false;
  }

  setVirtualIrq(level: boolean): void {
    this.virq = level;
  }

  setVirtualFiq(level: boolean): void {
    this.vfiq = level;
  }

  flushTlb(): void {
    this.tlbFlushes++;
  }

  /** Queue steps. */
  push(...steps: Step[]): this {
    this.steps.push(...steps);
    return this;
  }
}

export function exit(kind: Arm64Exit['kind'], esr: number, far = 0n, hpfar = 0n, pc = 0n): Arm64Exit {
  return { kind, esr: esr >>> 0, far, hpfar, pc, retired: 1 };
}

/** HPFAR_EL2 for an IPA: IPA[51:12] in bits 43:4. */
export const hpfarOf = (ipa: bigint): bigint => (ipa >> 12n) << 4n;

/** An SMCCC call through HVC #imm: x0..x3 loaded, the PC moves past the HVC (ELR_EL2). */
export function hvc(fn: number | bigint, args: readonly bigint[] = [], imm = 0): Step {
  return (cpu) => {
    cpu.x[0] = BigInt(fn);
    for (let i = 0; i < 3; i++) cpu.x[i + 1] = args[i] ?? 0n;
    cpu.pc += 4n;
    return exit('trap', (ESR_EC_HVC64 << 26) | IL | imm, 0n, 0n, cpu.pc);
  };
}

/** The same through SMC #imm: ELR_EL2 is the SMC itself. */
export function smc(fn: number | bigint, args: readonly bigint[] = [], imm = 0): Step {
  return (cpu) => {
    cpu.x[0] = BigInt(fn);
    for (let i = 0; i < 3; i++) cpu.x[i + 1] = args[i] ?? 0n;
    return exit('trap', (ESR_EC_SMC64 << 26) | IL | imm, 0n, 0n, cpu.pc);
  };
}

/** WFI (or WFE) trapped by HCR_EL2.TWI/TWE. */
export function wfx(wfe = false): Step {
  return (cpu) => exit('trap', (ESR_EC_WFX << 26) | IL | (wfe ? 1 : 0), 0n, 0n, cpu.pc);
}

/** A trapped system instruction with the given ISS. */
export function sys64(iss: number): Step {
  return (cpu) => exit('trap', (ESR_EC_SYS64 << 26) | IL | iss, 0n, 0n, cpu.pc);
}

/** Syndrome fields of a data abort. */
export interface DabtOpts {
  write?: boolean;
  /** log2 of the access size. */
  sas?: number;
  rt?: number;
  sse?: boolean;
  sf?: boolean;
  isv?: boolean;
  s1ptw?: boolean;
  cm?: boolean;
  /** Fault status code (default translation fault, level 3). */
  fsc?: number;
}

/** A stage-2 data abort at `ipa` (FAR = ipa, as with the MMU off). */
export function dabt(ipa: bigint, o: DabtOpts = {}): Step {
  return (cpu) => {
    let iss = o.fsc ?? 0x07;
    if (o.isv ?? true) {
      iss |= 1 << 24;
      iss |= (o.sas ?? 2) << 22;
      if (o.sse) iss |= 1 << 21;
      iss |= (o.rt ?? 0) << 16;
      if (o.sf ?? true) iss |= 1 << 15;
    }
    if (o.cm) iss |= 1 << 8;
    if (o.s1ptw) iss |= 1 << 7;
    if (o.write) iss |= 1 << 6;
    return exit('trap', (ESR_EC_DABT_LOW << 26) | IL | iss, ipa, hpfarOf(ipa), cpu.pc);
  };
}

/** A stage-2 instruction abort at `ipa`. */
export function iabt(ipa: bigint): Step {
  return (cpu) => exit('trap', (ESR_EC_IABT_LOW << 26) | IL | 0x07, ipa, hpfarOf(ipa), cpu.pc);
}

/**
 * Walk a stage-2 table as the architecture does (4 KiB granule, VTCR_EL2.T0SZ
 * and SL0 as given, concatenated roots): the host address and S2AP of a page
 * descriptor, or undefined for a translation fault. Independent of the
 * package's own table code, to check its format.
 */
export function walkStage2(
  mem: PhysMemory,
  vttbr: bigint,
  vtcr: bigint,
  ipa: bigint,
): { pa: bigint; s2ap: number; af: boolean } | undefined {
  const t0sz = Number(vtcr & 0x3fn);
  const sl0 = Number((vtcr >> 6n) & 3n);
  if (ipa >= 1n << BigInt(64 - t0sz)) return undefined;
  let level = 2 - sl0;
  let table = vttbr & 0x0000_ffff_ffff_fffen;
  for (;;) {
    const shift = BigInt(12 + 9 * (3 - level));
    // The root indexes every bit above `shift` (concatenated tables); lower levels 9 bits.
    const idx = level === 2 - sl0 ? ipa >> shift : (ipa >> shift) & 511n;
    const addr = table + idx * 8n;
    const f = mem.frame(Number(addr >> 12n));
    if (f === undefined) return undefined;
    const d = new DataView(f.buffer, f.byteOffset, 4096).getBigUint64(Number(addr & 0xfffn), true);
    if ((d & 1n) === 0n) return undefined;
    const out = d & 0x0000_ffff_ffff_f000n;
    if (level === 3) {
      if ((d & 2n) === 0n) return undefined;
      return { pa: out | (ipa & 0xfffn), s2ap: Number((d >> 6n) & 3n), af: (d & (1n << 10n)) !== 0n };
    }
    if ((d & 2n) === 0n) return undefined; // blocks are not used here
    table = out;
    level++;
  }
}
