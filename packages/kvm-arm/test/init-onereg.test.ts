import {
  KVM_ARM_PREFERRED_TARGET,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_INIT,
  KVM_REG_ARM_PSCI_VERSION,
  type KvmVcpuInit,
} from '@tsvirt/kvm-arm-psci';
import {
  KVM_GET_REG_LIST,
  KVM_REG_ARM64,
  KVM_REG_SIZE_U32,
  type KvmRegList,
  type KvmVcpu,
} from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import {
  arm64SysReg,
  armVcpu,
  coreRegId,
  coreRegSpsr,
  coreRegV,
  coreRegX,
  HCR_GUEST_FLAGS,
  KVM_REG_ARM_CORE_FPCR,
  KVM_REG_ARM_CORE_PC,
  KVM_REG_ARM_CORE_PSTATE,
  KVM_REG_ARM_CORE_SP,
  KVM_REG_ARM_CORE_SP_EL1,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CVAL,
  KVM_VTCR_40BIT,
  SYS_CNTV_CVAL_EL0,
  SYS_CNTVOFF_EL2,
  SYS_FPCR,
  SYS_HCR_EL2,
  SYS_SPSR_EL1,
  SYS_VMPIDR_EL2,
  SYS_VTCR_EL2,
  VCPU_RESET_PSTATE_EL1,
} from '../src/index.ts';
import { cpuOf, makeVm } from './support.ts';

const get = (v: KvmVcpu, id: bigint) => {
  const r: { id: bigint; addr: bigint; value?: bigint | Uint8Array } = { id, addr: 0n };
  v.getOneReg(r);
  return r.value;
};

describe('KVM_ARM_VCPU_INIT', () => {
  it('KVM_ARM_PREFERRED_TARGET answers the generic v8 target with no features', () => {
    const t = makeVm();
    const init: KvmVcpuInit = { target: 0, features: [9] };
    t.vm.ioctl(KVM_ARM_PREFERRED_TARGET, init);
    expect(init.target).toBe(KVM_ARM_TARGET_GENERIC_V8);
    expect(init.features).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses KVM_RUN and ONE_REG before init (ENOEXEC), an unknown feature (ENOENT) and target (EINVAL)', () => {
    const t = makeVm();
    const v = t.vm.createVcpu(0);
    expect(() => v.kvmRun()).toThrow(expect.objectContaining({ code: 'ENOEXEC' }));
    expect(() => get(v, coreRegX(0))).toThrow(expect.objectContaining({ code: 'ENOEXEC' }));
    expect(() =>
      v.ioctl(KVM_ARM_VCPU_INIT, { target: KVM_ARM_TARGET_GENERIC_V8, features: [1 << 20] }),
    ).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => v.ioctl(KVM_ARM_VCPU_INIT, { target: 1, features: [0] })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
  });

  it('resets the CPU to EL1h with DAIF masked and programs the EL2 controls and MPIDR', () => {
    const t = makeVm();
    t.vm.createVcpu(0);
    const v1 = t.vcpu(0x11);
    const cpu = cpuOf(v1);
    expect(cpu.pstate).toBe(VCPU_RESET_PSTATE_EL1);
    expect(cpu.sys.get(SYS_VMPIDR_EL2)).toBe((1n << 31n) | (1n << 8n) | 1n);
    expect(cpu.sys.get(SYS_HCR_EL2)).toBe(HCR_GUEST_FLAGS);
    expect(cpu.sys.get(SYS_VTCR_EL2)).toBe(KVM_VTCR_40BIT);
  });
});

