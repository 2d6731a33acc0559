import { EventFd } from '@tsvirt/core-bus';
import {
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_SBI,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MP_STATE_STOPPED,
  KVM_SYSTEM_EVENT_RESET,
  KVM_SYSTEM_EVENT_SHUTDOWN,
} from '@tsvirt/kvm-core';
import { addi, ECALL, jal, lb, li, lui, lw, sb, sd, sh, sw } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import {
  KVM_SBI_IMPID,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_0_1_CONSOLE_PUTCHAR,
  SBI_EXT_BASE,
  SBI_EXT_DBCN,
  SBI_EXT_HSM,
  SBI_EXT_SRST,
} from '../src/index.ts';

const li32 = (rd: number, v: number) => li(rd, BigInt(v));

import { hartOf, MMIO, makeVm, RAM_GPA, runToExit, x } from './support.ts';

const T0 = 5;
const A0 = 10;
const A1 = 11;
const A6 = 16;
const A7 = 17;

/** ecall with a7/a6/a0/a1 set, then report a0 and a1 by MMIO stores to 0x1000_0000 / +8. */
function sbiProgram(eid: number, fid: number, a0 = 0, a1 = 0): number[] {
  return [
    ...li32(A7, eid),
    ...li32(A6, fid),
    ...li32(A0, a0),
    ...li32(A1, a1),
    ECALL,
    lui(T0, MMIO >>> 12),
    sd(A0, T0, 0),
    sd(A1, T0, 8),
    jal(0, 0),
  ];
}

/** Run an SBI call in a fresh VM; returns [a0, a1] as the guest saw them. */
function sbi(eid: number, fid: number, a0 = 0, a1 = 0): [bigint, bigint] {
  const t = makeVm();
  t.load(RAM_GPA, sbiProgram(eid, fid, a0, a1));
  const v = t.vcpu();
  expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
  return [x(v, A0), x(v, A1)];
}

describe('MMIO exits', () => {
  it('a store exits with address, length and data; a load completes into rd on the next run, sign-extended', () => {
    const t = makeVm();
    t.load(RAM_GPA, [
      lui(T0, MMIO >>> 12),
      addi(A0, 0, 0x42),
      sb(A0, T0, 0),
      lw(A1, T0, 4),
      lb(12, T0, 1),
      ...li32(A7, 0x1234),
      jal(0, 0),
    ]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio).toMatchObject({ phys_addr: 0x1000_0000n, len: 1, is_write: 1 });
    expect(v.run.mmio.data[0]).toBe(0x42);
    expect(hartOf(v).pc).toBe(BigInt(RAM_GPA + 8)); // still at the store until completion
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(hartOf(v).pc).toBe(BigInt(RAM_GPA + 12));
    expect(v.run.mmio).toMatchObject({ phys_addr: 0x1000_0004n, len: 4, is_write: 0 });
    v.run.mmio.data.set([0xf0, 0xff, 0xff, 0xff]);
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(x(v, A1)).toBe(-16n);
    expect(v.run.mmio).toMatchObject({ phys_addr: 0x1000_0001n, len: 1, is_write: 0 });
    v.run.mmio.data[0] = 0x7f;
    // The next exits are quantum ends while the guest spins in `j .`.
    v.kvmRun();
    expect(x(v, 12)).toBe(0x7fn);
    expect(x(v, A7)).toBe(0x1234n);
  });

  it('a misaligned MMIO access fails KVM_RUN with EIO, as kvm_riscv_vcpu_mmio_store()', () => {
    const t = makeVm();
    t.load(RAM_GPA, [lui(T0, MMIO >>> 12), sh(A0, T0, 1)]);
    const v = t.vcpu();
    expect(() => runToExit(v)).toThrow(expect.objectContaining({ code: 'EIO' }));
  });

  it('an instruction fetch outside RAM fails KVM_RUN with EOPNOTSUPP', () => {
    const t = makeVm();
    const v = t.vcpu(0, MMIO);
    expect(() => runToExit(v)).toThrow(expect.objectContaining({ code: 'EOPNOTSUPP' }));
  });

  it('an access past every memslot and MMIO goes to user space, RAM faults never do', () => {
    const t = makeVm();
    t.load(RAM_GPA, [
      ...li32(T0, RAM_GPA + 0x10_0000),
      sd(A0, T0, 0),
      ...li32(T0, 0x4000_0000),
      sd(A0, T0, 0),
    ]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio.phys_addr).toBe(0x4000_0000n);
  });
});

