import { KVM_EXIT_INTR, KVM_MP_STATE_STOPPED, type KvmVcpu } from '@tsvirt/kvm-core';
import { TRAP_CHARGE } from '@tsvirt/riscv-hart';
import { addi, jal } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { vcpuInstructions } from '../src/index.ts';
import { hartOf, makeVm, RAM_GPA } from './support.ts';

const T1 = 6;

describe('pause-loop exiting (Zihintpause pause in a spin loop)', () => {
  const SPIN = [addi(T1, T1, 1), 0x0100000f, jal(0, -8)];
  const turn = (v: KvmVcpu) => {
    const before = vcpuInstructions(v);
    v.kvmRun();
    expect(v.run.exit_reason).toBe(KVM_EXIT_INTR);
    return vcpuInstructions(v) - before;
  };

  it('with another vCPU runnable, a pause ends the slice: the spinner yields', () => {
    const t = makeVm(4 << 20, { quantum: 8000, jit: false });
    t.load(RAM_GPA, SPIN);
    const v0 = t.vcpu(0);
    t.vcpu(1, RAM_GPA);
    expect(turn(v0)).toBe(2); // addi, pause
    expect(turn(v0)).toBe(3); // jal, addi, pause
    expect(hartOf(v0).getX(T1)).toBe(2n);
  });

  it('alone (one vCPU, or the others stopped) pause is a hint only: the slice runs out', () => {
    const t = makeVm(4 << 20, { quantum: 8000, jit: false });
    t.load(RAM_GPA, SPIN);
    const v0 = t.vcpu(0);
    expect(turn(v0)).toBe(8000 - TRAP_CHARGE); // the first touch of the code page was a guest-page fault
    const v1 = t.vcpu(1, RAM_GPA);
    v1.setMpState({ mp_state: KVM_MP_STATE_STOPPED });
    expect(turn(v0)).toBe(8000);
  });
});
