import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  KVM_ARM_PSCI_0_2,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_REG_ARM_PSCI_VERSION,
  KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1,
  KVM_REG_ARM_VENDOR_HYP_BMAP,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN64_CPU_ON,
  UPSTREAM_HOST,
} from '../src/index.ts';
import { aff, hvc, makeVm, vmState } from './helpers.ts';

describe('vCPU save/restore', () => {
  it('round-trips registers, mp_state, a pending CPU_ON and the VM-wide PSCI version', () => {
    const a = makeVm();
    a.vcpus[0]!.setOneRegValue(KVM_REG_ARM_PSCI_VERSION, BigInt(KVM_ARM_PSCI_0_2));
    a.vcpus[0]!.setOneRegValue(KVM_REG_ARM_VENDOR_HYP_BMAP, 1n);
    hvc(a.vcpus[0]!, PSCI_0_2_FN64_CPU_ON, aff(1), 0x8000n, 0x33n);
    a.cpus[0]!.setX(3, 0xabcdn);
    a.cpus[0]!.setPc(0x4444n);
    const blobs = a.vcpus.map((v) => v.save());

    const b = makeVm();
    for (const [i, blob] of blobs.entries()) b.vcpus[i]!.restore(blob);
    expect(b.vm.psciVersion).toBe(KVM_ARM_PSCI_0_2);
    expect(b.vm.vendorHypBmap).toBe(1n);
    expect([b.cpus[0]!.getX(3), b.cpus[0]!.getPc()]).toEqual([0xabcdn, 0x4444n]);
    expect(b.vcpus[1]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
    expect(b.vcpus[1]!.resetState).toEqual({ pc: 0x8000n, r0: 0x33n, be: false });
    expect(hvc(b.vcpus[0]!, PSCI_0_2_FN_PSCI_VERSION).ret).toBe(2n);
  });

  it('the blob starts with a magic and a version', () => {
    const blob = makeVm().vcpus[0]!.save();
    const dv = new DataView(blob.buffer);
    expect(dv.getUint32(0, true)).toBe(0x4b50_5343);
    expect(dv.getUint32(4, true)).toBe(1);
  });

  it('EINVAL for a bad magic, an unknown version or a truncated blob; nothing changes', () => {
    const t = makeVm();
    const good = t.vcpus[1]!.save();
    t.vcpus[1]!.setMpState({ mp_state: KVM_MP_STATE_RUNNABLE });
    const before = vmState(t);
    const badMagic = good.slice();
    badMagic[0] ^= 0xff;
    const badVersion = good.slice();
    badVersion[4] = 2;
    for (const blob of [badMagic, badVersion, good.subarray(0, good.length - 8), new Uint8Array(4)]) {
      expect(errnoOf(() => t.vcpus[1]!.restore(blob))).toBe('EINVAL');
    }
    expect(vmState(t)).toEqual(before);
  });

  it('a refused register mid-blob rolls everything back (the registers before it included)', () => {
    const host = { ...UPSTREAM_HOST, wa1Level: 2n };
    const src = makeVm({ host });
    src.vcpus[1]!.setMpState({ mp_state: KVM_MP_STATE_RUNNABLE });
    src.cpus[1]!.setX(0, 0x77n);
    src.vcpus[1]!.setOneRegValue(KVM_REG_ARM_PSCI_VERSION, BigInt(KVM_ARM_PSCI_0_2));
    const blob = src.vcpus[1]!.save();
    // The destination cannot promise WORKAROUND_1 NOT_REQUIRED (2): EINVAL.
    const dst = makeVm({ host: { ...UPSTREAM_HOST, wa1Level: 1n } });
    const before = vmState(dst);
    expect(errnoOf(() => dst.vcpus[1]!.restore(blob))).toBe('EINVAL');
    expect(vmState(dst)).toEqual(before);
    expect(dst.vcpus[1]!.mpState).toBe(KVM_MP_STATE_STOPPED);
    expect(dst.vcpus[1]!.getOneRegValue(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1)).toBe(1n);
  });

  it('a bitmap the source changed is EBUSY on a destination that has already run; nothing changes', () => {
    const src = makeVm();
    src.vcpus[0]!.setOneRegValue(KVM_REG_ARM_VENDOR_HYP_BMAP, 0n);
    const blob = src.vcpus[0]!.save();
    const dst = makeVm();
    dst.vm.ranOnce = true;
    const before = vmState(dst);
    expect(errnoOf(() => dst.vcpus[0]!.restore(blob))).toBe('EBUSY');
    expect(vmState(dst)).toEqual(before);
  });

  it('save before init is ENOEXEC', () => {
    const t = makeVm();
    const v = t.vm.createVcpu(7, t.cpus[0]!);
    expect(errnoOf(() => v.save())).toBe('ENOEXEC');
  });
});