describe('ONE_REG', () => {
  it('reads and writes the core registers of struct kvm_regs', () => {
    const t = makeVm();
    const v = t.vcpu();
    const cpu = cpuOf(v);
    v.setOneReg({ addr: 0n, id: coreRegX(5), value: 0x1234n });
    v.setOneReg({ addr: 0n, id: KVM_REG_ARM_CORE_PC, value: 0x4008_0000n });
    v.setOneReg({ addr: 0n, id: KVM_REG_ARM_CORE_SP, value: 0x100n });
    v.setOneReg({ addr: 0n, id: KVM_REG_ARM_CORE_SP_EL1, value: 0x200n });
    v.setOneReg({ addr: 0n, id: coreRegSpsr(0), value: 0x3c5n });
    v.setOneReg({ addr: 0n, id: coreRegSpsr(3), value: 0x13n });
    expect([cpu.x[5], cpu.pc, cpu.spEl0, cpu.spEl1, cpu.sys.get(SYS_SPSR_EL1)]).toEqual([
      0x1234n,
      0x4008_0000n,
      0x100n,
      0x200n,
      0x3c5n,
    ]);
    expect(get(v, coreRegSpsr(3))).toBe(0x13n);
    // fp_regs: V registers as 16 little-endian bytes, FPSR/FPCR as u32.
    const v7 = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    v.setOneReg({ addr: 0n, id: coreRegV(7), value: v7 });
    expect([cpu.v[14], cpu.v[15]]).toEqual([0x0807_0605_0403_0201n, 0x100f_0e0d_0c0b_0a09n]);
    expect(get(v, coreRegV(7))).toEqual(v7);
    v.setOneReg({ addr: 0n, id: KVM_REG_ARM_CORE_FPCR, value: 0x0300_0000n });
    expect(cpu.sys.get(SYS_FPCR)).toBe(0x0300_0000n);
    expect(get(v, KVM_REG_ARM_CORE_FPCR)).toBe(0x0300_0000n);
    expect(get(v, KVM_REG_ARM_CORE_PSTATE)).toBe(BigInt(VCPU_RESET_PSTATE_EL1));
  });

  it('checks core register ids and PSTATE as set_core_reg() does', () => {
    const t = makeVm();
    const v = t.vcpu();
    // EL2h is not a mode a guest without nested virtualization may have.
    expect(() => v.setOneReg({ addr: 0n, id: KVM_REG_ARM_CORE_PSTATE, value: 0x9n })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(cpuOf(v).pstate).toBe(VCPU_RESET_PSTATE_EL1);
    // pc read as a u32: no field of that size there.
    expect(() => get(v, coreRegId(64, KVM_REG_SIZE_U32))).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    // The padding between spsr[] and fp_regs.
    expect(() => get(v, coreRegId(82))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    // Past struct kvm_regs.
    expect(() => get(v, coreRegId(300))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    // A V register read as a u64: no field of that size there.
    expect(() => get(v, coreRegId(84))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    // Another arch's id.
    expect(() => get(v, 0x8030_0000_0000_0000n)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('reaches system registers by ARM64_SYS_REG, and the timer through its swapped ids', () => {
    const t = makeVm();
    const v = t.vcpu();
    const cpu = cpuOf(v);
    const SCTLR = arm64SysReg(3, 0, 1, 0, 0);
    v.setOneReg({ addr: 0n, id: SCTLR, value: 0x30d0_0801n });
    expect(get(v, SCTLR)).toBe(0x30d0_0801n);
    // PMCR_EL0: not on this CPU.
    expect(() => get(v, arm64SysReg(3, 3, 9, 12, 0))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => v.setOneReg({ addr: 0n, id: arm64SysReg(3, 3, 9, 12, 0), value: 0n })).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
    v.setOneReg({ addr: 0n, id: KVM_REG_ARM_TIMER_CVAL, value: 5000n });
    expect(cpu.sys.get(SYS_CNTV_CVAL_EL0)).toBe(5000n);
    cpu.physCount = 1000n;
    v.setOneReg({ addr: 0n, id: KVM_REG_ARM_TIMER_CNT, value: 400n });
    expect(cpu.sys.get(SYS_CNTVOFF_EL2)).toBe(600n);
    expect(get(v, KVM_REG_ARM_TIMER_CNT)).toBe(400n);
  });

  it('goes to kvm-arm-psci for the firmware registers, and lists core, firmware, timer, then system registers', () => {
    const t = makeVm();
    const v = t.vcpu();
    expect(get(v, KVM_REG_ARM_PSCI_VERSION)).toBe(0x10001n);
    v.setOneReg({ addr: 0n, id: KVM_REG_ARM_PSCI_VERSION, value: 0x2n });
    expect(get(v, KVM_REG_ARM_PSCI_VERSION)).toBe(0x2n);
    expect(() => v.setOneReg({ addr: 0n, id: KVM_REG_ARM_PSCI_VERSION, value: 0x30000n })).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    const list: KvmRegList = { n: 0, reg: [] };
    expect(() => v.ioctl(KVM_GET_REG_LIST, list)).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    v.ioctl(KVM_GET_REG_LIST, list);
    const ids = list.reg;
    expect(ids.slice(0, 2)).toEqual([coreRegX(0), coreRegX(1)]);
    // 41 general and special registers, 32 V registers, FPSR and FPCR, then the firmware ones.
    expect(ids.indexOf(KVM_REG_ARM_PSCI_VERSION)).toBe(75);
    expect(ids).toContain(arm64SysReg(3, 0, 1, 0, 0));
    expect(ids.every((id) => (id & 0xff00_0000_0000_0000n) === KVM_REG_ARM64)).toBe(true);
    for (const id of ids) get(v, id);
  });
});

describe('MPIDR through ONE_REG', () => {
  it('setting MPIDR_EL1 sets VMPIDR_EL2, and PSCI matches CPU_ON targets by the new value', () => {
    const t = makeVm();
    const v = t.vcpu(0);
    const MPIDR = arm64SysReg(3, 0, 0, 0, 5);
    v.setOneReg({ addr: 0n, id: MPIDR, value: 0x8000_0102n });
    expect(cpuOf(v).sys.get(SYS_VMPIDR_EL2)).toBe(0x8000_0102n);
    expect(get(v, MPIDR)).toBe(0x8000_0102n);
    expect(armVcpu(v).psci.mpidrAff).toBe(0x102n);
  });
});
