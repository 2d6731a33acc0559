import { describe, expect, it } from 'vitest';
import {
  ELR_EL1,
  ESR_EC_HVC64,
  ESR_EC_SMC64,
  ESR_EC_SYS64,
  ESR_EC_WFX,
  ESR_EL1,
  HCR_EL2,
  HCR_TID3,
  HCR_TSC,
  HCR_TSW,
  HCR_TVM,
  HCR_TWE,
  HCR_TWI,
  HCR_VM,
  ID_AA64ISAR0_EL1,
  ID_AA64MMFR0_EL1,
  ID_AA64PFR0_EL1,
  MIDR_EL1,
  MPIDR_EL1,
  SCTLR_EL1,
  sysReg,
  VBAR_EL1,
  VMPIDR_EL2,
  VPIDR_EL2,
} from '../src/index.ts';
import { CODE, ec, iss, testVm } from './support/test-vm.ts';

const VBAR = 0x4002_0000n;

describe('what leaves EL1 for the hypervisor', () => {
  it('HVC exits with its immediate and PC after it (the preferred return)', () => {
    const { cpu } = testVm([0xd4024682 /* hvc #0x1234 */]);
    const exit = cpu.run(10);
    expect(exit.kind).toBe('trap');
    expect(ec(exit.esr)).toBe(ESR_EC_HVC64);
    expect(iss(exit.esr)).toBe(0x1234);
    expect(exit.pc).toBe(BigInt(CODE) + 4n);
    expect(cpu.pc).toBe(BigInt(CODE) + 4n);
    expect(exit.retired).toBe(1);
  });

  it('SMC traps with HCR_EL2.TSC at the SMC itself; without TSC (no EL3) it is UNDEFINED at EL1', () => {
    const trapped = testVm([0xd4000843 /* smc #0x42 */], { hcr: HCR_VM | HCR_TSC });
    const exit = trapped.cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_SMC64);
    expect(iss(exit.esr)).toBe(0x42);
    expect(exit.pc).toBe(BigInt(CODE));

    const undef = testVm([0xd4000843], { hcr: HCR_VM });
    undef.cpu.setSysReg(VBAR_EL1, VBAR);
    const r = undef.cpu.run(1);
    expect(r.kind).toBe('budget');
    expect(undef.cpu.pc).toBe(VBAR + 0x200n);
    expect(ec(undef.cpu.getSysReg(ESR_EL1)!)).toBe(0);
    expect(undef.cpu.getSysReg(ELR_EL1)).toBe(BigInt(CODE));
  });

  it('HVC at EL0 is UNDEFINED (taken to EL1 from the lower EL vector)', () => {
    const { cpu } = testVm([0xd4024682]);
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.pstate = 0; // EL0t
    expect(cpu.run(1).kind).toBe('budget');
    expect(cpu.pc).toBe(VBAR + 0x400n);
    expect(cpu.pstate & 0xf).toBe(5);
  });

  it('WFI/WFE trap with TWI/TWE (ISS TI, CV/COND), and complete as NOPs without', () => {
    const { cpu } = testVm([0xd503207f /* wfi */, 0xd503205f /* wfe */], { hcr: HCR_VM | HCR_TWI | HCR_TWE });
    let exit = cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_WFX);
    expect(iss(exit.esr)).toBe(0x1e0_0000);
    expect(exit.pc).toBe(BigInt(CODE));
    cpu.pc += 4n;
    exit = cpu.run(10);
    expect(iss(exit.esr)).toBe(0x1e0_0001);

    const free = testVm([0xd503207f, 0xd503205f, 0xd503201f]);
    expect(free.cpu.run(3).kind).toBe('budget');
    expect(free.cpu.pc).toBe(BigInt(CODE) + 12n);
  });

  it('TID3 traps ID register reads with the MRS syndrome (Op0..Op2, CRn, CRm, Rt, read)', () => {
    const { cpu } = testVm([0xd5380400 /* mrs x0, id_aa64pfr0_el1 */], { hcr: HCR_VM | HCR_TID3 });
    const exit = cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_SYS64);
    // Op0=3 Op2=0 Op1=0 CRn=0 Rt=0 CRm=4 Direction=read
    expect(iss(exit.esr)).toBe((3 << 20) | (4 << 1) | 1);
    expect(exit.pc).toBe(BigInt(CODE));
  });

  it('TVM traps SCTLR_EL1 writes; the register keeps its value', () => {
    const { cpu } = testVm([0xd5181001 /* msr sctlr_el1, x1 */], { hcr: HCR_VM | HCR_TVM });
    const before = cpu.getSysReg(SCTLR_EL1);
    cpu.x[1] = 0x1234n;
    const exit = cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_SYS64);
    // Op0=3 Op2=0 Op1=0 CRn=1 Rt=1 CRm=0 write
    expect(iss(exit.esr)).toBe((3 << 20) | (1 << 10) | (1 << 5));
    expect(cpu.getSysReg(SCTLR_EL1)).toBe(before);
  });

  it('TSW traps DC ISW (KVM emulates set/way maintenance)', () => {
    const { cpu } = testVm([0xd5087642 /* dc isw, x2 */], { hcr: HCR_VM | HCR_TSW });
    const exit = cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_SYS64);
    expect((iss(exit.esr) >>> 20) & 3).toBe(1);
    const free = testVm([0xd5087642]);
    expect(free.cpu.run(1).kind).toBe('budget');
  });

  it('EL2 registers are UNDEFINED to the guest and read/written by the host', () => {
    const { cpu } = testVm([0xd53c1100 /* mrs x0, hcr_el2 */]);
    cpu.setSysReg(VBAR_EL1, VBAR);
    expect(cpu.run(1).kind).toBe('budget');
    expect(cpu.pc).toBe(VBAR + 0x200n);
    expect(cpu.getSysReg(HCR_EL2)).toBe(HCR_VM);
  });
});

