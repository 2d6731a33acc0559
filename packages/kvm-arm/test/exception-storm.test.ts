import { KVM_EXIT_INTR } from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import { exit } from './fake-cpu.ts';
import { cpuOf, makeVm } from './support.ts';

describe('a guest whose exception vector faults again', () => {
  it("a 'budget' exit that retired nothing (every step an exception taken) ends the slice", () => {
    const t = makeVm(1 << 20, { quantum: 50_000 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    // What arm64-core returns when VBAR_EL1 points at an undefined instruction: the whole
    // budget spent on exceptions, nothing retired.
    const storm = () => ({ ...exit('budget', 0, 0n, 0n, cpu.pc), retired: 0 });
    cpu.push(storm, storm, storm);
    v.kvmRun();
    expect(v.run.exit_reason).toBe(KVM_EXIT_INTR);
    expect(cpu.steps.length).toBe(2); // one run() per KVM_RUN, not one per remaining step
  });
});
