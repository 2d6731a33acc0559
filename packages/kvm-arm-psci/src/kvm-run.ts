import { KVM_EXIT_UNKNOWN } from './kvm-uapi.ts';

/**
 * The parts of struct kvm_run a PSCI exit uses, shaped as @tsvirt/kvm-core's
 * KvmRun so that its run page can be passed in. In the UAPI
 * system_event.flags is a union with data[0]; see systemEventFlags().
 */
export interface KvmArmRun {
  immediate_exit: number;
  exit_reason: number;
  system_event: { type: number; ndata: number; data: bigint[] };
}

export function createKvmArmRun(): KvmArmRun {
  return {
    immediate_exit: 0,
    exit_reason: KVM_EXIT_UNKNOWN,
    system_event: { type: 0, ndata: 0, data: new Array<bigint>(16).fill(0n) },
  };
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
