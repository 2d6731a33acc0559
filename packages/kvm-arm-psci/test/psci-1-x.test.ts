import { describe, expect, it } from 'vitest';
import {
  ARM_SMCCC_VERSION_FUNC_ID,
  KVM_ARM_PSCI_1_0,
  KVM_ARM_PSCI_1_1,
  KVM_CAP_ARM_SYSTEM_SUSPEND,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_REG_ARM_PSCI_VERSION,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2,
  KVM_SYSTEM_EVENT_SUSPEND,
  NEW_ONE_REG_HOST,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_CPU_ON,
  PSCI_0_2_FN_CPU_SUSPEND,
  PSCI_0_2_FN_MIGRATE_INFO_TYPE,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_0_2_FN_SYSTEM_RESET,
  PSCI_0_2_FN64_AFFINITY_INFO,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_0_2_FN64_CPU_SUSPEND,
  PSCI_0_2_FN64_MIGRATE,
  PSCI_1_0_FN_CPU_FREEZE,
  PSCI_1_0_FN_PSCI_FEATURES,
  PSCI_1_0_FN_SYSTEM_SUSPEND,
  PSCI_1_0_FN64_SYSTEM_SUSPEND,
  PSCI_1_1_FN_MEM_PROTECT,
  PSCI_1_1_FN_SYSTEM_RESET2,
  PSCI_1_1_FN64_SYSTEM_RESET2,
  PSCI_RET_INTERNAL_FAILURE,
  PSCI_RET_INVALID_PARAMS,
  PSCI_RET_NOT_SUPPORTED,
  systemEventFlags,
} from '../src/index.ts';
import { hvc, makeVm } from './helpers.ts';

const with10 = () => {
  const t = makeVm();
  t.vcpus[0]!.setOneRegValue(KVM_REG_ARM_PSCI_VERSION, BigInt(KVM_ARM_PSCI_1_0));
  return t;
};

const MANDATORY = [
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_CPU_SUSPEND,
  PSCI_0_2_FN64_CPU_SUSPEND,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_CPU_ON,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN64_AFFINITY_INFO,
  PSCI_0_2_FN_MIGRATE_INFO_TYPE,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_0_2_FN_SYSTEM_RESET,
  PSCI_1_0_FN_PSCI_FEATURES,
  ARM_SMCCC_VERSION_FUNC_ID,
];

