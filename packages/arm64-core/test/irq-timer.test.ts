import { describe, expect, it } from 'vitest';
import {
  CNTP_CTL_EL0,
  CNTP_CVAL_EL0,
  CNTV_CTL_EL0,
  CNTV_CVAL_EL0,
  CNTVOFF_EL2,
  ELR_EL1,
  HCR_EL2,
  HCR_FMO,
  HCR_IMO,
  HCR_VI,
  HCR_VM,
  ISR_EL1,
  SPSR_EL1,
  VBAR_EL1,
} from '../src/index.ts';
import { CODE, ec, testVm } from './support/test-vm.ts';

const VBAR = 0x4002_0000n;
const NOP = 0xd503201f;

describe('virtual interrupts from the hypervisor', () => {
  it('a virtual IRQ is taken at EL1 (VBAR_EL1 + 0x280 from EL1h) once PSTATE.I is clear', () => {
    const { cpu } = testVm([NOP, 0xd50342ff /* msr daifclr, #2 */, NOP, NOP], { hcr: HCR_VM | HCR_IMO });
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.setVirtualIrq(true);
    expect(cpu.getSysReg(ISR_EL1)).toBe(0x80n);
    cpu.run(3); // masked: the NOP and the DAIFClr retire, then the IRQ is taken
    expect(cpu.pc).toBe(VBAR + 0x280n);
    expect(cpu.getSysReg(ELR_EL1)).toBe(BigInt(CODE) + 8n);
    // SPSR holds the interrupted PSTATE: EL1h with I clear (D, A, F still set).
    expect(cpu.getSysReg(SPSR_EL1)).toBe(0x345n);
    expect(cpu.pstate & 0x3c0).toBe(0x3c0);
  });

  it('a PSTATE the host writes between runs is honoured (KVM_SET_ONE_REG of PSTATE)', () => {
    const { cpu } = testVm([NOP, NOP, NOP], { hcr: HCR_VM | HCR_IMO });
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.setVirtualIrq(true);
    cpu.run(1); // masked
    expect(cpu.pc).toBe(BigInt(CODE) + 4n);
    cpu.pstate = 0x345; // EL1h, I clear
    cpu.run(1);
    expect(cpu.pc).toBe(VBAR + 0x280n);
  });

  it('needs HCR_EL2.IMO, and is taken from EL0 at +0x480', () => {
    const { cpu } = testVm([NOP, NOP, NOP], { hcr: HCR_VM });
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.pstate = 0; // EL0t, unmasked
    cpu.setVirtualIrq(true);
    cpu.run(1);
    expect(cpu.pc).toBe(BigInt(CODE) + 4n); // not routed: nothing taken
    cpu.setSysReg(HCR_EL2, HCR_VM | HCR_IMO);
    cpu.run(1);
    expect(cpu.pc).toBe(VBAR + 0x480n);
    expect(cpu.getSysReg(ELR_EL1)).toBe(BigInt(CODE) + 4n);
  });

  it('HCR_EL2.VI raises it too; lowering the line stops it; FIQ goes to +0x100 from EL1t', () => {
    const { cpu } = testVm([NOP, NOP, NOP], { hcr: HCR_VM | HCR_IMO | HCR_VI });
    expect(cpu.getSysReg(ISR_EL1)).toBe(0x80n);
    cpu.setSysReg(HCR_EL2, HCR_VM | HCR_IMO);
    expect(cpu.getSysReg(ISR_EL1)).toBe(0n);
    const f = testVm([NOP, NOP], { hcr: HCR_VM | HCR_FMO });
    f.cpu.setSysReg(VBAR_EL1, VBAR);
    f.cpu.pstate = 0x4; // EL1t, unmasked
    f.cpu.setVirtualFiq(true);
    f.cpu.run(1);
    expect(f.cpu.pc).toBe(VBAR + 0x100n);
  });
});

describe('the generic timer', () => {
  it('CNTVCT is the host counter minus CNTVOFF_EL2; CNTPCT is the host counter', () => {
    let now = 1_000_000n;
    const { cpu } = testVm([0xd53be045 /* mrs x5, cntvct_el0 */, 0xd53be026 /* mrs x6, cntpct_el0 */], {
      cpu: { counter: () => now },
    });
    cpu.setSysReg(CNTVOFF_EL2, 400_000n);
    cpu.run(2);
    expect(cpu.x[5]).toBe(600_000n);
    expect(cpu.x[6]).toBe(1_000_000n);
    now = 2_000_000n;
    expect(cpu.virtualCounter()).toBe(1_600_000n);
  });

  it('the virtual timer fires at CVAL: ISTATUS, the output level, IMASK, and TVAL', () => {
    let now = 100n;
    const { cpu } = testVm(
      [
        0xd51be303, // msr cntv_tval_el0, x3
        0xd51be321, // msr cntv_ctl_el0, x1
        0xd53be322, // mrs x2, cntv_ctl_el0
        0xd53be304, // mrs x4, cntv_tval_el0
        0xd53be322, // mrs x2, cntv_ctl_el0
      ],
      { cpu: { counter: () => now } },
    );
    cpu.x[3] = 50n;
    cpu.x[1] = 1n; // ENABLE
    cpu.run(3);
    expect(cpu.getSysReg(CNTV_CVAL_EL0)).toBe(150n);
    expect(cpu.x[2]).toBe(1n); // not yet
    expect(cpu.vtimerLevel()).toBe(false);
    now = 160n;
    cpu.run(2);
    expect(cpu.x[4]).toBe(0xffff_fff6n); // TVAL = CVAL - now, 32-bit signed
    expect(cpu.x[2]).toBe(5n); // ENABLE | ISTATUS
    expect(cpu.vtimerLevel()).toBe(true);
    cpu.setSysReg(CNTV_CTL_EL0, 3n); // IMASK
    expect(cpu.vtimerLevel()).toBe(false);
    expect(cpu.getSysReg(CNTV_CTL_EL0)).toBe(7n);
    // The physical timer has its own output.
    expect(cpu.ptimerLevel()).toBe(false);
    cpu.setSysReg(CNTP_CVAL_EL0, 10n);
    cpu.setSysReg(CNTP_CTL_EL0, 1n);
    expect(cpu.ptimerLevel()).toBe(true);
  });

  it('EL0 counter access traps to EL1 unless CNTKCTL_EL1 allows it', () => {
    const { cpu } = testVm([0xd53be045 /* mrs x5, cntvct_el0 */, 0xd53be045], {
      cpu: { counter: () => 77n },
    });
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.pstate = 0;
    cpu.run(1);
    expect(cpu.pc).toBe(VBAR + 0x400n);
    expect(ec(cpu.esr)).toBe(0x18);
    cpu.cntkctl = 2n; // EL0VCTEN
    cpu.pc = BigInt(CODE);
    cpu.pstate = 0;
    cpu.run(1);
    expect(cpu.x[5]).toBe(77n);
  });
});
