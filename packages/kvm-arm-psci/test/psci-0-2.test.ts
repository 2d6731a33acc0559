import { describe, expect, it } from 'vitest';
import {
  KVM_ARM_PSCI_0_2,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  mpidrForVcpuId,
  NEW_ONE_REG_HOST,
  OLD_HOST,
  PSCI_0_2_AFFINITY_LEVEL_OFF,
  PSCI_0_2_AFFINITY_LEVEL_ON,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_CPU_SUSPEND,
  PSCI_0_2_FN_MIGRATE,
  PSCI_0_2_FN_MIGRATE_INFO_TYPE,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_0_2_FN_SYSTEM_RESET,
  PSCI_0_2_FN64_AFFINITY_INFO,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_0_2_FN64_CPU_SUSPEND,
  PSCI_0_2_FN64_MIGRATE,
  PSCI_0_2_FN64_MIGRATE_INFO_UP_CPU,
  PSCI_0_2_TOS_MP,
  PSCI_1_0_FN_PSCI_FEATURES,
  PSCI_RET_ALREADY_ON,
  PSCI_RET_INTERNAL_FAILURE,
  PSCI_RET_INVALID_PARAMS,
  PSCI_RET_NOT_SUPPORTED,
  PSCI_RET_SUCCESS,
  systemEventFlags,
} from '../src/index.ts';
import { aff, hvc, makeVm } from './helpers.ts';

// A VM pinned to PSCI 0.2 by the firmware register (upstream host) and an
// old host where 0.2 is simply the latest behave the same.
const make02 = (nr = 3) => {
  const t = makeVm({ nr });
  t.vcpus[0]!.setOneRegValue(0x6030_0000_0014_0000n, BigInt(KVM_ARM_PSCI_0_2));
  return t;
};

