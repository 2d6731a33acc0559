import {
  KVM_REG_ARM_PSCI_VERSION,
  PSCI_0_2_FN_AFFINITY_INFO,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_0_2_FN_SYSTEM_RESET,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_1_0_FN_PSCI_FEATURES,
  PSCI_RET_ALREADY_ON,
  PSCI_RET_INVALID_PARAMS,
  PSCI_RET_NOT_SUPPORTED,
} from '@tsvirt/kvm-arm-psci';
import {
  KVM_EXIT_INTR,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
} from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import { SCTLR_ELX_EE, SYS_SCTLR_EL1, VCPU_RESET_PSTATE_EL1 } from '../src/index.ts';
import { hvc, smc } from './fake-cpu.ts';
import { cpuOf, drain, makeVm, RAM_GPA, runToExit } from './support.ts';

const U64 = (n: number) => BigInt.asUintN(64, BigInt(n));

describe('PSCI through HVC and SMC', () => {
  it('answers PSCI_VERSION as the firmware register says, set before the first run', () => {
    for (const [reg, seen] of [
      [0x2n, 0x2n],
      [0x10000n, 0x10000n],
    ] as const) {
      const t = makeVm(1 << 20, { quantum: 10 });
      const v = t.vcpu();
      v.setOneReg({ addr: 0n, id: KVM_REG_ARM_PSCI_VERSION, value: reg });
      const cpu = cpuOf(v);
      cpu.pc = BigInt(RAM_GPA);
      cpu.push(hvc(PSCI_0_2_FN_PSCI_VERSION), hvc(PSCI_1_0_FN_PSCI_FEATURES, [BigInt(PSCI_0_2_FN64_CPU_ON)]));
      drain(v);
      expect(cpu.pc).toBe(BigInt(RAM_GPA) + 8n);
      // After two calls x0 holds the PSCI_FEATURES answer: 0 on 1.0, NOT_SUPPORTED (a 0.2 guest has no such call).
      expect(cpu.x[0]).toBe(reg === 0x2n ? U64(PSCI_RET_NOT_SUPPORTED) : 0n);
      cpu.push(hvc(PSCI_0_2_FN_PSCI_VERSION));
      drain(v);
      expect(cpu.x[0]).toBe(seen);
    }
  });

  it('an SMC call is stepped over; a non-zero SMC immediate answers -1', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.pc = 0x4000_0000n;
    cpu.push(smc(PSCI_0_2_FN_PSCI_VERSION), smc(PSCI_0_2_FN_PSCI_VERSION, [], 1));
    drain(v);
    expect(cpu.pc).toBe(0x4000_0008n);
    expect(cpu.x[0]).toBe((1n << 64n) - 1n);
  });

  it('CPU_ON starts a powered-off vCPU at the entry point with the context id in x0, by MPIDR', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v0 = t.vcpu(0);
    const v1 = t.vcpu(1, true);
    const c0 = cpuOf(v0);
    const c1 = cpuOf(v1);
    c1.x[5] = 99n;
    c1.pstate = 0;
    expect(v1.ioctl(0x8004ae98, { mp_state: -1 })).toBe(0); // KVM_GET_MP_STATE
    expect(t.vm.archOps.getMpState!(v1)).toBe(KVM_MP_STATE_STOPPED);
    // The stopped vCPU does not run.
    v1.kvmRun();
    expect(v1.run.exit_reason).toBe(KVM_EXIT_INTR);
    c0.push(
      hvc(PSCI_0_2_FN_AFFINITY_INFO, [1n, 0n]),
      (cpu) => {
        expect(cpu.x[0]).toBe(1n); // OFF
        return hvc(PSCI_0_2_FN64_CPU_ON, [0x7n, 0x4008_0000n, 0xc0ffeen])(cpu);
      },
      (cpu) => {
        expect(cpu.x[0]).toBe(U64(PSCI_RET_INVALID_PARAMS)); // no vCPU with Aff0 7
        return hvc(PSCI_0_2_FN64_CPU_ON, [0x1n, 0x4008_0000n, 0xc0ffeen])(cpu);
      },
      (cpu) => {
        expect(cpu.x[0]).toBe(0n);
        return hvc(PSCI_0_2_FN64_CPU_ON, [0x1n, 0x4008_0000n, 0n])(cpu);
      },
    );
    drain(v0);
    expect(c0.x[0]).toBe(U64(PSCI_RET_ALREADY_ON));
    expect(t.vm.archOps.getMpState!(v1)).toBe(KVM_MP_STATE_RUNNABLE);
    c1.push((cpu) => {
      expect([cpu.pc, cpu.x[0], cpu.x[5], cpu.pstate]).toEqual([
        0x4008_0000n,
        0xc0ffeen,
        0n,
        VCPU_RESET_PSTATE_EL1,
      ]);
      return hvc(PSCI_0_2_FN_CPU_OFF)(cpu);
    });
    v1.kvmRun();
    expect(c1.steps).toHaveLength(0);
    expect(t.vm.archOps.getMpState!(v1)).toBe(KVM_MP_STATE_STOPPED);
  });

  it("CPU_ON hands the caller's endianness to the target", () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v0 = t.vcpu(0);
    const v1 = t.vcpu(1, true);
    const c0 = cpuOf(v0);
    c0.sys.set(SYS_SCTLR_EL1, c0.sys.get(SYS_SCTLR_EL1)! | SCTLR_ELX_EE);
    c0.push(hvc(PSCI_0_2_FN64_CPU_ON, [1n, 0x4000_0000n, 0n]));
    drain(v0);
    cpuOf(v1).push((cpu) => {
      expect(cpu.sys.get(SYS_SCTLR_EL1)! & SCTLR_ELX_EE).toBe(SCTLR_ELX_EE);
      return hvc(PSCI_0_2_FN_CPU_OFF)(cpu);
    });
    v1.kvmRun();
    expect(cpuOf(v1).steps).toHaveLength(0);
  });

  it('SYSTEM_OFF and SYSTEM_RESET exit as KVM_EXIT_SYSTEM_EVENT and stop every vCPU', () => {
    for (const [fn, type] of [
      [PSCI_0_2_FN_SYSTEM_OFF, KVM_SYSTEM_EVENT_SHUTDOWN],
      [PSCI_0_2_FN_SYSTEM_RESET, KVM_SYSTEM_EVENT_RESET],
    ] as const) {
      const t = makeVm(1 << 20, { quantum: 10 });
      const v0 = t.vcpu(0);
      const v1 = t.vcpu(1);
      cpuOf(v0).push(hvc(fn));
      expect(runToExit(v0)).toBe(KVM_EXIT_SYSTEM_EVENT);
      expect(v0.run.system_event.type).toBe(type);
      expect(t.vm.archOps.getMpState!(v1)).toBe(KVM_MP_STATE_STOPPED);
    }
  });
});
