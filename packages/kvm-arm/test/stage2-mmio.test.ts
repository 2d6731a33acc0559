import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import { KVM_EXIT_MMIO, KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY } from '@tsvirt/kvm-core';
import { describe, expect, it } from 'vitest';
import { armVm, SYS_ESR_EL1, SYS_FAR_EL1, SYS_VBAR_EL1, SYS_VTCR_EL2, SYS_VTTBR_EL2 } from '../src/index.ts';
import { dabt, iabt, sys64, walkStage2 } from './fake-cpu.ts';
import { cpuOf, drain, makeVm, RAM_GPA, runToExit } from './support.ts';

const UART = 0x0900_0000n;

describe('stage 2', () => {
  it('maps a RAM page on a stage-2 fault in the format the CPU walks, and the guest resumes at the same PC', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.pc = 0x4000_0000n;
    const ipa = BigInt(RAM_GPA + 0x5000);
    const vttbr = cpu.sys.get(SYS_VTTBR_EL2)!;
    const vtcr = cpu.sys.get(SYS_VTCR_EL2)!;
    expect(walkStage2(cpu.mem, vttbr, vtcr, ipa)).toBeUndefined();
    cpu.push(dabt(ipa, { write: true }));
    drain(v);
    const w = walkStage2(cpu.mem, vttbr, vtcr, ipa + 0x10n);
    expect(w).toMatchObject({ s2ap: 3, af: true });
    // The page is the one behind the memslot's hva: what the CPU writes, the VMM reads.
    const hostPage = cpu.mem.frame(Number(w!.pa >> 12n))!;
    hostPage[0x10] = 0xab;
    const out = new Uint8Array(1);
    t.vm.readGuest(RAM_GPA + 0x5010, out);
    expect(out[0]).toBe(0xab);
    expect(cpu.pc).toBe(0x4000_0000n);
    expect(armVm(t.vm).mmu.stats.mapped).toBe(1);
  });

  it('a read fault in a read-only slot maps the page read-only; a write there is MMIO', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const flash = t.mm.mmap({
      length: 1 << 16,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS,
    });
    t.vm.setUserMemoryRegion({
      slot: 1,
      flags: KVM_MEM_READONLY,
      guest_phys_addr: 0n,
      memory_size: 1n << 16n,
      userspace_addr: BigInt(flash),
    });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.push(iabt(0x1000n));
    drain(v);
    expect(
      walkStage2(cpu.mem, cpu.sys.get(SYS_VTTBR_EL2)!, cpu.sys.get(SYS_VTCR_EL2)!, 0x1000n),
    ).toMatchObject({
      s2ap: 1,
    });
    cpu.push(dabt(0x1008n, { write: true, rt: 2 }));
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio).toMatchObject({ phys_addr: 0x1008n, len: 4, is_write: 1 });
  });

  it('dirty logging: a logged slot maps reads read-only, and the write fault logs the page', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    t.vm.setUserMemoryRegion({
      slot: 0,
      flags: KVM_MEM_LOG_DIRTY_PAGES,
      guest_phys_addr: BigInt(RAM_GPA),
      memory_size: 1n << 20n,
      userspace_addr: BigInt(t.ram),
    });
    const ipa = BigInt(RAM_GPA + 0x3000);
    cpu.push(dabt(ipa));
    drain(v);
    const walk = () => walkStage2(cpu.mem, cpu.sys.get(SYS_VTTBR_EL2)!, cpu.sys.get(SYS_VTCR_EL2)!, ipa);
    expect(walk()?.s2ap).toBe(1);
    const bitmap = () => {
      const log = { slot: 0, dirty_bitmap: new Uint8Array(32) };
      t.vm.getDirtyLog(log);
      return log.dirty_bitmap[0]!;
    };
    expect(bitmap()).toBe(0);
    cpu.push(dabt(ipa, { write: true, fsc: 0x0f }));
    drain(v);
    expect(walk()?.s2ap).toBe(3);
    expect(bitmap()).toBe(1 << 3);
    // GET_DIRTY_LOG write-protected it again: the next write faults and logs again.
    expect(walk()?.s2ap).toBe(1);
    expect(cpu.tlbFlushes).toBeGreaterThan(0);
  });

  it('a fault status other than translation, access flag or permission fails KVM_RUN with EFAULT', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    cpuOf(v).push(dabt(BigInt(RAM_GPA), { fsc: 0x10 }));
    expect(() => v.kvmRun()).toThrow(expect.objectContaining({ code: 'EFAULT' }));
  });
});

