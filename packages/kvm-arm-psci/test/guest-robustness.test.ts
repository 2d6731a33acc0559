import { isKernelError } from '@tsvirt/core-bus';
import { describe, expect, it } from 'vitest';
import {
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_REG_ARM_PSCI_VERSION,
  KVM_REG_ARM_VENDOR_HYP_BMAP,
  KvmArmVm,
  mpidrForVcpuId,
  OLD_HOST,
  PSCI_0_2_FN_PSCI_VERSION,
  ScriptedArmCpu,
} from '../src/index.ts';
import { makeVm } from './helpers.ts';

/** A small deterministic generator (xorshift64*) for reproducible random calls. */
function rng(seed: bigint) {
  let s = seed;
  return () => {
    s ^= s >> 12n;
    s ^= (s << 25n) & ((1n << 64n) - 1n);
    s ^= s >> 27n;
    return (s * 0x2545_f491_4f6c_dd1dn) & ((1n << 64n) - 1n);
  };
}

describe('guest-facing paths never throw', () => {
  it('thousands of random calls (PSCI, SMCCC and unknown ids, random args) only set x0 and resume or exit', () => {
    const next = rng(0x1234_5678n);
    const ids = [0x8400_0000, 0xc400_0000, 0x95c1_ba5e, 0x8000_0000, 0x8600_0000, 0xc500_0020];
    for (const setup of [{}, { psci02: false }, { host: OLD_HOST }, { aarch32: true }]) {
      const t = makeVm({ nr: 4, ...setup });
      for (let i = 0; i < 1500; i++) {
        const v = t.vcpus[Number(next() % 4n)]!;
        const base = ids[Number(next() % BigInt(ids.length))]!;
        const fn = (BigInt(base + Number(next() % 0x60n)) | ((next() & 1n) << 32n)) & ((1n << 64n) - 1n);
        v.regs.setX(0, fn);
        for (let r = 1; r <= 3; r++) v.regs.setX(r, next() % 4n === 0n ? next() % 8n : next());
        const ret = next() % 2n === 0n ? v.handleHvc(0) : v.handleSmc(Number(next() % 3n) === 0 ? 1 : 0);
        expect(ret === 0 || ret === 1).toBe(true);
        // Bring stopped vCPUs back so the walk keeps exercising every path.
        if (i % 50 === 0) for (const u of t.vcpus) u.mpState = 0;
      }
    }
  });
});

describe('the first KVM_RUN freezes the hypercall bitmaps', () => {
  it('a real KVM_RUN makes a changed bitmap EBUSY, while the PSCI version stays settable', () => {
    const vm = new KvmArmVm();
    const cpu = new ScriptedArmCpu(mpidrForVcpuId(0));
    const v = vm.createVcpu(0, cpu);
    v.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: [1 << KVM_ARM_VCPU_PSCI_0_2, 0, 0, 0, 0, 0, 0] });
    v.setOneRegValue(KVM_REG_ARM_VENDOR_HYP_BMAP, 1n);
    cpu.call(PSCI_0_2_FN_PSCI_VERSION);
    try {
      v.kvmRun();
    } catch (e) {
      expect(isKernelError(e, 'EINTR')).toBe(true);
    }
    let code: string | undefined;
    try {
      v.setOneRegValue(KVM_REG_ARM_VENDOR_HYP_BMAP, 3n);
    } catch (e) {
      code = isKernelError(e) ? e.code : 'other';
    }
    expect(code).toBe('EBUSY');
    expect(vm.vendorHypBmap).toBe(1n);
    v.setOneRegValue(KVM_REG_ARM_PSCI_VERSION, 0x10000n);
    expect(vm.psciVersion).toBe(0x10000);
  });
});
