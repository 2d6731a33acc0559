import { KVM_EXIT_MMIO } from '@tsvirt/kvm-core';
import { EXC_ILLEGAL_INST, EXC_INST_PAGE_FAULT } from '@tsvirt/riscv-hart';
import { addi, csrrw, jal, li, lui, sd } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { RiscvVcpuScheduler } from '../src/index.ts';
import { hartOf, MMIO, makeVm, RAM_GPA } from './support.ts';

// A hostile guest whose trap handler traps again (issue #13: never a hang).
// Each trap is charged against the vCPU's quantum (riscv-hart's TRAP_CHARGE),
// so KVM_RUN ends with KVM_EXIT_INTR and the other vCPUs, and user space, run.

const T0 = 5;
const T1 = 6;
const HANDLER = RAM_GPA + 0x800;
const ENTRY1 = RAM_GPA + 0x2000;
const CSR_STVEC = 0x105;
const CSR_SATP = 0x180;

/** vCPU 1: count in t1 and store it at MMIO, forever. */
const PRINTER = [addi(T1, T1, 1), lui(T0, MMIO >>> 12), sd(T1, T0, 0), jal(0, -12)];

/** Run the scheduler until vCPU 1 has made `n` MMIO stores; the storming vCPU 0 must not starve it. */
function storesFromSecond(sched: RiscvVcpuScheduler, n: number): number {
  let seen = 0;
  for (let i = 0; i < 100 && seen < n; i++) {
    const v = sched.run();
    expect(v?.run.exit_reason).toBe(KVM_EXIT_MMIO);
    expect(v!.vcpuId).toBe(1);
    seen++;
  }
  return seen;
}

describe('a guest whose trap handler traps again', () => {
  it('vstvec at an illegal instruction (each one redirected by KVM): the other vCPU still runs', () => {
    const t = makeVm(4 << 20, { quantum: 4000 });
    // stvec = HANDLER, then an illegal word; HANDLER holds an illegal word too.
    t.load(RAM_GPA, [...li(T0, BigInt(HANDLER)), csrrw(0, CSR_STVEC, T0), 0]);
    t.load(HANDLER, [0]);
    t.load(ENTRY1, PRINTER);
    const v0 = t.vcpu(0);
    t.vcpu(1, ENTRY1);
    expect(storesFromSecond(new RiscvVcpuScheduler(t.vm), 5)).toBe(5);
    expect(hartOf(v0).getCsr(0x242)).toBe(BigInt(EXC_ILLEGAL_INST)); // vscause
    expect(hartOf(v0).pc).toBe(BigInt(HANDLER));
  });

  it('vstvec on a page its own page table does not map (instruction page faults, delegated): the other vCPU still runs', () => {
    const t = makeVm(4 << 20, { quantum: 4000 });
    const root = RAM_GPA + 0x10_0000; // a zeroed Sv39 root: nothing is mapped
    const satp = (8n << 60n) | BigInt(root / 4096);
    t.load(RAM_GPA, [
      ...li(T0, BigInt(HANDLER)),
      csrrw(0, CSR_STVEC, T0),
      ...li(T0, satp),
      csrrw(0, CSR_SATP, T0), // the next fetch faults, and so does every fetch at stvec
    ]);
    t.load(ENTRY1, PRINTER);
    const v0 = t.vcpu(0);
    t.vcpu(1, ENTRY1);
    expect(storesFromSecond(new RiscvVcpuScheduler(t.vm), 5)).toBe(5);
    expect(hartOf(v0).getCsr(0x242)).toBe(BigInt(EXC_INST_PAGE_FAULT));
  });
});