describe('PSCI 0.2 (kvm_psci_0_2_call)', () => {
  it('PSCI_VERSION answers 0.2, on a pinned upstream VM and on an old host', () => {
    expect(hvc(make02().vcpus[0]!, PSCI_0_2_FN_PSCI_VERSION)).toEqual({ ret: 2n, resume: 1 });
    expect(hvc(makeVm({ host: OLD_HOST }).vcpus[0]!, PSCI_0_2_FN_PSCI_VERSION).ret).toBe(2n);
  });

  it('results clear x1..x3 (smccc_set_retval)', () => {
    const t = make02();
    hvc(t.vcpus[0]!, PSCI_0_2_FN_PSCI_VERSION, 7n, 8n, 9n);
    expect([1, 2, 3].map((i) => t.cpus[0]!.getX(i))).toEqual([0n, 0n, 0n]);
  });

  it('CPU_ON powers the target on; it enters at the entry point with x0 = context id on its next run', () => {
    const t = make02();
    const target = t.vcpus[1]!;
    t.cpus[1]!.setX(0, 0x55n);
    t.cpus[1]!.setPc(0x1234n);
    const r = hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0x8008_0000n, 0xdead_beef_cafe_f00dn);
    expect(r).toEqual({ ret: BigInt(PSCI_RET_SUCCESS), resume: 1 });
    expect(target.mpState).toBe(KVM_MP_STATE_RUNNABLE);
    // Not yet reset: KVM_REQ_VCPU_RESET runs on the target's thread.
    expect(t.cpus[1]!.getPc()).toBe(0x1234n);
    expect(target.resetState).toEqual({ pc: 0x8008_0000n, r0: 0xdead_beef_cafe_f00dn, be: false });
  });

  it("CPU_ON passes the caller's endianness on: the target resets big-endian, and it survives save/restore", () => {
    const t = make02();
    t.cpus[0]!.bigEndian = true;
    hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0x1000n, 0n);
    expect(t.vcpus[1]!.resetState?.be).toBe(true);
    const other = make02();
    other.vcpus[1]!.restore(t.vcpus[1]!.save());
    expect(other.vcpus[1]!.resetState).toEqual({ pc: 0x1000n, r0: 0n, be: true });
  });

  it('CPU_ON of a running vCPU is ALREADY_ON; the caller itself too', () => {
    const t = make02();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0x1000n, 0n).ret).toBe(0n);
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0x2000n, 0n).ret).toBe(BigInt(PSCI_RET_ALREADY_ON));
    expect(t.vcpus[1]!.resetState?.pc).toBe(0x1000n);
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(0), 0x2000n, 0n).ret).toBe(BigInt(PSCI_RET_ALREADY_ON));
  });

  it('CPU_ON with an MPIDR no vCPU has, or with bits outside the affinity fields, is INVALID_PARAMS', () => {
    const t = make02();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(7), 0x1000n, 0n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
    // Bit 24 (between Aff2 and Aff3) is not an affinity bit.
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, (1n << 24n) | 1n, 0x1000n, 0n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
    expect(t.vcpus[1]!.mpState).toBe(KVM_MP_STATE_STOPPED);
    expect(t.vcpus[1]!.resetState).toBeUndefined();
  });

  it('CPU_ON takes the affinity fields only: a raw MPIDR with its RES1 bit 31 is INVALID_PARAMS', () => {
    const t = make02();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, mpidrForVcpuId(2), 0x1000n, 0n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
    expect(t.vcpus[2]!.mpState).toBe(KVM_MP_STATE_STOPPED);
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, 2n, 0x1000n, 0n).ret).toBe(0n);
    expect(t.vcpus[2]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
  });

  it('CPU_OFF stops the caller and answers SUCCESS', () => {
    const t = make02();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN_CPU_OFF)).toEqual({ ret: 0n, resume: 1 });
    expect(t.vcpus[0]!.mpState).toBe(KVM_MP_STATE_STOPPED);
  });

  it('CPU_SUSPEND (both conventions) is a WFI and answers SUCCESS', () => {
    const t = make02();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN_CPU_SUSPEND, 0n, 0x1000n, 0n).ret).toBe(0n);
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_SUSPEND, 0x0001_0000n, 0x1000n, 0n).ret).toBe(0n);
    expect(t.cpus[0]!.wfiCount).toBe(2);
    expect(t.vcpus[0]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
  });

  it('AFFINITY_INFO: ON for a running vCPU, OFF for a stopped one, at level 0', () => {
    const t = make02();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, aff(0), 0n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_ON),
    );
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, aff(1), 0n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_OFF),
    );
    hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0x1000n, 0n);
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN_AFFINITY_INFO, aff(1), 0n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_ON),
    );
  });

  it('AFFINITY_INFO at level 1 asks about the whole cluster; lower fields are ignored', () => {
    const t = makeVm({ nr: 18 });
    // vCPU 16 has Aff1 = 1, Aff0 = 0: alone in cluster 1, and powered off.
    const cluster1 = aff(16) | 0x5n;
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, cluster1, 1n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_OFF),
    );
    hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(17), 0x1000n, 0n);
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, cluster1, 1n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_ON),
    );
    // Level 2 and 3 see every vCPU (all Aff2/Aff3 are 0), and vCPU 0 runs.
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, 0n, 2n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_ON),
    );
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, 0n, 3n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_ON),
    );
  });

  it('AFFINITY_INFO with a level above 3, a non-affinity bit, or no vCPU at that affinity is INVALID_PARAMS', () => {
    const t = make02();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, aff(9), 0n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
    // At level 1, Aff0 is ignored: cluster 0 exists.
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, aff(9), 1n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_ON),
    );
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, 0x100n, 1n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, 0n, 4n).ret).toBe(BigInt(PSCI_RET_INVALID_PARAMS));
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, 1n << 63n, 0n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
  });

  it('MIGRATE_INFO_TYPE says the Trusted OS is MP (no migration needed)', () => {
    expect(hvc(make02().vcpus[0]!, PSCI_0_2_FN_MIGRATE_INFO_TYPE).ret).toBe(BigInt(PSCI_0_2_TOS_MP));
  });

  it('MIGRATE, MIGRATE_INFO_UP_CPU, PSCI_FEATURES (a 1.0 call) and unknown ids are NOT_SUPPORTED', () => {
    const v = make02().vcpus[0]!;
    for (const fn of [
      PSCI_0_2_FN_MIGRATE,
      PSCI_0_2_FN64_MIGRATE,
      PSCI_0_2_FN64_MIGRATE_INFO_UP_CPU,
      PSCI_1_0_FN_PSCI_FEATURES,
      0x8400_00ff,
    ]) {
      expect(hvc(v, fn).ret).toBe(BigInt(PSCI_RET_NOT_SUPPORTED));
    }
  });

  it('SYSTEM_OFF exits with SYSTEM_EVENT SHUTDOWN, stops every vCPU, and preloads INTERNAL_FAILURE', () => {
    const t = make02();
    hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0x1000n, 0n);
    const r = hvc(t.vcpus[0]!, PSCI_0_2_FN_SYSTEM_OFF);
    expect(r).toEqual({ ret: BigInt(PSCI_RET_INTERNAL_FAILURE), resume: 0 });
    const run = t.vcpus[0]!.run;
    expect(run.exit_reason).toBe(KVM_EXIT_SYSTEM_EVENT);
    expect(run.system_event.type).toBe(KVM_SYSTEM_EVENT_SHUTDOWN);
    expect(run.system_event.ndata).toBe(1);
    expect(systemEventFlags(run)).toBe(0n);
    expect(t.vcpus.map((v) => v.mpState)).toEqual([
      KVM_MP_STATE_STOPPED,
      KVM_MP_STATE_STOPPED,
      KVM_MP_STATE_STOPPED,
    ]);
  });

  it('SYSTEM_RESET exits with SYSTEM_EVENT RESET and no flags', () => {
    const t = makeVm({ host: NEW_ONE_REG_HOST });
    t.vcpus[0]!.setOneRegValue(0x6030_0000_0014_0000n, 2n);
    const r = hvc(t.vcpus[0]!, PSCI_0_2_FN_SYSTEM_RESET);
    expect(r.resume).toBe(0);
    expect(t.vcpus[0]!.run.system_event.type).toBe(KVM_SYSTEM_EVENT_RESET);
    expect(t.vcpus[0]!.run.system_event.data[0]).toBe(0n);
  });
});
