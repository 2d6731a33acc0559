import { Abort } from './abort.ts';
import { conditionHolds, sextNum } from './bits.ts';
import type { Arm64Cpu } from './cpu.ts';
import { PSTATE_IL } from './cpu.ts';
import { EC_BRK64, EC_SVC64, EC_SYS64, El2Exit, SyncException, undefinedInstruction } from './exceptions.ts';
import { ESR_EC_HVC64, ESR_EC_SMC64, ESR_EC_SYS64, ESR_EC_WFX } from './exit.ts';
import { ACC_READ, ACC_WRITE } from './mmu.ts';
import { HCR_TID3, HCR_TRVM, HCR_TSC, HCR_TSW, HCR_TVM, HCR_TWE, HCR_TWI } from './sysreg.ts';

/** Branches, exception generation and system instructions (C4.1.87). */
export function executeBranchSystem(cpu: Arm64Cpu, insn: number): void {
  const pc = cpu.pc;
  if ((insn & 0x7c00_0000) === 0x1400_0000) {
    // B / BL
    const off = BigInt(sextNum(insn & 0x3ff_ffff, 26)) * 4n;
    if (insn >>> 31) cpu.x[30] = pc + 4n;
    cpu.nextPc = BigInt.asUintN(64, pc + off);
    return;
  }
  if ((insn & 0x7e00_0000) === 0x3400_0000) {
    // CBZ / CBNZ
    let v = cpu.xr(insn & 31);
    if (insn >>> 31 === 0) v &= 0xffff_ffffn;
    if ((v === 0n) !== ((insn >>> 24) & 1) > 0)
      cpu.nextPc = BigInt.asUintN(64, pc + BigInt(sextNum((insn >>> 5) & 0x7ffff, 19) * 4));
    return;
  }
  if ((insn & 0x7e00_0000) === 0x3600_0000) {
    // TBZ / TBNZ
    const bit = BigInt(((insn >>> 31) << 5) | ((insn >>> 19) & 31));
    const set = ((cpu.xr(insn & 31) >> bit) & 1n) === 1n;
    if (set === ((insn >>> 24) & 1) > 0)
      cpu.nextPc = BigInt.asUintN(64, pc + BigInt(sextNum((insn >>> 5) & 0x3fff, 14) * 4));
    return;
  }
  if ((insn & 0xff00_0010) === 0x5400_0000) {
    // B.cond
    if (conditionHolds(insn & 0xf, cpu.pstate))
      cpu.nextPc = BigInt.asUintN(64, pc + BigInt(sextNum((insn >>> 5) & 0x7ffff, 19) * 4));
    return;
  }
  if ((insn & 0xff00_0000) >>> 0 === 0xd400_0000) {
    exceptionGeneration(cpu, insn);
    return;
  }
  if ((insn & 0xffc0_0000) >>> 0 === 0xd500_0000) {
    system(cpu, insn);
    return;
  }
  if ((insn & 0xfe00_0000) >>> 0 === 0xd600_0000) {
    branchReg(cpu, insn);
    return;
  }
  throw undefinedInstruction();
}

function exceptionGeneration(cpu: Arm64Cpu, insn: number): void {
  const opc = (insn >>> 21) & 7;
  const ll = insn & 3;
  const imm16 = (insn >>> 5) & 0xffff;
  if ((insn >>> 2) & 7) throw undefinedInstruction();
  if (opc === 0 && ll === 1) throw new SyncException(EC_SVC64, imm16, cpu.nextPc);
  if (opc === 0 && ll === 2) {
    // HVC: UNDEFINED at EL0; from EL1 it goes to the hypervisor, returning after it.
    if (cpu.el() === 0) throw undefinedInstruction();
    throw new El2Exit(ESR_EC_HVC64, imm16, cpu.nextPc, true);
  }
  if (opc === 0 && ll === 3) {
    // SMC: with HCR_EL2.TSC it traps to EL2 at the SMC itself; with no EL3 it is UNDEFINED.
    if (cpu.el() === 0 || (cpu.hcr & HCR_TSC) === 0n) throw undefinedInstruction();
    throw new El2Exit(ESR_EC_SMC64, imm16, cpu.pc, false);
  }
  if (opc === 1 && ll === 0) throw new SyncException(EC_BRK64, imm16);
  throw undefinedInstruction();
}

function branchReg(cpu: Arm64Cpu, insn: number): void {
  const opc = (insn >>> 21) & 0xf;
  const op2 = (insn >>> 16) & 31;
  const op3 = (insn >>> 10) & 0x3f;
  const rn = (insn >>> 5) & 31;
  const op4 = insn & 31;
  if (op2 !== 31 || op3 !== 0 || op4 !== 0) throw undefinedInstruction();
  switch (opc) {
    case 0: // BR
      cpu.nextPc = cpu.xr(rn);
      return;
    case 1: {
      // BLR
      const target = cpu.xr(rn);
      cpu.x[30] = cpu.pc + 4n;
      cpu.nextPc = target;
      return;
    }
    case 2: // RET
      cpu.nextPc = cpu.xr(rn);
      return;
    case 4:
      if (rn !== 31) throw undefinedInstruction();
      eret(cpu);
      return;
    default:
      throw undefinedInstruction();
  }
}

