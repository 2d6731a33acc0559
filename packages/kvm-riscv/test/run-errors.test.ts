import { EventFd, KernelError } from '@tsvirt/core-bus';
import { KVM_CAP_VM_GPA_BITS, KVM_EXIT_MMIO, KVM_EXIT_SYSTEM_EVENT } from '@tsvirt/kvm-core';
import { HGATP_MODE_SV39X4 } from '@tsvirt/kvm-riscv-mmu';
import { amoaddW, csrrs, ECALL, fld, jalr, ld, li, lui, lw, sh, sw, WFI } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import {
  riscvVcpu,
  SBI_EXT_BASE,
  SBI_EXT_BASE_GET_SPEC_VERSION,
  SBI_EXT_SRST,
  setExternalInterrupt,
  vcpuInstructions,
} from '../src/index.ts';
import { hartOf, MMIO, makeVm, RAM_GPA, runToExit } from './support.ts';

const T0 = 5;
const T1 = 6;
const A0 = 10;
const A6 = 16;
const A7 = 17;
const CSR_SSTATUS = 0x100;
const CSR_SIE = 0x104;
const li64 = (rd: number, v: bigint | number) => li(rd, BigInt(v));

/** KVM_RUN's failure for the guest `code` at RAM_GPA (it must fail). */
function runFailure(code: number[], opts = {}): KernelError {
  const t = makeVm(4 << 20, opts);
  t.load(RAM_GPA, code);
  const v = t.vcpu();
  try {
    runToExit(v);
  } catch (e) {
    expect(e).toBeInstanceOf(KernelError);
    return e as KernelError;
  }
  throw new Error('KVM_RUN did not fail');
}

describe('KVM_RUN failures a guest causes (gstage_page_fault, kvm_riscv_vcpu_mmio_load/_store)', () => {
  it('a fetch outside memslots is EOPNOTSUPP with the unsigned 64-bit GPA', () => {
    // Bare VS-stage: the GPA is the whole address; its top bits make it a guest-page fault.
    const e = runFailure([...li64(T0, -4096), jalr(0, T0, 0)]);
    expect([e.code, e.detail]).toEqual(['EOPNOTSUPP', 'instruction fetch at gpa 0xfffffffffffff000']);
    expect(runFailure([...li64(T0, 0x1000), jalr(0, T0, 0)]).detail).toBe('instruction fetch at gpa 0x1000');
  });

  it('an FP load or an atomic on MMIO is EOPNOTSUPP, naming the access and the GPA', () => {
    // htinst's transformed instruction (rs1 and offset cleared) is what KVM decodes and reports.
    const fp = runFailure([lui(T1, 2), csrrs(0, CSR_SSTATUS, T1), lui(T0, MMIO >>> 12), fld(0, T0, 8)]);
    expect([fp.code, fp.detail]).toEqual(['EOPNOTSUPP', 'FP load 0x3007 on MMIO at gpa 0x10000008']);
    const amo = runFailure([lui(T0, MMIO >>> 12), amoaddW(A0, T0, T1)]);
    expect(amo.code).toBe('EOPNOTSUPP');
    expect(amo.detail).toMatch(/^atomic 0x[0-9a-f]+ on MMIO at gpa 0x10000000$/);
  });

  it('a misaligned MMIO load or store is EIO (the README says so, upstream does so)', () => {
    const st = runFailure([lui(T0, MMIO >>> 12), sh(A0, T0, 1)]);
    expect([st.code, st.detail]).toEqual(['EIO', 'misaligned 2-byte MMIO store at gpa 0x10000001']);
    const lo = runFailure([lui(T0, MMIO >>> 12), lw(A0, T0, 6)]);
    expect([lo.code, lo.detail]).toEqual(['EIO', 'misaligned 4-byte MMIO load at gpa 0x10000006']);
  });

  it('a load past the G-stage width goes to user space at its exact unsigned GPA', () => {
    const t = makeVm();
    t.load(RAM_GPA, [...li64(T0, -4096), ld(A0, T0, 0)]);
    const v = t.vcpu();
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio.phys_addr).toBe(0xffff_ffff_ffff_f000n);
  });
});

describe('instructions completed for the guest', () => {
  it('vcpuInstructions counts each MMIO access (user space or ioeventfd), SBI call and wfi once', () => {
    const t = makeVm();
    const ev = new EventFd();
    t.vm.ioeventfd({ datamatch: 0n, addr: BigInt(MMIO + 0x40), len: 4, fd: t.files.install(ev), flags: 0 });
    const body = [
      lui(T0, MMIO >>> 12),
      sw(A0, T0, 0x40), // ioeventfd: completed in the kernel
      sw(A0, T0, 0), // KVM_EXIT_MMIO
      lw(A0, T0, 4), // KVM_EXIT_MMIO
      sw(A0, T0, 8), // KVM_EXIT_MMIO
      ...li64(A7, SBI_EXT_BASE),
      ...li64(A6, SBI_EXT_BASE_GET_SPEC_VERSION),
      ECALL, // answered in the kernel
      ...li64(A7, SBI_EXT_SRST),
      ...li64(A6, 0),
      ...li64(A0, 0),
      ...li64(11, 0),
    ];
    t.load(RAM_GPA, [...body, ECALL]);
    const v = t.vcpu();
    let mmioExits = 0;
    for (;;) {
      const r = runToExit(v);
      if (r === KVM_EXIT_SYSTEM_EVENT) break;
      expect(r).toBe(KVM_EXIT_MMIO);
      mmioExits++;
    }
    expect(mmioExits).toBe(3);
    expect(ev.value).toBe(1n);
    // Every instruction before the shutdown ecall (which never completes), each once.
    expect(vcpuInstructions(v)).toBe(body.length);
    // The guest-visible instret leaves out the five that trapped, as on hardware.
    expect(hartOf(v).instret).toBe(body.length - 5);
  });

  it('wfi completed by KVM counts', () => {
    const t = makeVm();
    // Enable the supervisor external interrupt (sie.SEIE), halt in wfi, wake on the line.
    t.load(RAM_GPA, [...li64(T1, 0x200), csrrs(0, CSR_SIE, T1), WFI, lui(T0, MMIO >>> 12), sw(A0, T0, 0)]);
    const v = t.vcpu();
    v.kvmRun();
    expect(riscvVcpu(v).blocked).toBe(true);
    setExternalInterrupt(v, true);
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(vcpuInstructions(v)).toBe(li64(T1, 0x200).length + 3);
  });
});

describe('KVM_CHECK_EXTENSION(KVM_CAP_VM_GPA_BITS)', () => {
  it('is the G-stage width: 50 bits for Sv48x4, 41 for Sv39x4 (kvm_riscv_gstage_gpa_bits)', () => {
    expect(makeVm().kvm.checkExtension(KVM_CAP_VM_GPA_BITS)).toBe(50);
    expect(makeVm(4 << 20, { gstageMode: HGATP_MODE_SV39X4 }).kvm.checkExtension(KVM_CAP_VM_GPA_BITS)).toBe(
      41,
    );
  });
});
