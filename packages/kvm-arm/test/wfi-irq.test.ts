import { KVM_EXIT_INTR, KVM_IRQ_LINE, KVM_REQ_TLB_FLUSH } from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import {
  ArmVcpuScheduler,
  armVcpu,
  KVM_ARM_DEV_EL1_VTIMER,
  KVM_ARM_IRQ_CPU_FIQ,
  KVM_ARM_IRQ_CPU_IRQ,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  kvmArmIrqCpu,
  SYS_CNTV_CTL_EL0,
  SYS_CNTV_CVAL_EL0,
  vcpuRunnable,
} from '../src/index.ts';
import { wfx } from './fake-cpu.ts';
import { cpuOf, drain, makeVm } from './support.ts';

describe('WFI and the interrupt lines', () => {
  it('WFI halts the vCPU until KVM_IRQ_LINE raises its IRQ input', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.pc = 0x4000_0000n;
    cpu.push(wfx());
    drain(v);
    expect(cpu.pc).toBe(0x4000_0004n);
    expect(vcpuRunnable(v)).toBe(false);
    cpu.push(wfx(true));
    v.kvmRun();
    expect(v.run.exit_reason).toBe(KVM_EXIT_INTR);
    expect(cpu.steps).toHaveLength(1);
    t.vm.ioctl(KVM_IRQ_LINE, { irq: kvmArmIrqCpu(0, KVM_ARM_IRQ_CPU_IRQ), level: 1 });
    expect(cpu.virq).toBe(true);
    expect(vcpuRunnable(v)).toBe(true);
    v.kvmRun();
    // The WFE ran (and only yields).
    expect(cpu.steps).toHaveLength(0);
    expect(cpu.pc).toBe(0x4000_0008n);
    t.vm.ioctl(KVM_IRQ_LINE, { irq: kvmArmIrqCpu(0, KVM_ARM_IRQ_CPU_FIQ), level: 1 });
    t.vm.ioctl(KVM_IRQ_LINE, { irq: kvmArmIrqCpu(0, KVM_ARM_IRQ_CPU_IRQ), level: 0 });
    expect([cpu.virq, cpu.vfiq]).toEqual([false, true]);
  });

  it('KVM_IRQ_LINE: SPI and PPI need an in-kernel GIC (ENXIO); a missing vCPU, line or type is EINVAL', () => {
    const t = makeVm();
    t.vcpu();
    const line = (irq: number) => () => t.vm.ioctl(KVM_IRQ_LINE, { irq, level: 1 });
    expect(line((KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | 33)).toThrow(
      expect.objectContaining({ code: 'ENXIO' }),
    );
    expect(line((KVM_ARM_IRQ_TYPE_PPI << KVM_ARM_IRQ_TYPE_SHIFT) | 27)).toThrow(
      expect.objectContaining({ code: 'ENXIO' }),
    );
    expect(line(kvmArmIrqCpu(3, 0))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(line(kvmArmIrqCpu(0, 2))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(line(7 << KVM_ARM_IRQ_TYPE_SHIFT)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('a halted VM skips to the virtual timer deadline; the timer output change exits for user space', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.physCount = 100n;
    cpu.sys.set(SYS_CNTV_CVAL_EL0, 5000n);
    cpu.sys.set(SYS_CNTV_CTL_EL0, 1n);
    // The guest halts; woken, its handler masks the timer, returns (the WFI
    // falls through with the IRQ line still up), and halts again.
    cpu.push(
      wfx(),
      (c) => {
        c.sys.set(SYS_CNTV_CTL_EL0, 3n);
        return wfx()(c);
      },
      wfx(),
    );
    const levels: number[] = [];
    // User space's GIC follows the timer output onto the vCPU's IRQ input.
    const sched = new ArmVcpuScheduler(t.vm, (x) => {
      const level = armVcpu(x).deviceIrqLevel;
      levels.push(level);
      t.vm.ioctl(KVM_IRQ_LINE, { irq: kvmArmIrqCpu(0, KVM_ARM_IRQ_CPU_IRQ), level: level === 0 ? 0 : 1 });
    });
    // Only the timer can wake it: the scheduler moves the clock to the
    // deadline, the output rises (user space is told), falls once masked,
    // and then nothing can wake the VM.
    expect(sched.run()).toBeUndefined();
    expect(levels.filter((l, i) => l !== levels[i - 1])).toEqual([0, KVM_ARM_DEV_EL1_VTIMER, 0]);
    expect(cpu.getSysReg(0xdf02)).toBe(5000n); // CNTVCT_EL0
    expect(cpu.steps).toHaveLength(0);
    expect(cpu.virq).toBe(false);
    expect(armVcpu(v).blocked).toBe(true);
  });

  it('a TLB flush request reaches the CPU before it runs', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const before = cpuOf(v).tlbFlushes;
    v.makeRequest(KVM_REQ_TLB_FLUSH);
    v.kvmRun();
    expect(cpuOf(v).tlbFlushes).toBe(before + 1);
  });
});
