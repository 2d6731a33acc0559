import { createKvmRun, type KvmRun } from '@tsvirt/kvm-core';

/**
 * The parts of kvm-core's struct kvm_run a PSCI exit uses, so that any
 * KvmRun can be passed in. In the UAPI system_event.flags is a union with
 * data[0]; see systemEventFlags().
 */
export type KvmArmRun = Pick<KvmRun, 'immediate_exit' | 'exit_reason' | 'system_event'>;

/** A fresh run page (kvm-core's, whose other exit kinds this package never fills). */
export function createKvmArmRun(): KvmArmRun {
  return createKvmRun();
}

/** kvm_run.system_event.flags (the union member over data[0]). */
export function systemEventFlags(run: KvmArmRun): bigint {
  return run.system_event.data[0] ?? 0n;
}

/** memset(&run->system_event, 0, ...). */
export function clearSystemEvent(run: KvmArmRun): void {
  run.system_event.type = 0;
  run.system_event.ndata = 0;
  run.system_event.data.fill(0n);
}
