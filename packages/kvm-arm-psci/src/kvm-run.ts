import { KVM_EXIT_UNKNOWN } from './kvm-uapi.ts';

/**
 * The parts of struct kvm_run an arm64 PSCI exit uses. system_event's
 * `flags` is a union with data[0] in the UAPI; here it reads data[0].
 */
export interface KvmArmRun {
  immediate_exit: number;
  exit_reason: number;
  system_event: { type: number; ndata: number; data: bigint[]; readonly flags: bigint };
}

export function createKvmArmRun(): KvmArmRun {
  const data = new Array<bigint>(16).fill(0n);
  return {
    immediate_exit: 0,
    exit_reason: KVM_EXIT_UNKNOWN,
    system_event: {
      type: 0,
      ndata: 0,
      data,
      get flags() {
        return data[0]!;
      },
    },
  };
}

/** memset(&run->system_event, 0, ...). */
export function clearSystemEvent(run: KvmArmRun): void {
  run.system_event.type = 0;
  run.system_event.ndata = 0;
  run.system_event.data.fill(0n);
}
