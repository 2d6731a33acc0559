import * as core from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import * as psci from '../src/index.ts';
import * as generic from '../src/kvm-uapi.ts';

describe('UAPI values', () => {
  it('the generic KVM constants are the ones @tsvirt/kvm-core exports', () => {
    const coreValues = new Map<string, unknown>(Object.entries(core));
    const pkgValues = new Map<string, unknown>(Object.entries(psci));
    const names = Object.keys(generic);
    expect(names).toContain('KVM_EXIT_SYSTEM_EVENT');
    expect(names).toContain('KVM_MP_STATE_SUSPENDED');
    for (const name of names) {
      expect(coreValues.get(name), name).toBeDefined();
      expect(pkgValues.get(name), name).toBe(coreValues.get(name));
    }
  });

  it('the arm64-only names are not in kvm-core (no second copy of a generic value)', () => {
    for (const name of ['KVM_ARM_VCPU_INIT', 'KVM_ARM_PREFERRED_TARGET', 'KVM_CAP_ARM_PSCI_0_2'])
      expect(Object.keys(core), name).not.toContain(name);
  });

  it("ioctl numbers are the kernel's", () => {
    expect(psci.KVM_GET_ONE_REG).toBe(0x4010aeab);
    expect(psci.KVM_SET_ONE_REG).toBe(0x4010aeac);
    expect(psci.KVM_GET_REG_LIST).toBe(0xc008aeb0);
    expect(psci.KVM_ARM_VCPU_INIT).toBe(0x4020aeae);
    expect(psci.KVM_ARM_PREFERRED_TARGET).toBe(0x8020aeaf);
    expect(psci.KVM_GET_MP_STATE).toBe(0x8004ae98);
    expect(psci.KVM_SET_MP_STATE).toBe(0x4004ae99);
    expect(psci.KVM_ENABLE_CAP).toBe(0x4068aea3);
    expect(psci.KVM_RUN).toBe(0xae80);
  });

  it('PSCI ids and register ids', () => {
    expect(psci.PSCI_0_2_FN64_CPU_ON).toBe(0xc4000003);
    expect(psci.PSCI_1_1_FN64_SYSTEM_RESET2).toBe(0xc4000012);
    expect(psci.KVM_PSCI_FN_CPU_ON).toBe(0x95c1ba60);
    expect(psci.KVM_ARM_PSCI_1_1).toBe(0x10001);
    expect(psci.KVM_REG_ARM_VENDOR_HYP_BMAP).toBe(0x6030_0000_0016_0002n);
    expect(psci.kvmRegArmCoreX(1)).toBe(0x6030_0000_0010_0002n);
    expect(psci.KVM_REG_ARM_CORE_PC).toBe(0x6030_0000_0010_0040n);
  });
});
