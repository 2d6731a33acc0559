import {
  KVM_EXIT_INTR,
  KVM_EXIT_MMIO,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MP_STATE_STOPPED,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  type KvmVcpu,
} from '@tsvirt/kvm-core';
import { MIP_VSEIP, TRAP_CHARGE } from '@tsvirt/riscv-hart';
import { addi, beq, bne, csrrs, ECALL, jal, ld, li, lui, sd, WFI } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import {
  RiscvVcpuScheduler,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_HSM,
  SBI_EXT_IPI,
  SBI_EXT_RFENCE,
  SBI_EXT_RFENCE_REMOTE_FENCE_I,
  SBI_EXT_RFENCE_REMOTE_SFENCE_VMA,
  SBI_EXT_SRST,
  SBI_EXT_TIME,
  SBI_HSM_STATE_STOPPED,
  SBI_HSM_STATE_SUSPENDED,
  setExternalInterrupt,
  vcpuInstructions,
} from '../src/index.ts';
import { hartOf, MMIO, makeVm, RAM_GPA } from './support.ts';

const T0 = 5;
const T1 = 6;
const T2 = 7;
const T3 = 28;
const T4 = 29;
const T5 = 30;
const A0 = 10;
const A1 = 11;
const A2 = 12;
const A6 = 16;
const A7 = 17;
const L = (rd: number, v: number) => li(rd, BigInt(v));
const CSR_SIE = 0x104;
const CSR_SIP = 0x144;
const CSR_TIME = 0xc01;

/** ecall(eid, fid, a0, a1, a2) then store `reg` at MMIO + off. */
function call(eid: number, fid: number, args: number[], reg: number, off: number): number[] {
  const set = args.flatMap((a, i) => L(A0 + i, a));
  return [...L(A7, eid), ...L(A6, fid), ...set, ECALL, lui(T2, MMIO >>> 12), sd(reg, T2, off)];
}

/** Drive the VM through the scheduler, recording MMIO stores by offset, until a system event. */
function drive(sched: RiscvVcpuScheduler, stores: Map<number, bigint>, max = 10_000): KvmVcpu {
  for (let i = 0; i < max; i++) {
    const v = sched.run();
    if (v === undefined) throw new Error('VM idle');
    if (v.run.exit_reason === KVM_EXIT_SYSTEM_EVENT) return v;
    expect(v.run.exit_reason).toBe(KVM_EXIT_MMIO);
    const m = v.run.mmio;
    stores.set(Number(m.phys_addr) - MMIO, new DataView(m.data.buffer).getBigUint64(0, true));
  }
  throw new Error('no system event');
}

const ENTRY1 = RAM_GPA + 0x1000;
const MAILBOX = RAM_GPA + 0x10000;