describe('system registers through the contract', () => {
  it('reports a Cortex-A57-like identity, VPIDR/VMPIDR as the guest sees MIDR/MPIDR', () => {
    const { cpu } = testVm([]);
    expect(cpu.getSysReg(MIDR_EL1)).toBe(0x411f_d070n);
    expect(cpu.getSysReg(MPIDR_EL1)).toBe(0x8000_0000n);
    expect(cpu.setSysReg(VPIDR_EL2, 0x410f_d034n)).toBe(true);
    expect(cpu.setSysReg(VMPIDR_EL2, 0x8000_0103n)).toBe(true);
    expect(cpu.getSysReg(MIDR_EL1)).toBe(0x410f_d034n);
    expect(cpu.getSysReg(MPIDR_EL1)).toBe(0x8000_0103n);
    expect(cpu.getSysReg(ID_AA64PFR0_EL1)).toBe(0x11n);
    expect(cpu.getSysReg(ID_AA64ISAR0_EL1)! & (0xfn << 20n)).toBe(2n << 20n); // LSE atomics
    expect(cpu.getSysReg(ID_AA64MMFR0_EL1)! & 0xfn).toBe(2n); // 40-bit PA
    // The host may set an ID register (KVM_SET_ONE_REG of a writable ID field).
    expect(cpu.setSysReg(ID_AA64PFR0_EL1, 0x1111n)).toBe(true);
    expect(cpu.getSysReg(ID_AA64PFR0_EL1)).toBe(0x1111n);
  });

  it('an encoding the CPU does not implement is undefined / false, and stays so', () => {
    const { cpu } = testVm([]);
    const impdef = sysReg(3, 0, 15, 15, 7);
    expect(cpu.getSysReg(impdef)).toBeUndefined();
    expect(cpu.setSysReg(impdef, 1n)).toBe(false);
    expect(cpu.getSysReg(impdef)).toBeUndefined();
    // Read-only registers refuse writes.
    expect(cpu.setSysReg(MIDR_EL1, 0n)).toBe(false);
    expect(cpu.getSysReg(MIDR_EL1)).toBe(0x411f_d070n);
  });
});

describe('system registers the hypervisor emulates', () => {
  it('trapSysRegs: an unimplemented ICC_* register exits with EC 0x18 instead of UNDEFINED, until untrapped', () => {
    // mrs x3, icc_iar1_el1 (S3_0_C12_C12_0)
    const { cpu } = testVm([0xd538cc03, 0xd538cc03]);
    cpu.setSysReg(VBAR_EL1, VBAR);
    const ICC_IAR1_EL1 = sysReg(3, 0, 12, 12, 0);
    expect(cpu.getSysReg(ICC_IAR1_EL1)).toBeUndefined();
    cpu.trapSysRegs([ICC_IAR1_EL1]);
    const exit = cpu.run(10);
    expect(ec(exit.esr)).toBe(ESR_EC_SYS64);
    // Op0=3 Op2=0 Op1=0 CRn=12 Rt=3 CRm=12 read
    expect(iss(exit.esr)).toBe((3 << 20) | (12 << 10) | (3 << 5) | (12 << 1) | 1);
    expect(exit.pc).toBe(BigInt(CODE));
    cpu.x[3] = 27n;
    cpu.pc += 4n;
    cpu.trapSysRegs([ICC_IAR1_EL1], false);
    cpu.run(1);
    expect(cpu.pc).toBe(VBAR + 0x200n); // UNDEFINED again
    expect(cpu.x[3]).toBe(27n);
  });
});

describe('reset and the register list', () => {
  it('reset() returns EL1 state to its reset values and keeps the EL2 controls and ID registers', () => {
    const { cpu } = testVm([0xd4000021 /* svc #1 */]);
    cpu.setSysReg(VBAR_EL1, VBAR);
    cpu.setSysReg(ID_AA64PFR0_EL1, 0x0100_0011n); // GIC sysregs advertised by the hypervisor
    cpu.setSysReg(VMPIDR_EL2, 0x8000_0001n);
    cpu.x[5] = 9n;
    cpu.setSysReg(SCTLR_EL1, 0x30d0_0804n);
    cpu.run(1);
    expect(cpu.pc).toBe(VBAR + 0x200n);
    cpu.reset();
    expect(cpu.pc).toBe(0n);
    expect(cpu.x[5]).toBe(0n);
    expect(cpu.pstate).toBe(0x3c5);
    expect(cpu.getSysReg(SCTLR_EL1)).toBe(0x30d0_0800n);
    expect(cpu.getSysReg(VBAR_EL1)).toBe(0n);
    expect(cpu.getSysReg(ESR_EL1)).toBe(0n);
    expect(cpu.getSysReg(ELR_EL1)).toBe(0n);
    expect(cpu.getSysReg(ID_AA64PFR0_EL1)).toBe(0x0100_0011n);
    expect(cpu.getSysReg(MPIDR_EL1)).toBe(0x8000_0001n);
    expect(cpu.getSysReg(HCR_EL2)).toBe(HCR_VM);
  });

  it('sysRegList() lists guest-visible registers, each readable, and no EL2 control', () => {
    const { cpu } = testVm([]);
    const list = cpu.sysRegList();
    expect(list).toContain(SCTLR_EL1);
    expect(list).toContain(MIDR_EL1);
    expect(list).not.toContain(HCR_EL2);
    expect(list).not.toContain(VMPIDR_EL2);
    for (const enc of list) expect(cpu.getSysReg(enc)).toBeTypeOf('bigint');
  });
});