describe('PSCI 1.0 and 1.1 (kvm_psci_1_x_call)', () => {
  it("PSCI_VERSION: 1.1 by default on today's host, 1.0 when selected, 1.0 as the seed kernel's latest", () => {
    expect(hvc(makeVm().vcpus[0]!, PSCI_0_2_FN_PSCI_VERSION).ret).toBe(BigInt(KVM_ARM_PSCI_1_1));
    expect(hvc(with10().vcpus[0]!, PSCI_0_2_FN_PSCI_VERSION).ret).toBe(BigInt(KVM_ARM_PSCI_1_0));
    expect(hvc(makeVm({ host: NEW_ONE_REG_HOST }).vcpus[0]!, PSCI_0_2_FN_PSCI_VERSION).ret).toBe(
      BigInt(KVM_ARM_PSCI_1_0),
    );
  });

  it('PSCI_FEATURES reports the mandatory functions and SMCCC_VERSION as implemented (0)', () => {
    const v = makeVm().vcpus[0]!;
    for (const fn of MANDATORY) expect(hvc(v, PSCI_1_0_FN_PSCI_FEATURES, BigInt(fn)).ret).toBe(0n);
  });

  it('PSCI_FEATURES: MIGRATE, CPU_FREEZE, MEM_PROTECT and unknown ids are NOT_SUPPORTED', () => {
    const v = makeVm().vcpus[0]!;
    for (const fn of [PSCI_0_2_FN64_MIGRATE, PSCI_1_0_FN_CPU_FREEZE, PSCI_1_1_FN_MEM_PROTECT, 0x1234]) {
      expect(hvc(v, PSCI_1_0_FN_PSCI_FEATURES, BigInt(fn)).ret).toBe(BigInt(PSCI_RET_NOT_SUPPORTED));
    }
  });

  it('PSCI_FEATURES(SYSTEM_RESET2) is implemented only from 1.1', () => {
    for (const fn of [PSCI_1_1_FN_SYSTEM_RESET2, PSCI_1_1_FN64_SYSTEM_RESET2]) {
      expect(hvc(makeVm().vcpus[0]!, PSCI_1_0_FN_PSCI_FEATURES, BigInt(fn)).ret).toBe(0n);
      expect(hvc(with10().vcpus[0]!, PSCI_1_0_FN_PSCI_FEATURES, BigInt(fn)).ret).toBe(
        BigInt(PSCI_RET_NOT_SUPPORTED),
      );
    }
  });

  it('PSCI_FEATURES(SYSTEM_SUSPEND) follows KVM_CAP_ARM_SYSTEM_SUSPEND', () => {
    const t = makeVm();
    const v = t.vcpus[0]!;
    expect(hvc(v, PSCI_1_0_FN_PSCI_FEATURES, BigInt(PSCI_1_0_FN64_SYSTEM_SUSPEND)).ret).toBe(
      BigInt(PSCI_RET_NOT_SUPPORTED),
    );
    t.vm.enableCap({ cap: KVM_CAP_ARM_SYSTEM_SUSPEND, flags: 0, args: [] });
    expect(hvc(v, PSCI_1_0_FN_PSCI_FEATURES, BigInt(PSCI_1_0_FN64_SYSTEM_SUSPEND)).ret).toBe(0n);
    expect(hvc(v, PSCI_1_0_FN_PSCI_FEATURES, BigInt(PSCI_1_0_FN_SYSTEM_SUSPEND)).ret).toBe(0n);
  });

  it('PSCI_FEATURES reads its argument as a u32', () => {
    const v = makeVm().vcpus[0]!;
    expect(hvc(v, PSCI_1_0_FN_PSCI_FEATURES, (0xabcdn << 32n) | BigInt(PSCI_0_2_FN_CPU_OFF)).ret).toBe(0n);
  });

  it('the 0.2 calls still work under 1.x', () => {
    const t = makeVm();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN_MIGRATE_INFO_TYPE).ret).toBe(2n);
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, 1n, 0x1000n, 0n).ret).toBe(0n);
    expect(t.vcpus[1]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
  });

  describe('SYSTEM_SUSPEND', () => {
    it('without the cap it is NOT_SUPPORTED and the guest carries on', () => {
      const t = makeVm();
      expect(hvc(t.vcpus[0]!, PSCI_1_0_FN64_SYSTEM_SUSPEND, 0x8000n, 0x99n)).toEqual({
        ret: BigInt(PSCI_RET_NOT_SUPPORTED),
        resume: 1,
      });
    });

    it('with the cap it exits as SYSTEM_EVENT SUSPEND, registers untouched for user space', () => {
      const t = makeVm();
      t.vm.enableCap({ cap: KVM_CAP_ARM_SYSTEM_SUSPEND, flags: 0, args: [] });
      const r = hvc(t.vcpus[0]!, PSCI_1_0_FN64_SYSTEM_SUSPEND, 0x8000n, 0x99n);
      expect(r.resume).toBe(0);
      expect(t.cpus[0]!.getX(0)).toBe(BigInt(PSCI_1_0_FN64_SYSTEM_SUSPEND));
      expect([t.cpus[0]!.getX(1), t.cpus[0]!.getX(2)]).toEqual([0x8000n, 0x99n]);
      const run = t.vcpus[0]!.run;
      expect(run.exit_reason).toBe(KVM_EXIT_SYSTEM_EVENT);
      expect(run.system_event.type).toBe(KVM_SYSTEM_EVENT_SUSPEND);
      expect(run.system_event.ndata).toBe(0);
      // Nothing is stopped: user space decides.
      expect(t.vcpus[0]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
    });

    it('the SMC32 form narrows the entry point and context id', () => {
      const t = makeVm();
      t.vm.enableCap({ cap: KVM_CAP_ARM_SYSTEM_SUSPEND, flags: 0, args: [] });
      hvc(t.vcpus[0]!, PSCI_1_0_FN_SYSTEM_SUSPEND, 0xffff_0000_8000_0000n, 0x1_0000_0001n);
      expect([t.cpus[0]!.getX(1), t.cpus[0]!.getX(2)]).toEqual([0x8000_0000n, 1n]);
    });

    it('is NOT_SUPPORTED under PSCI 0.2 even with the cap', () => {
      const t = makeVm();
      t.vcpus[0]!.setOneRegValue(KVM_REG_ARM_PSCI_VERSION, 2n);
      t.vm.enableCap({ cap: KVM_CAP_ARM_SYSTEM_SUSPEND, flags: 0, args: [] });
      expect(hvc(t.vcpus[0]!, PSCI_1_0_FN64_SYSTEM_SUSPEND, 0x8000n).ret).toBe(
        BigInt(PSCI_RET_NOT_SUPPORTED),
      );
    });
  });

  describe('SYSTEM_RESET2 (1.1)', () => {
    it('warm reset (type 0) exits as SYSTEM_EVENT RESET with the PSCI_RESET2 flag and stops every vCPU', () => {
      const t = makeVm();
      const r = hvc(t.vcpus[0]!, PSCI_1_1_FN64_SYSTEM_RESET2, 0n, 0n);
      expect(r).toEqual({ ret: BigInt(PSCI_RET_INTERNAL_FAILURE), resume: 0 });
      const ev = t.vcpus[0]!.run.system_event;
      expect([ev.type, ev.ndata, ev.data[0]]).toEqual([
        KVM_SYSTEM_EVENT_RESET,
        1,
        KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2,
      ]);
      expect(t.vcpus.every((v) => v.mpState === KVM_MP_STATE_STOPPED)).toBe(true);
    });

    it('vendor-specific types (bit 31 set) reset too', () => {
      const t = makeVm();
      expect(hvc(t.vcpus[0]!, PSCI_1_1_FN_SYSTEM_RESET2, 0x8000_0001n, 0n).resume).toBe(0);
      expect(systemEventFlags(t.vcpus[0]!.run)).toBe(KVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2);
    });

    it('reserved architectural types (1..0x7fffffff) are INVALID_PARAMS and nothing stops', () => {
      const t = makeVm();
      expect(hvc(t.vcpus[0]!, PSCI_1_1_FN64_SYSTEM_RESET2, 1n, 0n)).toEqual({
        ret: BigInt(PSCI_RET_INVALID_PARAMS),
        resume: 1,
      });
      expect(hvc(t.vcpus[0]!, PSCI_1_1_FN_SYSTEM_RESET2, 0x7fff_ffffn, 0n).ret).toBe(
        BigInt(PSCI_RET_INVALID_PARAMS),
      );
      expect(t.vcpus[0]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
      expect(t.vcpus[0]!.run.exit_reason).not.toBe(KVM_EXIT_SYSTEM_EVENT);
    });

    it('the reset type is a u32: upper bits of x1 are ignored, even for SMC64', () => {
      const t = makeVm();
      expect(hvc(t.vcpus[0]!, PSCI_1_1_FN64_SYSTEM_RESET2, 0xffff_ffff_0000_0000n, 0n).resume).toBe(0);
    });

    it('is NOT_SUPPORTED under PSCI 1.0', () => {
      const t = with10();
      expect(hvc(t.vcpus[0]!, PSCI_1_1_FN64_SYSTEM_RESET2, 0n, 0n)).toEqual({
        ret: BigInt(PSCI_RET_NOT_SUPPORTED),
        resume: 1,
      });
    });
  });
});
