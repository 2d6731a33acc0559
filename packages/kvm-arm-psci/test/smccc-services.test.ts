import { describe, expect, it } from 'vitest';
import {
  ARM_SMCCC_ARCH_FEATURES_FUNC_ID,
  ARM_SMCCC_ARCH_WORKAROUND_1,
  ARM_SMCCC_ARCH_WORKAROUND_2,
  ARM_SMCCC_ARCH_WORKAROUND_3,
  ARM_SMCCC_HV_PV_TIME_FEATURES,
  ARM_SMCCC_HV_PV_TIME_ST,
  ARM_SMCCC_TRNG_VERSION,
  ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID,
  ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID,
  KVM_REG_ARM_STD_BMAP,
  KVM_REG_ARM_STD_HYP_BMAP,
  KVM_REG_ARM_VENDOR_HYP_BMAP,
  SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED,
  SMCCC_RET_NOT_REQUIRED,
  SMCCC_RET_NOT_SUPPORTED,
  UPSTREAM_HOST,
} from '../src/index.ts';
import { hvc, makeVm } from './helpers.ts';

describe('SMCCC discovery and the bitmap-gated services', () => {
  it("ARCH_FEATURES reports each workaround from the host's mitigation state", () => {
    const mitigated = makeVm({ host: { ...UPSTREAM_HOST, wa1Level: 1n, wa2Level: 3n, wa3Level: 1n } })
      .vcpus[0]!;
    expect(hvc(mitigated, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, BigInt(ARM_SMCCC_ARCH_WORKAROUND_1)).ret).toBe(0n);
    expect(hvc(mitigated, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, BigInt(ARM_SMCCC_ARCH_WORKAROUND_2)).ret).toBe(
      BigInt(SMCCC_RET_NOT_REQUIRED),
    );
    expect(hvc(mitigated, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, BigInt(ARM_SMCCC_ARCH_WORKAROUND_3)).ret).toBe(0n);
    const unaffected = makeVm({ host: { ...UPSTREAM_HOST, wa1Level: 2n, wa2Level: 0n, wa3Level: 2n } })
      .vcpus[0]!;
    expect(hvc(unaffected, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, BigInt(ARM_SMCCC_ARCH_WORKAROUND_1)).ret).toBe(
      BigInt(SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED),
    );
    expect(hvc(unaffected, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, BigInt(ARM_SMCCC_ARCH_WORKAROUND_2)).ret).toBe(
      BigInt(SMCCC_RET_NOT_SUPPORTED),
    );
    const vulnerable = makeVm({ host: { ...UPSTREAM_HOST, wa1Level: 0n, wa3Level: 0n } }).vcpus[0]!;
    expect(hvc(vulnerable, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, BigInt(ARM_SMCCC_ARCH_WORKAROUND_3)).ret).toBe(
      BigInt(SMCCC_RET_NOT_SUPPORTED),
    );
  });

  it('KVM_FEATURES returns the vendor bitmap; clearing FUNC_FEAT hides the call itself', () => {
    const t = makeVm();
    expect(hvc(t.vcpus[0]!, ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID).ret).toBe(3n);
    t.vcpus[0]!.setOneRegValue(KVM_REG_ARM_VENDOR_HYP_BMAP, 1n);
    expect(hvc(t.vcpus[0]!, ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID).ret).toBe(1n);
    t.vcpus[0]!.setOneRegValue(KVM_REG_ARM_VENDOR_HYP_BMAP, 0n);
    expect(hvc(t.vcpus[0]!, ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID).ret).toBe(
      BigInt(SMCCC_RET_NOT_SUPPORTED),
    );
  });

  it('TRNG_VERSION answers 1.0 while the STD bit is set, NOT_SUPPORTED once cleared', () => {
    const t = makeVm();
    expect(hvc(t.vcpus[0]!, ARM_SMCCC_TRNG_VERSION).ret).toBe(0x10000n);
    t.vcpus[0]!.setOneRegValue(KVM_REG_ARM_STD_BMAP, 0n);
    expect(hvc(t.vcpus[0]!, ARM_SMCCC_TRNG_VERSION).ret).toBe(BigInt(SMCCC_RET_NOT_SUPPORTED));
  });

  it('PV time discovery follows the STD_HYP bit, through its own call and ARCH_FEATURES', () => {
    const t = makeVm();
    const v = t.vcpus[0]!;
    expect(hvc(v, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, BigInt(ARM_SMCCC_HV_PV_TIME_FEATURES)).ret).toBe(0n);
    expect(hvc(v, ARM_SMCCC_HV_PV_TIME_FEATURES, BigInt(ARM_SMCCC_HV_PV_TIME_ST)).ret).toBe(0n);
    v.setOneRegValue(KVM_REG_ARM_STD_HYP_BMAP, 0n);
    expect(hvc(v, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, BigInt(ARM_SMCCC_HV_PV_TIME_FEATURES)).ret).toBe(
      BigInt(SMCCC_RET_NOT_SUPPORTED),
    );
    expect(hvc(v, ARM_SMCCC_HV_PV_TIME_FEATURES, BigInt(ARM_SMCCC_HV_PV_TIME_ST)).ret).toBe(
      BigInt(SMCCC_RET_NOT_SUPPORTED),
    );
  });

  it("CALL_UID returns KVM's UID in x0..x3 while FUNC_FEAT is enabled", () => {
    const t = makeVm();
    const v = t.vcpus[0]!;
    expect(hvc(v, ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID).ret).toBe(0xb66fb428n);
    expect([1, 2, 3].map((i) => t.cpus[0]!.getX(i))).toEqual([0xe911c52en, 0x564bcaa9n, 0x743a004dn]);
    v.setOneRegValue(KVM_REG_ARM_VENDOR_HYP_BMAP, 0b10n);
    expect(hvc(v, ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID).ret).toBe(BigInt(SMCCC_RET_NOT_SUPPORTED));
  });
});