describe('MMIO from the abort syndrome', () => {
  it('a load exits with the address, size and direction, and completes sign-extended into Rt', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.pc = 0x4000_1000n;
    cpu.push(dabt(UART + 0x18n, { sas: 1, rt: 7, sse: true, sf: true }));
    expect(runToExit(v)).toBe(KVM_EXIT_MMIO);
    expect(v.run.mmio).toMatchObject({ phys_addr: UART + 0x18n, len: 2, is_write: 0 });
    v.run.mmio.data.set([0x34, 0x82]);
    cpu.push((c) => {
      expect(c.x[7]).toBe(0xffff_ffff_ffff_8234n);
      expect(c.pc).toBe(0x4000_1004n);
      return { kind: 'budget', esr: 0, far: 0n, hpfar: 0n, pc: c.pc, retired: 1 };
    });
    v.kvmRun();
    expect(cpu.steps).toHaveLength(0);
  });

  it('a 32-bit load (SF clear) is truncated; XZR discards it', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.x[3] = 0xdead_0000_0000_0000n;
    cpu.push(dabt(UART, { sas: 2, rt: 3, sse: true, sf: false }));
    runToExit(v);
    v.run.mmio.data.set([0xff, 0xff, 0xff, 0xff]);
    cpu.push(dabt(UART, { sas: 2, rt: 31 }));
    runToExit(v);
    expect(cpu.x[3]).toBe(0xffff_ffffn);
  });

  it('a store carries the low bytes of Rt', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.x[1] = 0x1122_3344_5566_7748n;
    cpu.push(dabt(UART, { sas: 0, rt: 1, write: true }));
    runToExit(v);
    expect(v.run.mmio).toMatchObject({ phys_addr: UART, len: 1, is_write: 1 });
    expect(v.run.mmio.data[0]).toBe(0x48);
  });

  it('without a valid syndrome KVM_RUN fails with ENOSYS, as io_mem_abort() without NISV_TO_USER', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    cpuOf(v).push(dabt(UART, { isv: false }));
    expect(() => v.kvmRun()).toThrow(expect.objectContaining({ code: 'ENOSYS' }));
  });

  it('a fetch outside RAM injects a prefetch abort; a cache maintenance op on MMIO is skipped', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.sys.set(SYS_VBAR_EL1, 0x4010_0000n);
    cpu.pc = 0x0800_0000n;
    cpu.push(iabt(0x0800_0000n));
    drain(v);
    expect(cpu.pc).toBe(0x4010_0200n);
    expect(Number(cpu.sys.get(SYS_ESR_EL1)! >> 26n)).toBe(0x21);
    expect(cpu.sys.get(SYS_FAR_EL1)).toBe(0x0800_0000n);
    cpu.pc = 0x4000_0000n;
    cpu.push(dabt(UART, { cm: true, isv: false, write: true }));
    drain(v);
    expect(cpu.pc).toBe(0x4000_0004n);
  });

  it('DC CISW (set/way) is skipped; another trapped system instruction is UNDEFINED for the guest', () => {
    const t = makeVm(1 << 20, { quantum: 10 });
    const v = t.vcpu();
    const cpu = cpuOf(v);
    cpu.sys.set(SYS_VBAR_EL1, 0x4010_0000n);
    cpu.pc = 0x4000_0000n;
    // Op0 1, Op2 2, Op1 0, CRn 7, CRm 14, Rt 0, write.
    cpu.push(sys64((1 << 20) | (2 << 17) | (7 << 10) | (14 << 1)));
    drain(v);
    expect(cpu.pc).toBe(0x4000_0004n);
    cpu.push(sys64((3 << 20) | (1 << 14) | (15 << 10) | 1));
    drain(v);
    expect(cpu.pc).toBe(0x4010_0200n);
    expect(cpu.sys.get(SYS_ESR_EL1)).toBe(1n << 25n);
  });
});
