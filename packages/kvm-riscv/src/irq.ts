import type { KvmVcpu } from '@tsvirt/kvm-core';
import { KVM_INTERRUPT_SET, KVM_INTERRUPT_UNSET } from './onereg-uapi.ts';

/**
 * Drive a vCPU's external interrupt line (VSEIP) through KVM_INTERRUPT, as a
 * VMM's user-space PLIC does for each hart context whose claimable
 * interrupt changes: level true = KVM_INTERRUPT_SET, false = _UNSET. A
 * halted vCPU becomes runnable when the line rises and VSEIE is on.
 */
export function setExternalInterrupt(vcpu: KvmVcpu, level: boolean): void {
  vcpu.interrupt({ irq: level ? KVM_INTERRUPT_SET : KVM_INTERRUPT_UNSET });
}