describe('several vCPUs', () => {
  it('HSM starts a stopped hart with a0/a1, reports its state, IPIs wake it, it stops itself, SRST ends the VM', () => {
    const t = makeVm();
    const pollStatus = [
      ...L(A7, SBI_EXT_HSM),
      ...L(A6, 2),
      ...L(A0, 1),
      ECALL,
      ...L(T5, SBI_HSM_STATE_STOPPED),
    ];
    t.load(RAM_GPA, [
      ...call(SBI_EXT_HSM, 2, [1], A1, 0x00), // status of hart 1: STOPPED
      ...call(SBI_EXT_HSM, 0, [1, ENTRY1, 0x1234], A0, 0x08), // start: SUCCESS
      ...call(SBI_EXT_HSM, 0, [1, ENTRY1, 0], A0, 0x10), // again: ALREADY_AVAILABLE
      ...call(SBI_EXT_HSM, 0, [7, ENTRY1, 0], A0, 0x18), // no such hart: INVALID_PARAM
      ...L(T4, MAILBOX),
      ld(T3, T4, 0),
      beq(T3, 0, -4), // wait for hart 1's mailbox
      ...call(SBI_EXT_HSM, 2, [1], A1, 0x20), // hart 1 is in wfi: SUSPENDED
      ...call(SBI_EXT_IPI, 0, [0b10, 0], A0, 0x28), // IPI hart 1
      ...call(SBI_EXT_IPI, 0, [0b10_0010, 0], A0, 0x30), // hart 5 does not exist
      ...pollStatus,
      bne(A1, T5, -4 * pollStatus.length),
      lui(T2, MMIO >>> 12),
      sd(A1, T2, 0x38),
      ...call(SBI_EXT_SRST, 0, [0, 0], A0, 0x40),
    ]);
    t.load(ENTRY1, [
      lui(T2, MMIO >>> 12),
      sd(A0, T2, 0x100),
      sd(A1, T2, 0x108),
      addi(T0, 0, 2),
      csrrs(0, CSR_SIE, T0), // SSIE: a software interrupt wakes wfi
      ...L(T4, MAILBOX),
      addi(T1, 0, 0x77),
      sd(T1, T4, 0),
      WFI,
      csrrs(T1, CSR_SIP, 0),
      sd(T1, T2, 0x110),
      ...call(SBI_EXT_HSM, 3, [0x8000_0000], A0, 0x118), // non-retentive suspend: NOT_SUPPORTED
      ...call(SBI_EXT_HSM, 3, [5], A0, 0x120), // reserved type: INVALID_PARAM
      ...L(A7, SBI_EXT_HSM),
      ...L(A6, 1),
      ECALL, // stop
      jal(0, 0),
    ]);
    const v0 = t.vcpu(0);
    const v1 = t.vcpu(1);
    v1.setMpState({ mp_state: KVM_MP_STATE_STOPPED });
    const stores = new Map<number, bigint>();
    const last = drive(new RiscvVcpuScheduler(t.vm), stores);
    expect(last).toBe(v0);
    expect(last.run.system_event.type).toBe(KVM_SYSTEM_EVENT_SHUTDOWN);
    const u = (v: bigint) => BigInt.asUintN(64, v);
    expect(stores.get(0x00)).toBe(BigInt(SBI_HSM_STATE_STOPPED));
    expect(stores.get(0x08)).toBe(0n);
    expect(stores.get(0x10)).toBe(u(SBI_ERR_ALREADY_AVAILABLE));
    expect(stores.get(0x18)).toBe(u(SBI_ERR_INVALID_PARAM));
    expect(stores.get(0x100)).toBe(1n); // a0 = hart id
    expect(stores.get(0x108)).toBe(0x1234n); // a1 = opaque
    expect(stores.get(0x20)).toBe(BigInt(SBI_HSM_STATE_SUSPENDED));
    expect(stores.get(0x28)).toBe(0n);
    expect(stores.get(0x30)).toBe(u(SBI_ERR_INVALID_PARAM));
    expect(stores.get(0x110)! & 2n).toBe(2n); // SSIP seen after waking
    expect(stores.get(0x118)).toBe(u(SBI_ERR_NOT_SUPPORTED));
    expect(stores.get(0x120)).toBe(u(SBI_ERR_INVALID_PARAM));
    expect(stores.get(0x38)).toBe(BigInt(SBI_HSM_STATE_STOPPED));
  });

  it('the schedule is deterministic: two runs retire the same instructions per hart', () => {
    const counts: number[][] = [];
    for (let r = 0; r < 2; r++) {
      const t = makeVm(4 << 20, { quantum: 777 });
      // Both harts count in a loop, storing progress to RAM, then hart 0 shuts down.
      t.load(RAM_GPA, [
        addi(T0, 0, 0),
        addi(T1, 0, 2000),
        addi(T0, T0, 1),
        bne(T0, T1, -4),
        ...call(SBI_EXT_SRST, 0, [0, 0], A0, 0),
      ]);
      t.load(ENTRY1, [addi(T0, T0, 1), jal(0, -4)]);
      const v0 = t.vcpu(0);
      const v1 = t.vcpu(1, ENTRY1);
      drive(new RiscvVcpuScheduler(t.vm), new Map());
      counts.push([hartOf(v0).instret, hartOf(v1).instret, Number(hartOf(v1).getX(T0))]);
    }
    expect(counts[0]).toEqual(counts[1]);
    expect(counts[0]![2]).toBeGreaterThan(0);
  });
});