describe('in-kernel MMIO', () => {
  it('a store matching an ioeventfd signals it without an exit; the next store exits', () => {
    const t = makeVm();
    const ev = new EventFd();
    t.vm.ioeventfd({ datamatch: 0n, addr: BigInt(MMIO + 0x40), len: 4, fd: t.files.install(ev), flags: 0 });
    t.load(RAM_GPA, [lui(T0, MMIO >>> 12), sw(A0, T0, 0x40), sw(A0, T0, 0x40), sb(A0, T0, 0), jal(0, 0)]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio.phys_addr).toBe(BigInt(MMIO));
    expect(ev.value).toBe(2n);
    expect(hartOf(v).pc).toBe(BigInt(RAM_GPA + 12));
  });
});

describe('SBI', () => {
  it('BASE reports spec 2.0, implementation KVM (3), and probes', () => {
    expect(sbi(SBI_EXT_BASE, 0)).toEqual([0n, 2n << 24n]);
    expect(sbi(SBI_EXT_BASE, 1)).toEqual([0n, BigInt(KVM_SBI_IMPID)]);
    expect(sbi(SBI_EXT_BASE, 3, SBI_EXT_HSM)).toEqual([0n, 1n]);
    expect(sbi(SBI_EXT_BASE, 3, SBI_EXT_DBCN)).toEqual([0n, 0n]); // off by default, as upstream
    expect(sbi(SBI_EXT_BASE, 3, 0x12345)).toEqual([0n, 0n]);
    expect(sbi(SBI_EXT_BASE, 99)[0]).toBe(SBI_ERR_NOT_SUPPORTED);
  });

  it('an unknown extension is SBI_ERR_NOT_SUPPORTED and the guest goes on', () => {
    expect(sbi(0x7777, 0)[0]).toBe(SBI_ERR_NOT_SUPPORTED);
  });

  it('legacy console putchar is forwarded as KVM_EXIT_RISCV_SBI; ret[0] lands in a0', () => {
    const t = makeVm();
    t.load(RAM_GPA, sbiProgram(SBI_EXT_0_1_CONSOLE_PUTCHAR, 0, 0x41));
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_RISCV_SBI);
    expect(v.run.riscv_sbi.extension_id).toBe(1n);
    expect(v.run.riscv_sbi.args[0]).toBe(0x41n);
    v.run.riscv_sbi.ret[0] = 5n;
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(x(v, A0)).toBe(5n);
  });

  it('SRST shutdown exits SYSTEM_EVENT with the reason and stops every vCPU', () => {
    const t = makeVm();
    t.load(RAM_GPA, sbiProgram(SBI_EXT_SRST, 0, 0, 1));
    const v = t.vcpu();
    const other = t.vcpu(1);
    expect(runToExit(v)).toBe(KVM_EXIT_SYSTEM_EVENT);
    expect(v.run.system_event.type).toBe(KVM_SYSTEM_EVENT_SHUTDOWN);
    expect(v.run.system_event.ndata).toBe(1);
    expect(v.run.system_event.data[0]).toBe(1n);
    const mp = { mp_state: 0 };
    other.getMpState(mp);
    expect(mp.mp_state).toBe(KVM_MP_STATE_STOPPED);
  });

  it('SRST cold reboot is a RESET event; a reserved type is INVALID_PARAM', () => {
    const t = makeVm();
    t.load(RAM_GPA, sbiProgram(SBI_EXT_SRST, 0, 1, 0));
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_SYSTEM_EVENT);
    expect(v.run.system_event.type).toBe(KVM_SYSTEM_EVENT_RESET);
    expect(sbi(SBI_EXT_SRST, 0, 7)[0]).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi(SBI_EXT_SRST, 1, 0)[0]).toBe(SBI_ERR_NOT_SUPPORTED);
  });
});
