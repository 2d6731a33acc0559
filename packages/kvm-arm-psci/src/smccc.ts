import type { KvmArmVcpu } from './kvm-arm-vcpu.ts';

// The SMC Calling Convention as KVM reads and writes the guest's registers
// (include/kvm/arm_hypercalls.h): the function id is the low 32 bits of x0,
// arguments are x1..x3, results go to x0..x3.

const MASK32 = 0xffff_ffffn;

/** smccc_get_function(): the upper half of x0 is ignored. */
export function smcccGetFunction(vcpu: KvmArmVcpu): number {
  return Number(vcpu.regs.getX(0) & MASK32);
}

/** smccc_get_arg(vcpu, n), n = 1..3: the full 64-bit register. */
export function smcccGetArg(vcpu: KvmArmVcpu, n: 1 | 2 | 3): bigint {
  return vcpu.regs.getX(n);
}

/** smccc_set_retval(): negative results are sign-extended, as an unsigned long holding them is. */
export function smcccSetRetval(
  vcpu: KvmArmVcpu,
  a0: number | bigint,
  a1: number | bigint = 0,
  a2 = 0n,
  a3 = 0n,
): void {
  vcpu.regs.setX(0, BigInt.asUintN(64, BigInt(a0)));
  vcpu.regs.setX(1, BigInt.asUintN(64, BigInt(a1)));
  vcpu.regs.setX(2, BigInt.asUintN(64, a2));
  vcpu.regs.setX(3, BigInt.asUintN(64, a3));
}

/** kvm_psci_narrow_to_32bit(): an SMC32 call's x1..x3 keep only their low halves. */
export function narrowTo32(vcpu: KvmArmVcpu): void {
  for (let i = 1; i <= 3; i++) vcpu.regs.setX(i, vcpu.regs.getX(i) & MASK32);
}