/** ERET from EL1 (AArch64.ExceptionReturn): an illegal target sets PSTATE.IL. */
function eret(cpu: Arm64Cpu): void {
  if (cpu.el() === 0) throw undefinedInstruction();
  const spsr = Number(cpu.spsr & 0xffff_ffffn);
  const m = spsr & 0x1f;
  cpu.nextPc = cpu.elr;
  if (m === 0 || m === 4 || m === 5) {
    // NZCV, SS, IL, D/A/I/F and M[3:0] come back from SPSR_EL1.
    cpu.pstate = (spsr & 0xf030_03cf) >>> 0;
  } else {
    // Illegal return (AArch64.ExceptionReturn): EL and SP stay, the rest comes from SPSR, IL set.
    cpu.pstate = ((spsr & 0xf000_03c0) | (cpu.pstate & 0xf) | PSTATE_IL) >>> 0;
  }
  cpu.monitorAddr = -1n;
  cpu.irqCheck = true;
  cpu.resetFetch();
}

/** ESR ISS for a trapped MSR/MRS/SYS (EC 0x18). */
function sysIss(insn: number, read: boolean): number {
  const op0 = (insn >>> 19) & 3;
  const op1 = (insn >>> 16) & 7;
  const crn = (insn >>> 12) & 0xf;
  const crm = (insn >>> 8) & 0xf;
  const op2 = (insn >>> 5) & 7;
  const rt = insn & 31;
  return (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | (read ? 1 : 0);
}

function system(cpu: Arm64Cpu, insn: number): void {
  const l = (insn >>> 21) & 1;
  const op0 = (insn >>> 19) & 3;
  const op1 = (insn >>> 16) & 7;
  const crn = (insn >>> 12) & 0xf;
  const crm = (insn >>> 8) & 0xf;
  const op2 = (insn >>> 5) & 7;
  const rt = insn & 31;
  const el0 = cpu.el() === 0;
  if (op0 === 0) {
    if (l) throw undefinedInstruction();
    if (crn === 2 && rt === 31) {
      hint(cpu, (crm << 3) | op2);
      return;
    }
    if (crn === 3 && rt === 31) {
      // CLREX, DSB, DMB, ISB: memory is sequentially consistent here; only CLREX acts.
      if (op1 !== 3 || !(op2 === 2 || op2 === 4 || op2 === 5 || op2 === 6)) throw undefinedInstruction();
      if (op2 === 2) cpu.monitorAddr = -1n;
      return;
    }
    if (crn === 4 && rt === 31) {
      msrImmediate(cpu, insn, op1, op2, crm);
      return;
    }
    throw undefinedInstruction();
  }
  if (op0 === 1) {
    sysInstruction(cpu, insn, l === 1, op1, crn, crm, op2, rt);
    return;
  }
  // MRS / MSR (register)
  const enc = (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
  const reg = cpu.sysRegs.get(enc);
  const read = l === 1;
  // Registers the hypervisor emulates (e.g. GICv3 ICC_*): EL1 accesses exit to EL2.
  if (!el0 && cpu.trappedSysRegs.has(enc)) throw new El2Exit(ESR_EC_SYS64, sysIss(insn, read), cpu.pc, false);
  if (!reg || reg.el2) throw undefinedInstruction();
  if (el0) {
    if (!reg.el0) throw undefinedInstruction();
    if (!reg.el0(!read)) {
      // Disabled EL0 access traps to EL1 (e.g. SCTLR_EL1.UCT, CNTKCTL_EL1), else UNDEFINED.
      throw new SyncException(EC_SYS64, sysIss(insn, read));
    }
  } else {
    const trapped =
      (reg.vm && (cpu.hcr & (read ? HCR_TRVM : HCR_TVM)) !== 0n) || (reg.id3 && (cpu.hcr & HCR_TID3) !== 0n);
    if (trapped) throw new El2Exit(ESR_EC_SYS64, sysIss(insn, read), cpu.pc, false);
  }
  if (read) cpu.xw(rt, reg.read());
  else {
    if (!reg.write) throw undefinedInstruction();
    reg.write(cpu.xr(rt));
  }
}

function hint(cpu: Arm64Cpu, op: number): void {
  if (op === 2 || op === 3) {
    // WFE / WFI: trapped to EL2 when HCR_EL2.TWE/TWI, at the instruction (kvm_handle_wfx skips it).
    const wfe = op === 2;
    if ((cpu.hcr & (wfe ? HCR_TWE : HCR_TWI)) !== 0n) {
      throw new El2Exit(ESR_EC_WFX, (1 << 24) | (0xe << 20) | (wfe ? 1 : 0), cpu.pc, false);
    }
    // Untrapped: a wakeup may come at any time, so returning at once is allowed.
  }
  // NOP, YIELD, SEV, SEVL and the rest of the hint space (PAC, BTI, ESB...) do nothing.
}

function msrImmediate(cpu: Arm64Cpu, insn: number, op1: number, op2: number, crm: number): void {
  if (op1 === 0 && op2 === 5) {
    // SPSel
    if (cpu.el() === 0) throw undefinedInstruction();
    cpu.pstate = ((cpu.pstate & ~1) | (crm & 1)) >>> 0;
    return;
  }
  if (op1 === 3 && (op2 === 6 || op2 === 7)) {
    // DAIFSet / DAIFClr; EL0 needs SCTLR_EL1.UMA.
    if (cpu.el() === 0 && (cpu.sctlr & (1n << 9n)) === 0n)
      throw new SyncException(EC_SYS64, sysIss(insn, false));
    const bits = (crm & 0xf) << 6;
    cpu.pstate = (op2 === 6 ? cpu.pstate | bits : cpu.pstate & ~bits) >>> 0;
    cpu.irqCheck = true;
    return;
  }
  throw undefinedInstruction();
}

function sysInstruction(
  cpu: Arm64Cpu,
  insn: number,
  l: boolean,
  op1: number,
  crn: number,
  crm: number,
  op2: number,
  rt: number,
): void {
  const el0 = cpu.el() === 0;
  if (l) throw undefinedInstruction();
  if (crn === 7) {
    if (op1 === 0 && crm === 1 && op2 === 0 && !el0) return; // IC IALLUIS
    if (op1 === 0 && crm === 5 && op2 === 0 && !el0) return; // IC IALLU
    if (op1 === 3 && crm === 5 && op2 === 1) return; // IC IVAU (no instruction cache to keep)
    if (op1 === 0 && crm === 8 && op2 < 4 && !el0) {
      addressTranslate(cpu, op2, rt);
      return;
    }
    if (op1 === 0 && (crm === 6 || crm === 10 || crm === 14) && op2 === 2 && !el0) {
      // DC ISW/CSW/CISW: set/way operations trap with HCR_EL2.TSW (KVM's access_dcsw).
      if ((cpu.hcr & HCR_TSW) !== 0n) throw new El2Exit(ESR_EC_SYS64, sysIss(insn, false), cpu.pc, false);
      return;
    }
    if (op1 === 3 && crm === 4 && op2 === 1) {
      // DC ZVA: zero the 64-byte block (DCZID_EL0.BS = 4); EL0 needs SCTLR_EL1.DZE.
      if (el0 && (cpu.sctlr & (1n << 14n)) === 0n) throw new SyncException(EC_SYS64, sysIss(insn, false));
      const base = cpu.xr(rt) & ~63n;
      for (let i = 0n; i < 64n; i += 8n) cpu.store(base + i, 8, 0n);
      return;
    }
    const byVa =
      (op1 === 0 && crm === 6 && op2 === 1) || // DC IVAC
      (op1 === 3 && (crm === 10 || crm === 11 || crm === 14) && op2 === 1); // DC CVAC, CVAU, CIVAC
    if (byVa) {
      if (el0 && (op1 === 0 || (cpu.sctlr & (1n << 26n)) === 0n)) {
        if (op1 === 0) throw undefinedInstruction();
        throw new SyncException(EC_SYS64, sysIss(insn, false));
      }
      // Memory is coherent; the address is still translated, as hardware would (CM=1 on a fault).
      cpu.syndrome = 1 << 8;
      cpu.probe(cpu.xr(rt), ACC_READ);
      return;
    }
    throw undefinedInstruction();
  }
  if (crn === 8 && op1 === 0 && !el0) {
    // TLBI at EL1: every variant flushes the whole software TLB.
    cpu.flushTlb();
    return;
  }
  throw undefinedInstruction();
}

/** AT S1E1R/W, S1E0R/W: stage-1 translation into PAR_EL1 (the IPA). */
function addressTranslate(cpu: Arm64Cpu, op2: number, rt: number): void {
  const va = cpu.xr(rt);
  try {
    const { ipa } = cpu.mmu.translate(va, op2 & 1 ? ACC_WRITE : ACC_READ, op2 >= 2);
    cpu.par = BigInt(ipa) & 0x0000_ffff_ffff_f000n;
  } catch (e) {
    if (!(e instanceof Abort) || e.stage2) throw e;
    cpu.par = 1n | (BigInt(e.fsc) << 1n);
  }
}