describe('timer and interrupts', () => {
  it('SBI set_timer + wfi: the halted vCPU sleeps to the deadline and wakes with STIP', () => {
    const t = makeVm();
    t.load(RAM_GPA, [
      addi(T0, 0, 1 << 5),
      csrrs(0, CSR_SIE, T0), // STIE
      csrrs(A0, CSR_TIME, 0),
      addi(A0, A0, 1000),
      addi(T3, A0, 0),
      ...L(A7, SBI_EXT_TIME),
      ...L(A6, 0),
      ECALL,
      WFI,
      csrrs(A1, CSR_TIME, 0),
      csrrs(A2, CSR_SIP, 0),
      lui(T2, MMIO >>> 12),
      sd(T3, T2, 0),
      sd(A1, T2, 8),
      sd(A2, T2, 16),
      jal(0, 0),
    ]);
    const v = t.vcpu();
    const stores = new Map<number, bigint>();
    const sched = new RiscvVcpuScheduler(t.vm);
    for (let i = 0; i < 3; i++) {
      const e = sched.run()!;
      stores.set(
        Number(e.run.mmio.phys_addr) - MMIO,
        new DataView(e.run.mmio.data.buffer).getBigUint64(0, true),
      );
    }
    expect(stores.get(8)!).toBeGreaterThanOrEqual(stores.get(0)!);
    expect(stores.get(16)! & (1n << 5n)).toBe(1n << 5n);
    expect(v.run.exit_reason).toBe(KVM_EXIT_MMIO);
  });

  it('KVM_INTERRUPT raises VSEIP and wakes a halted vCPU; other values are EINVAL', () => {
    const t = makeVm();
    t.load(RAM_GPA, [
      ...L(T0, 1 << 9),
      csrrs(0, CSR_SIE, T0), // SEIE
      WFI,
      csrrs(A1, CSR_SIP, 0),
      lui(T2, MMIO >>> 12),
      sd(A1, T2, 0),
      jal(0, 0),
    ]);
    const v = t.vcpu();
    const sched = new RiscvVcpuScheduler(t.vm);
    expect(sched.run()).toBeUndefined(); // halted, nothing can wake it but user space
    expect(() => v.interrupt({ irq: 5 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(hartOf(v).hvip & MIP_VSEIP).toBe(0);
    setExternalInterrupt(v, true);
    expect(sched.run()).toBe(v);
    expect(v.run.mmio.data[1]! & 2).toBe(2); // SEIP (bit 9) in the guest's sip
    setExternalInterrupt(v, false);
    expect(hartOf(v).hvip & MIP_VSEIP).toBe(0);
  });

  it('KVM_SET_MP_STATE takes RUNNABLE and STOPPED only', () => {
    const t = makeVm();
    const v = t.vcpu();
    expect(() => v.setMpState({ mp_state: 3 })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const mp = { mp_state: -1 };
    v.getMpState(mp);
    expect(mp.mp_state).toBe(0);
  });
});

describe("SBI RFENCE and the harts' compiled code", () => {
  it('remote FENCE.I makes code another hart rewrote visible to the target hart, in its compiled blocks too; remote SFENCE.VMA keeps them', () => {
    const t = makeVm(4 << 20, { jitThreshold: 1 });
    // vCPU 1 spins in a counting loop: compiled the first time it is reached.
    t.load(ENTRY1, [addi(T0, T0, 1), jal(0, -4)]);
    // vCPU 0: remote SFENCE.VMA to hart 1, report; rewrite hart 1's loop to count in x28
    // instead; remote FENCE.I to hart 1, report.
    const rewritten = (BigInt(jal(0, -4)) << 32n) | BigInt(addi(28, 28, 1));
    t.load(RAM_GPA, [
      ...call(SBI_EXT_RFENCE, SBI_EXT_RFENCE_REMOTE_SFENCE_VMA, [2, 0, 0, 0], A0, 0),
      ...li(29, rewritten),
      ...li(30, BigInt(ENTRY1)),
      sd(29, 30, 0),
      ...call(SBI_EXT_RFENCE, SBI_EXT_RFENCE_REMOTE_FENCE_I, [2, 0], A0, 8),
      jal(0, 0),
    ]);
    const v0 = t.vcpu(0);
    const v1 = t.vcpu(1, ENTRY1);
    const h1 = hartOf(v1);
    v1.kvmRun();
    expect(v1.run.exit_reason).toBe(KVM_EXIT_INTR); // its quantum ran out
    expect(h1.compiledBlocks).toBeGreaterThan(0);
    expect(h1.getX(T0)).toBeGreaterThan(1000n);
    v0.kvmRun();
    expect(v0.run.exit_reason).toBe(KVM_EXIT_MMIO);
    expect(h1.compiledBlocks).toBeGreaterThan(0); // SFENCE.VMA: translations only
    v0.kvmRun();
    expect(v0.run.exit_reason).toBe(KVM_EXIT_MMIO);
    // After the FENCE.I hart 1 runs the new loop: x28 counts, T0 stands still.
    const counted = h1.getX(T0);
    v1.kvmRun();
    expect(h1.getX(T0)).toBe(counted);
    expect(h1.getX(28)).toBeGreaterThan(1000n);
    expect(h1.compiledBlocks).toBeGreaterThan(0);
  });
});

describe('scheduling: the slice and the directed yield', () => {
  const LOOP = [addi(T0, T0, 1), jal(0, -4)];
  /** One KVM_RUN of `v`: the instructions it completed. */
  const turn = (v: KvmVcpu) => {
    const before = vcpuInstructions(v);
    v.kvmRun();
    return vcpuInstructions(v) - before;
  };

  it('a slice is the quantum shared among the runnable vCPUs, never under an eighth of it', () => {
    const t = makeVm(4 << 20, { quantum: 8000, jit: false });
    t.load(RAM_GPA, LOOP);
    const v = Array.from({ length: 10 }, (_, i) => t.vcpu(i));
    for (const o of v.slice(4)) o.setMpState({ mp_state: KVM_MP_STATE_STOPPED });
    // The first slice is the quantum, less the guest-page fault that mapped the code's page (a trap is
    // charged against the slice as an instruction is: riscv-hart's TRAP_CHARGE); its end picks the next.
    expect(turn(v[0]!)).toBe(8000 - TRAP_CHARGE);
    expect(turn(v[0]!)).toBe(2000); // four runnable
    for (const o of v.slice(4)) o.setMpState({ mp_state: 0 });
    expect(turn(v[0]!)).toBe(2000);
    expect(turn(v[0]!)).toBe(1000); // ten runnable: 800, held at an eighth
    for (const o of v.slice(1)) o.setMpState({ mp_state: KVM_MP_STATE_STOPPED });
    expect(turn(v[0]!)).toBe(1000);
    expect(turn(v[0]!)).toBe(8000); // alone: the whole quantum
    expect(v[0]!.run.exit_reason).toBe(KVM_EXIT_INTR);
  });

  it('a vCPU that sends an IPI to another ends its slice at the ecall; one to itself only does not', () => {
    const t = makeVm(4 << 20, { quantum: 8000, jit: false });
    const send = (mask: number) => [...L(A7, SBI_EXT_IPI), ...L(A6, 0), ...L(A0, mask), ...L(A1, 0), ECALL];
    t.load(RAM_GPA, [...send(2), ...LOOP]);
    t.load(ENTRY1, LOOP);
    const entry2 = ENTRY1 + 0x100;
    t.load(entry2, [...send(4), ...LOOP]);
    const v0 = t.vcpu(0);
    const v1 = t.vcpu(1, ENTRY1);
    const v2 = t.vcpu(2, entry2);
    const sent = turn(v0);
    expect(v0.run.exit_reason).toBe(KVM_EXIT_INTR);
    expect(sent).toBeLessThan(20); // the few instructions up to and including the ecall
    expect(hartOf(v0).getX(T0)).toBe(0n); // the loop after it has not run
    expect(hartOf(v1).hip() & (1 << 2)).not.toBe(0); // VSSIP pending on the target
    // vCPU 2 sends to itself only (mask bit 2): it runs on to the end of its slice.
    // Its slice: the instructions retired and the ecall KVM completed, with the ecall's trap and
    // the guest-page fault on its code's page charged.
    expect(turn(v2)).toBe(8000 - 2 * TRAP_CHARGE + 1);
    expect(hartOf(v2).getX(T0)).toBeGreaterThan(1000n);
  });
});
