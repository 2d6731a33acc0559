import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as psci from '../src/index.ts';

/** `export const NAME = value;` lines of a TypeScript file, evaluated (numbers and bigints only). */
function constants(file: string): Map<string, number | bigint> {
  const out = new Map<string, number | bigint>();
  const re = /^export const (\w+) = (0x[\da-f_]+n?|\d+n?);$/gim;
  for (const m of readFileSync(file, 'utf8').matchAll(re)) {
    const text = m[2]!.replaceAll('_', '');
    out.set(m[1]!, text.endsWith('n') ? BigInt(text.slice(0, -1)) : Number(text));
  }
  return out;
}

describe('UAPI values', () => {
  it("the generic KVM constants agree with kvm-core's uapi.ts", () => {
    const core = constants(join(import.meta.dirname, '../../kvm-core/src/uapi.ts'));
    const mine = constants(join(import.meta.dirname, '../src/kvm-uapi.ts'));
    expect(mine.size).toBeGreaterThan(5);
    for (const [name, value] of mine) expect(core.get(name), name).toBe(value);
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
