import { describe, expect, it } from 'vitest';
import {
  ARM_SMCCC_VERSION_1_1,
  ARM_SMCCC_VERSION_FUNC_ID,
  PSCI_0_2_AFFINITY_LEVEL_OFF,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN_CPU_ON,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN64_AFFINITY_INFO,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_1_0_FN_PSCI_FEATURES,
  PSCI_RET_INVALID_PARAMS,
  PSCI_RET_NOT_SUPPORTED,
} from '../src/index.ts';
import { aff, hvc, makeVm, smc } from './helpers.ts';

describe('SMC32 and SMC64 conventions', () => {
  it('SMC32 CPU_ON ignores the upper halves of target, entry point and context id', () => {
    const t = makeVm();
    const r = hvc(
      t.vcpus[0]!,
      PSCI_0_2_FN_CPU_ON,
      (0xdeadn << 32n) | aff(1),
      (0xffffn << 32n) | 0x8000n,
      (1n << 40n) | 5n,
    );
    expect(r.ret).toBe(0n);
    expect(t.vcpus[1]!.resetState).toEqual({ pc: 0x8000n, r0: 5n, be: false });
  });

  it('SMC64 CPU_ON keeps all 64 bits, so the same garbage is an unknown MPIDR', () => {
    const t = makeVm();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, (0xdeadn << 32n) | aff(1), 0x8000n, 0n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0xffff_0000_8000n, 1n << 40n).ret).toBe(0n);
    expect(t.vcpus[1]!.resetState).toEqual({ pc: 0xffff_0000_8000n, r0: 1n << 40n, be: false });
  });

  it('SMC32 AFFINITY_INFO narrows target and level', () => {
    const t = makeVm();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN_AFFINITY_INFO, (1n << 33n) | aff(1), 1n << 32n).ret).toBe(
      BigInt(PSCI_0_2_AFFINITY_LEVEL_OFF),
    );
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_AFFINITY_INFO, aff(1), 1n << 32n).ret).toBe(
      BigInt(PSCI_RET_INVALID_PARAMS),
    );
  });

  it('the upper half of x0 is not part of the function id', () => {
    const t = makeVm();
    expect(hvc(t.vcpus[0]!, (0x1234n << 32n) | BigInt(PSCI_0_2_FN_PSCI_VERSION)).ret).toBe(0x10001n);
  });

  it('a 32-bit (EL1_32BIT) guest may not call SMC64 functions: NOT_SUPPORTED, nothing done', () => {
    const t = makeVm({ aarch32: true });
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0x8000n, 0n).ret).toBe(
      BigInt(PSCI_RET_NOT_SUPPORTED),
    );
    expect(t.vcpus[1]!.resetState).toBeUndefined();
    expect(hvc(t.vcpus[0]!, PSCI_0_2_FN_CPU_ON, aff(1), 0x8000n, 0n).ret).toBe(0n);
    // ...nor learn from PSCI_FEATURES that they exist.
    expect(hvc(t.vcpus[0]!, PSCI_1_0_FN_PSCI_FEATURES, BigInt(PSCI_0_2_FN64_CPU_ON)).ret).toBe(
      BigInt(PSCI_RET_NOT_SUPPORTED),
    );
    expect(hvc(t.vcpus[0]!, PSCI_1_0_FN_PSCI_FEATURES, BigInt(PSCI_0_2_FN_CPU_ON)).ret).toBe(0n);
  });

  it('SMCCC_VERSION answers 1.1', () => {
    expect(hvc(makeVm().vcpus[0]!, ARM_SMCCC_VERSION_FUNC_ID).ret).toBe(BigInt(ARM_SMCCC_VERSION_1_1));
  });
});

describe('conduits (handle_hvc, handle_smc)', () => {
  it('SMC #0 is an SMCCC call and steps the pc over the instruction', () => {
    const t = makeVm();
    t.cpus[0]!.setPc(0x1000n);
    expect(smc(t.vcpus[0]!, 0, PSCI_0_2_FN_PSCI_VERSION).ret).toBe(0x10001n);
    expect(t.cpus[0]!.getPc()).toBe(0x1004n);
  });

  it('SMC with a non-zero immediate is reserved: x0 = -1, nothing called', () => {
    const t = makeVm();
    t.cpus[0]!.setPc(0x1000n);
    expect(smc(t.vcpus[0]!, 1, PSCI_0_2_FN64_CPU_ON, aff(1), 0x8000n, 0n)).toEqual({ ret: -1n, resume: 1 });
    expect(t.cpus[0]!.getPc()).toBe(0x1004n);
    expect(t.vcpus[1]!.resetState).toBeUndefined();
  });

  it('HVC leaves the pc alone (the exception already returns past it)', () => {
    const t = makeVm();
    t.cpus[0]!.setPc(0x1000n);
    hvc(t.vcpus[0]!, PSCI_0_2_FN_PSCI_VERSION);
    expect(t.cpus[0]!.getPc()).toBe(0x1000n);
  });
});
