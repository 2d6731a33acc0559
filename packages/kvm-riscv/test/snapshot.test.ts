import { KVM_EXIT_MMIO } from '@tsvirt/kvm-core';
import { addi, jal, lui, lw, sd } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { restoreRiscvVcpu, riscvVm, saveRiscvVcpu } from '../src/index.ts';
import { hartOf, MMIO, makeVm, RAM_GPA, runToExit, x } from './support.ts';

const program = [lui(5, MMIO >>> 12), lw(11, 5, 0), addi(11, 11, 1), sd(11, 5, 8), jal(0, 0)];

describe('vCPU save/restore', () => {
  it('a vCPU saved in the middle of an MMIO load resumes in another VM and completes it', () => {
    const a = makeVm();
    a.load(RAM_GPA, program);
    const va = a.vcpu();
    expect(runToExit(va)).toBe(KVM_EXIT_MMIO);
    const blob = saveRiscvVcpu(va);
    a.files.closeAll(); // the source VM and its G-stage are gone

    const b = makeVm();
    b.load(RAM_GPA, program);
    const vb = b.vcpu();
    restoreRiscvVcpu(vb, blob);
    // The VMM moves the pending exit over in kvm_run, fills the load and runs.
    vb.run.exit_reason = va.run.exit_reason;
    vb.run.mmio.data.set([41, 0, 0, 0]);
    expect(runToExit(vb)).toBe(KVM_EXIT_MMIO);
    expect(x(vb, 11)).toBe(42n);
    expect(vb.run.mmio.phys_addr).toBe(BigInt(MMIO + 8));
    expect(hartOf(vb).hgatp).toBe(riscvVm(b.vm).mmu.hgatp);
  });

  it('EINVAL for a bad magic, version or length, with the vCPU unchanged', () => {
    const t = makeVm();
    const v = t.vcpu();
    const blob = saveRiscvVcpu(v);
    hartOf(v).setX(9, 77n);
    for (const bad of [
      blob.slice(0, 10),
      Uint8Array.from(blob, (b, i) => (i === 0 ? b ^ 1 : b)),
      Uint8Array.from(blob, (b, i) => (i === 4 ? 9 : b)),
      Uint8Array.from(blob, (b, i) => (i === 8 ? 0xff : b)),
      blob.slice(0, blob.length - 1),
    ]) {
      expect(() => restoreRiscvVcpu(v, bad)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(x(v, 9)).toBe(77n);
    }
    restoreRiscvVcpu(v, blob);
    expect(x(v, 9)).toBe(0n);
  });
});
