import { type Arm64Vcpu, ESR_EC_UNKNOWN } from '@tsvirt/arm64-core';
import { ESR_ELX_FSC_EXTABT, ESR_ELX_IL } from './mmio.ts';
import {
  PSR_A_BIT,
  PSR_D_BIT,
  PSR_F_BIT,
  PSR_I_BIT,
  PSR_MODE_EL0T,
  PSR_MODE_EL1H,
  PSR_MODE_EL1T,
  PSR_NZCV_MASK,
  SYS_ELR_EL1,
  SYS_ESR_EL1,
  SYS_FAR_EL1,
  SYS_SCTLR_EL1,
  SYS_SPSR_EL1,
  SYS_VBAR_EL1,
} from './sysregs.ts';

/** ESR_ELx.EC of an instruction abort from a lower EL / the current EL. */
const ESR_EC_IABT_LOW = 0x20;
const ESR_EC_IABT_CUR = 0x21;
const ESR_EC_DABT_LOW = 0x24;
const ESR_EC_DABT_CUR = 0x25;
/** PSTATE.PAN and .DIT, and SCTLR_EL1.SPAN. */
const PSR_PAN_BIT = 1 << 22;
const PSR_DIT_BIT = 1 << 24;
const SCTLR_EL1_SPAN = 1n << 23n;

/**
 * enter_exception64() for a synchronous exception to EL1: ELR_EL1 and
 * SPSR_EL1 take the interrupted context, PSTATE becomes EL1h with DAIF
 * masked (NZCV and DIT kept, PAN set unless SCTLR_EL1.SPAN), and the PC the
 * vector of VBAR_EL1 for the source: current EL with SP_EL0 (+0x000), with
 * SP_ELx (+0x200), lower EL in AArch64 (+0x400).
 */
function enterException64(cpu: Arm64Vcpu, esr: number, far?: bigint): void {
  const old = cpu.pstate;
  const mode = old & 0xf;
  const offset = mode === PSR_MODE_EL1T ? 0x000n : mode === PSR_MODE_EL1H ? 0x200n : 0x400n;
  cpu.setSysReg(SYS_ELR_EL1, cpu.pc);
  cpu.setSysReg(SYS_SPSR_EL1, BigInt(old >>> 0));
  let pstate = (old & (PSR_NZCV_MASK | PSR_DIT_BIT)) | PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT;
  if (((cpu.getSysReg(SYS_SCTLR_EL1) ?? 0n) & SCTLR_EL1_SPAN) === 0n) pstate |= PSR_PAN_BIT;
  else pstate |= old & PSR_PAN_BIT;
  cpu.pstate = (pstate | PSR_MODE_EL1H) >>> 0;
  cpu.setSysReg(SYS_ESR_EL1, BigInt(esr >>> 0));
  if (far !== undefined) cpu.setSysReg(SYS_FAR_EL1, far);
  cpu.pc = (cpu.getSysReg(SYS_VBAR_EL1) ?? 0n) + offset;
}

/** kvm_inject_undefined() (inject_undef64()): EC UNKNOWN, with IL from the trapped instruction. */
export function injectUndefined(cpu: Arm64Vcpu, trapEsr: number): void {
  enterException64(cpu, (ESR_EC_UNKNOWN << 26) | (trapEsr & ESR_ELX_IL));
}

/**
 * kvm_inject_dabt() / kvm_inject_pabt() (inject_abt64()): a synchronous
 * external abort at `addr`, from the current or a lower EL as the guest was.
 */
export function injectAbort(cpu: Arm64Vcpu, isIabt: boolean, addr: bigint, trapEsr: number): void {
  const fromEl0 = (cpu.pstate & 0xf) === PSR_MODE_EL0T;
  const ec = isIabt
    ? fromEl0
      ? ESR_EC_IABT_LOW
      : ESR_EC_IABT_CUR
    : fromEl0
      ? ESR_EC_DABT_LOW
      : ESR_EC_DABT_CUR;
  enterException64(cpu, ((ec << 26) | (trapEsr & ESR_ELX_IL) | ESR_ELX_FSC_EXTABT) >>> 0, addr);
}
