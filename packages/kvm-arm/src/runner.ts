import { KVM_EXIT_INTR, type KvmVcpu, type KvmVm } from '@tsvirt/kvm-core';
import { idleSkip, vcpuRunnable } from './vcpu-run.ts';

/**
 * Deterministic round-robin over a VM's vCPUs on one thread, as kvm-riscv's
 * scheduler: `run()` returns the vCPU whose exit user space must handle, or
 * undefined when every vCPU is off or halted with nothing but user space
 * (an interrupt line) able to wake it. KVM_EXIT_INTR is not returned;
 * `onIntr` sees each one (where the VMM's GIC follows the timer output).
 */
export class ArmVcpuScheduler {
  private next = 0;

  constructor(
    /** The VM whose vCPUs are scheduled. */
    readonly vm: KvmVm,
    /** Called after each KVM_RUN that returned KVM_EXIT_INTR (user space's chance to follow device_irq_level). */
    readonly onIntr?: (vcpu: KvmVcpu) => void,
  ) {}

  /** Run vCPUs until one needs user space; undefined when none can run. */
  run(): KvmVcpu | undefined {
    const vcpus = this.vm.vcpus;
    let idle = 0;
    for (;;) {
      const n = vcpus.length;
      if (n === 0) return undefined;
      if (this.next >= n) this.next = 0;
      const v = vcpus[this.next]!;
      if (vcpuRunnable(v)) {
        idle = 0;
        v.kvmRun();
        if (v.run.exit_reason !== KVM_EXIT_INTR) return v;
        this.onIntr?.(v);
      } else if (++idle >= n) {
        if (!idleSkip(this.vm)) return undefined;
        idle = 0;
        continue;
      }
      this.next = (this.next + 1) % n;
    }
  }
}
