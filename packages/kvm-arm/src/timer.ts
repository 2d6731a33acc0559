import type { Arm64Vcpu } from '@tsvirt/arm64-core';
import { SYS_CNTV_CTL_EL0, SYS_CNTV_CVAL_EL0, SYS_CNTVCT_EL0, SYS_CNTVOFF_EL2 } from './sysregs.ts';

/** CNTV_CTL_EL0 bits. */
export const ARCH_TIMER_CTRL_ENABLE = 1n;
/** The timer's output is masked. */
export const ARCH_TIMER_CTRL_IT_MASK = 2n;

/**
 * kvm_timer_should_fire() for the EL1 virtual timer: enabled, not masked,
 * and the virtual count has reached CNTV_CVAL_EL0. The CPU owns the count
 * and computes its output.
 */
export function vtimerLevel(cpu: Arm64Vcpu): boolean {
  return cpu.vtimerLevel();
}

/**
 * Virtual counter ticks until the virtual timer fires (0 when it already
 * does), or undefined when it is off or masked: how long a halted vCPU
 * would sleep on its hrtimer (kvm_timer_earliest_exp()).
 */
export function vtimerTicksLeft(cpu: Arm64Vcpu): bigint | undefined {
  const ctl = cpu.getSysReg(SYS_CNTV_CTL_EL0) ?? 0n;
  if ((ctl & ARCH_TIMER_CTRL_ENABLE) === 0n || (ctl & ARCH_TIMER_CTRL_IT_MASK) !== 0n) return undefined;
  const cval = cpu.getSysReg(SYS_CNTV_CVAL_EL0) ?? 0n;
  const now = cpu.getSysReg(SYS_CNTVCT_EL0) ?? 0n;
  return cval > now ? cval - now : 0n;
}

/**
 * Move the virtual count forward by `ticks` by lowering CNTVOFF_EL2, as time
 * passing while the host slept would (the deterministic idle skip). false
 * when the CPU has no CNTVOFF_EL2.
 */
export function skipVirtualTime(cpu: Arm64Vcpu, ticks: bigint): boolean {
  const off = cpu.getSysReg(SYS_CNTVOFF_EL2);
  if (off === undefined) return false;
  return cpu.setSysReg(SYS_CNTVOFF_EL2, BigInt.asUintN(64, off - ticks));
}
