import { describe, expect, it } from 'vitest';
import {
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_PSCI_FN_CPU_OFF,
  KVM_PSCI_FN_CPU_ON,
  KVM_PSCI_FN_CPU_SUSPEND,
  KVM_PSCI_FN_MIGRATE,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_RET_INVALID_PARAMS,
  PSCI_RET_NOT_SUPPORTED,
} from '../src/index.ts';
import { aff, hvc, makeVm } from './helpers.ts';

// A vCPU without KVM_ARM_VCPU_PSCI_0_2 gets KVM's pre-standard PSCI 0.1
// (kvm_psci_0_1_call): its own function ids, CPU_OFF and CPU_ON only.
describe('PSCI 0.1 (no PSCI_0_2 feature)', () => {
  it('CPU_OFF stops the caller and answers SUCCESS', () => {
    const t = makeVm({ psci02: false });
    expect(hvc(t.vcpus[0]!, KVM_PSCI_FN_CPU_OFF)).toEqual({ ret: 0n, resume: 1 });
    expect(t.vcpus[0]!.mpState).toBe(KVM_MP_STATE_STOPPED);
  });

  it('CPU_ON starts a stopped vCPU with the entry point and x0 from x3', () => {
    const t = makeVm({ psci02: false });
    expect(hvc(t.vcpus[0]!, KVM_PSCI_FN_CPU_ON, aff(1), 0x4000n, 0x77n).ret).toBe(0n);
    expect(t.vcpus[1]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
    expect(t.vcpus[1]!.resetState).toEqual({ pc: 0x4000n, r0: 0x77n, be: false });
  });

  it('CPU_ON of a running vCPU is INVALID_PARAMS: 0.1 has no ALREADY_ON', () => {
    const t = makeVm({ psci02: false });
    expect(hvc(t.vcpus[0]!, KVM_PSCI_FN_CPU_ON, aff(0), 0x4000n, 0n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
  });

  it('CPU_ON of an unknown MPIDR is INVALID_PARAMS', () => {
    const t = makeVm({ psci02: false });
    expect(hvc(t.vcpus[0]!, KVM_PSCI_FN_CPU_ON, aff(9), 0x4000n, 0n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
  });

  it('CPU_SUSPEND, MIGRATE and every 0.2 id are NOT_SUPPORTED', () => {
    const t = makeVm({ psci02: false });
    for (const fn of [
      KVM_PSCI_FN_CPU_SUSPEND,
      KVM_PSCI_FN_MIGRATE,
      PSCI_0_2_FN_PSCI_VERSION,
      PSCI_0_2_FN_SYSTEM_OFF,
    ]) {
      expect(hvc(t.vcpus[0]!, fn)).toEqual({ ret: BigInt(PSCI_RET_NOT_SUPPORTED), resume: 1 });
    }
    expect(t.vcpus[0]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
  });

  it('a PSCI 0.2 vCPU does not answer the 0.1 ids', () => {
    const t = makeVm();
    expect(hvc(t.vcpus[0]!, KVM_PSCI_FN_CPU_OFF).ret).toBe(BigInt(PSCI_RET_NOT_SUPPORTED));
    expect(t.vcpus[0]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
  });
});
