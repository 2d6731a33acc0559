import { KVM_EXIT_INTR, type KvmVcpu, type KvmVm } from '@tsvirt/kvm-core';
import { idleSkip, vcpuRunnable } from './vcpu-run.ts';

/**
 * Deterministic round-robin over a VM's vCPUs on one thread: each runnable
 * vCPU gets KVM_RUN for its quantum (KvmRiscvOptions.quantum instructions)
 * in creation order, so a run is reproducible. `run()` returns the vCPU
 * whose exit user space must handle (its `run` holds it; the next `run()`
 * resumes that vCPU first, completing the exit), or undefined when every
 * vCPU is stopped or halted with nothing but user space able to wake it.
 */
export class RiscvVcpuScheduler {
  private next = 0;

  constructor(
    /** The VM whose vCPUs are scheduled. */
    readonly vm: KvmVm,
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
      } else if (++idle >= n) {
        if (!idleSkip(this.vm)) return undefined;
        idle = 0;
        continue;
      }
      this.next = (this.next + 1) % n;
    }
  }
}
