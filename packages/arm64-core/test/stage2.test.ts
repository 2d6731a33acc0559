import { describe, expect, it } from 'vitest';
import {
  ESR_EC_DABT_LOW,
  ESR_EC_IABT_LOW,
  HCR_EL2,
  HCR_VM,
  SCTLR_EL1,
  TCR_EL1,
  TTBR0_EL1,
} from '../src/index.ts';
import { CODE, DATA, ec, iss, testVm } from './support/test-vm.ts';

const MMIO = 0x0900_0000n;

describe('stage-2 aborts exit to the hypervisor with the syndrome KVM emulates MMIO from', () => {
  it('a 32-bit store: ISV, SAS=word, SRT, WnR; FAR and HPFAR; PC at the store', () => {
    const { cpu } = testVm([0xb9000041 /* str w1, [x2] */]);
    cpu.x[1] = 0x1122_3344_5566_7788n;
    cpu.x[2] = MMIO + 0x18n;
    const exit = cpu.run(10);
    expect(exit.kind).toBe('trap');
    expect(ec(exit.esr)).toBe(ESR_EC_DABT_LOW);
    expect((exit.esr >>> 25) & 1).toBe(1); // IL
    const s = iss(exit.esr);
    expect(s >>> 24).toBe(1); // ISV
    expect((s >>> 22) & 3).toBe(2); // SAS: word
    expect((s >>> 21) & 1).toBe(0); // SSE
    expect((s >>> 16) & 31).toBe(1); // SRT
    expect((s >>> 15) & 1).toBe(0); // SF: W register
    expect((s >>> 6) & 1).toBe(1); // WnR
    expect(s & 0x3f).toBe(0x05); // translation fault, level 1 (nothing mapped in that GiB)
    expect(exit.far).toBe(MMIO + 0x18n);
    expect(exit.hpfar).toBe((MMIO >> 12n) << 4n);
    expect(exit.pc).toBe(BigInt(CODE));
    expect(cpu.pc).toBe(BigInt(CODE));
    expect(exit.retired).toBe(0);
  });

  it('a sign-extending halfword load into X: SSE and SF, WnR clear', () => {
    const { cpu } = testVm([0x79800443 /* ldrsh x3, [x2, #2] */]);
    cpu.x[2] = MMIO;
    const s = iss(cpu.run(10).esr);
    expect(s >>> 24).toBe(1);
    expect((s >>> 22) & 3).toBe(1);
    expect((s >>> 21) & 1).toBe(1);
    expect((s >>> 16) & 31).toBe(3);
    expect((s >>> 15) & 1).toBe(1);
    expect((s >>> 6) & 1).toBe(0);
  });

  it('a load with writeback gives no valid syndrome (ISV clear), as on hardware', () => {
    const { cpu } = testVm([0xf8408444 /* ldr x4, [x2], #8 */]);
    cpu.x[2] = MMIO;
    const exit = cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_DABT_LOW);
    expect(iss(exit.esr) >>> 24).toBe(0);
    expect(cpu.x[2]).toBe(MMIO); // the base is not written back
  });

  it('the guest resumes after the hypervisor emulates the access and skips it', () => {
    const { cpu } = testVm([0xf9400041 /* ldr x1, [x2] */, 0x91000400 /* add x0, x0, #1 */]);
    cpu.x[2] = MMIO;
    const exit = cpu.run(10);
    const rt = (iss(exit.esr) >>> 16) & 31;
    cpu.x[rt] = 0xabcdn;
    cpu.pc += 4n;
    const next = cpu.run(1);
    expect(next.kind).toBe('budget');
    expect(cpu.x[1]).toBe(0xabcdn);
    expect(cpu.x[0]).toBe(1n);
  });

  it('a write to a stage-2 read-only page is a permission fault at level 3', () => {
    const { cpu, s2, mem } = testVm([0xb9000041 /* str w1, [x2] */, 0xf9400041 /* ldr x1, [x2] */]);
    const ipa = 0x4080_0000;
    s2.mapPage(ipa, DATA, false);
    cpu.flushTlb();
    mem.write64(DATA, 0x55n);
    cpu.x[2] = BigInt(ipa);
    const exit = cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_DABT_LOW);
    expect(iss(exit.esr) & 0x3f).toBe(0x0f);
    expect((iss(exit.esr) >>> 6) & 1).toBe(1);
    // Reading is allowed.
    cpu.pc += 4n;
    expect(cpu.run(1).kind).toBe('budget');
    expect(cpu.x[1]).toBe(0x55n);
  });

  it('an instruction fetch from an unmapped IPA exits with IABT_LOW', () => {
    const { cpu } = testVm([]);
    cpu.pc = 0x8000_0000n;
    const exit = cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_IABT_LOW);
    expect(iss(exit.esr) & 0x3c).toBe(0x04);
    expect(exit.far).toBe(0x8000_0000n);
    expect(exit.hpfar).toBe(0x8_0000n << 4n);
  });

  it('a stage-1 table walk that misses stage 2 sets S1PTW and reports the table IPA', () => {
    const { cpu } = testVm([0xf9400041 /* ldr x1, [x2] */]);
    // Identity-map nothing at stage 1 except through a table placed at an unmapped IPA.
    cpu.setSysReg(TCR_EL1, 25n | (25n << 16n) | (2n << 30n));
    cpu.setSysReg(TTBR0_EL1, 0x7000_0000n);
    cpu.setSysReg(SCTLR_EL1, cpu.getSysReg(SCTLR_EL1)! | 1n);
    cpu.x[2] = BigInt(DATA);
    const exit = cpu.run(10);
    // The fetch of the first instruction already walks through the missing table.
    expect(ec(exit.esr)).toBe(ESR_EC_IABT_LOW);
    expect((iss(exit.esr) >>> 7) & 1).toBe(1);
    expect(exit.hpfar >> 4n).toBe(0x7_0000n);
  });

  it('flushTlb() makes a stage-2 change visible; without stage 2 the IPA is the host address', () => {
    const { cpu, s2, mem } = testVm([0xf9400041 /* ldr x1, [x2] */, 0xf9400041]);
    const ipa = 0x4080_0000;
    mem.write64(DATA, 1n);
    mem.write64(DATA + 0x1000, 2n);
    s2.mapPage(ipa, DATA);
    cpu.x[2] = BigInt(ipa);
    cpu.run(1);
    expect(cpu.x[1]).toBe(1n);
    s2.mapPage(ipa, DATA + 0x1000);
    cpu.flushTlb();
    cpu.run(1);
    expect(cpu.x[1]).toBe(2n);
    // Stage 2 off: IPA = host PA.
    cpu.setSysReg(HCR_EL2, 0n);
    expect(cpu.getSysReg(HCR_EL2)! & HCR_VM).toBe(0n);
    cpu.x[2] = BigInt(DATA);
    cpu.pc = BigInt(CODE);
    cpu.run(1);
    expect(cpu.x[1]).toBe(1n);
  });
});
