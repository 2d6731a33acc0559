import type { Arm64Vcpu } from '@tsvirt/arm64-core';
import { fail } from '@tsvirt/core-bus';
import type { KvmArmVcpu, KvmArmVm } from '@tsvirt/kvm-arm-psci';
import type { KvmVcpu, KvmVm } from '@tsvirt/kvm-core';
import type { MmioDecode } from './mmio.ts';
import type { KvmArmMmu } from './mmu.ts';

/** struct kvm_arch (arm64): the stage-2 MMU and the PSCI/firmware state of kvm-arm-psci. */
export class ArmVmState {
  constructor(
    /** The stage-2 MMU. */
    readonly mmu: KvmArmMmu,
    /** PSCI version, firmware registers and bitmaps (kvm-arm-psci's model of the same struct). */
    readonly psci: KvmArmVm,
  ) {}
}

/** struct kvm_vcpu_arch (arm64). */
export class ArmVcpuState {
  /** Halted in WFI (or CPU_SUSPEND) until an interrupt or the timer is pending. */
  blocked = false;
  /** The IRQ input user space drives with KVM_IRQ_LINE (HCR_EL2.VI). */
  irqLine = false;
  /** The FIQ input (HCR_EL2.VF). */
  fiqLine = false;
  /** The MMIO load/store KVM_RUN completes after user space emulated it. */
  mmio: MmioDecode | undefined;
  /** spsr[1..4]: the AArch32 abt/und/irq/fiq SPSRs, held for ONE_REG only (no AArch32 EL1 here). */
  readonly spsrAa32 = new BigUint64Array(4);
  /** kvm_run.s.regs.device_irq_level as user space last saw it (KVM_ARM_DEV_EL1_VTIMER). */
  deviceIrqLevel = 0;
  /** Instructions left of this vCPU's scheduling quantum. */
  budget: number;

  constructor(
    /** The CPU that runs the vCPU. */
    readonly cpu: Arm64Vcpu,
    /** The vCPU as kvm-arm-psci sees it: features, power state, CPU_ON reset, firmware registers. */
    readonly psci: KvmArmVcpu,
    /** Instructions per scheduling quantum. */
    readonly quantum: number,
  ) {
    this.budget = quantum;
  }
}

/** The arm64 state of a VM; EINVAL for another arch's VM. */
export function armVm(vm: KvmVm): ArmVmState {
  const s = vm.arch;
  if (!(s instanceof ArmVmState)) return fail('EINVAL', 'not an arm64 VM');
  return s;
}

/** The arm64 state of a vCPU; EINVAL for another arch's vCPU. */
export function armVcpu(vcpu: KvmVcpu): ArmVcpuState {
  const s = vcpu.arch;
  if (!(s instanceof ArmVcpuState)) return fail('EINVAL', 'not an arm64 vCPU');
  return s;
}
