import { describe, expect, it } from 'vitest';
import {
  CPACR_EL1,
  ELR_EL1,
  ESR_EL1,
  FAR_EL1,
  SCTLR_EL1,
  SPSR_EL1,
  TCR_EL1,
  TTBR0_EL1,
  VBAR_EL1,
} from '../src/index.ts';
import { CODE, DATA, ec, testVm } from './support/test-vm.ts';

const VBAR = 0x4002_0000n;

describe('synchronous exceptions taken to EL1', () => {
  it('SVC from EL1t uses the SP_EL0 vector (+0x000) and returns after the SVC', () => {
    const { cpu } = testVm([0xd4000021 /* svc #1 */]);
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.pstate = 0x3c4; // EL1t, masked
    cpu.run(1);
    expect(cpu.pc).toBe(VBAR);
    expect(cpu.getSysReg(ESR_EL1)).toBe(0x5600_0001n);
    expect(cpu.getSysReg(ELR_EL1)).toBe(BigInt(CODE) + 4n);
    expect(cpu.getSysReg(SPSR_EL1)).toBe(0x3c4n);
    expect(cpu.pstate & 0xf).toBe(5); // now EL1h
  });

  it('ERET restores PSTATE and PC from SPSR_EL1/ELR_EL1 (here into EL0 with NZCV set)', () => {
    const { cpu } = testVm([0xd69f03e0 /* eret */]);
    cpu.setSysReg(SPSR_EL1, 0xf000_0000n);
    cpu.setSysReg(ELR_EL1, BigInt(CODE) + 0x100n);
    cpu.run(1);
    expect(cpu.pc).toBe(BigInt(CODE) + 0x100n);
    expect(cpu.pstate).toBe(0xf000_0000);
    expect(cpu.el()).toBe(0);
  });

  it('FP/SIMD with CPACR_EL1.FPEN = 0 traps with EC 0x07; FPEN = 01 still traps EL0', () => {
    const { cpu } = testVm([0x9e670020 /* fmov d0, x1 */]);
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.run(1);
    expect(ec(cpu.getSysReg(ESR_EL1)!)).toBe(0x07);
    expect(cpu.getSysReg(ELR_EL1)).toBe(BigInt(CODE));
    cpu.setSysReg(CPACR_EL1, 1n << 20n);
    cpu.pc = BigInt(CODE);
    cpu.x[1] = 0x55n;
    cpu.run(1);
    expect(cpu.v[0]).toBe(0x55n);
    cpu.pc = BigInt(CODE);
    cpu.pstate = 0;
    cpu.run(1);
    expect(cpu.pc).toBe(VBAR + 0x400n);
    expect(ec(cpu.getSysReg(ESR_EL1)!)).toBe(0x07);
  });

  it('SCTLR_EL1.SA: a misaligned SP as base faults with EC 0x26, an aligned one does not', () => {
    const { cpu } = testVm([0xf94003e0 /* ldr x0, [sp] */, 0xf94003e0]);
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.setSysReg(SCTLR_EL1, cpu.getSysReg(SCTLR_EL1)! | 8n);
    cpu.spEl1 = BigInt(DATA) + 8n;
    cpu.run(1);
    expect(ec(cpu.getSysReg(ESR_EL1)!)).toBe(0x26);
    cpu.pc = BigInt(CODE);
    cpu.pstate = 0x3c5;
    cpu.spEl1 = BigInt(DATA);
    cpu.run(1);
    expect(cpu.pc).toBe(BigInt(CODE) + 4n);
  });

  it('SCTLR_EL1.A checks pairs too: a misaligned LDP is an alignment fault (DFSC 0x21)', () => {
    const { cpu } = testVm([0xa94007e0 /* ldp x0, x1, [sp] */]);
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.setSysReg(SCTLR_EL1, cpu.getSysReg(SCTLR_EL1)! | 2n);
    cpu.spEl1 = BigInt(DATA) + 4n;
    cpu.run(1);
    expect(cpu.getSysReg(ESR_EL1)).toBe(0x9600_0021n);
    expect(cpu.getSysReg(FAR_EL1)).toBe(BigInt(DATA) + 4n);
  });

  it('an EL0 the host sets between runs fetches with EL0 permissions (UXN), not the EL1 ones cached before', () => {
    const NOP = 0xd503201f;
    const { cpu, mem } = testVm([NOP, NOP, NOP]);
    // Stage 1: one 1 GiB block at 0x40000000, EL1-only data, UXN (EL1 may execute, EL0 may not).
    mem.write64(DATA + 8, 0x4000_0000n | (1n << 10n) | (1n << 54n) | 1n);
    cpu.setSysReg(TCR_EL1, 25n);
    cpu.setSysReg(TTBR0_EL1, BigInt(DATA));
    cpu.setSysReg(SCTLR_EL1, cpu.getSysReg(SCTLR_EL1)! | 1n);
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.run(1);
    expect(cpu.pc).toBe(BigInt(CODE) + 4n);
    cpu.pstate = 0; // EL0t, as KVM_SET_ONE_REG would
    cpu.run(1);
    expect(cpu.pc).toBe(VBAR + 0x400n);
    expect(cpu.getSysReg(ESR_EL1)).toBe(0x8200_000dn); // IABT from EL0, permission fault level 1
  });

  it('an access to IPA with no host memory behind it (stage 2 off) is a synchronous external abort', () => {
    const { cpu } = testVm([0xf9400041 /* ldr x1, [x2] */], { stage2: false });
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.x[2] = 0x8000_0000n;
    const exit = cpu.run(1);
    expect(exit.kind).toBe('budget');
    expect(cpu.getSysReg(ESR_EL1)).toBe(0x9600_0010n);
    expect(cpu.getSysReg(FAR_EL1)).toBe(0x8000_0000n);
  });

  it('taking an exception clears the exclusive monitor: STXR after it fails', () => {
    const { cpu, mem } = testVm([0xc85f7c41 /* ldxr x1, [x2] */, 0xd4000021 /* svc #1 */]);
    mem.write(Number(VBAR) + 0x200, Uint8Array.of(0x41, 0x7c, 0x03, 0xc8)); // stxr w3, x1, [x2]
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.x[2] = BigInt(DATA);
    cpu.run(3);
    expect(cpu.x[3]).toBe(1n);
  });
});
