import { isKernelError } from '@tsvirt/core-bus';
import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import { bareHart, RAM, runCode } from './setup.ts';

const HANDLER = RAM + 0x800;
/** KVM's hedeleg: insn misaligned, breakpoint, ecall from VU, instruction/load/store page faults. */
const KVM_HEDELEG = (1n << 0n) | (1n << 3n) | (1n << 8n) | (1n << 12n) | (1n << 13n) | (1n << 15n);

describe('Zicsr in VS-mode', () => {
  it('csrrw/csrrs/csrrc and immediate forms reach vsscratch, not the HS sscratch', () => {
    const { hart, exit } = runCode([
      ...A.li(1, 0xf0n),
      A.csrrw(2, 0x140, 1), // x2 = 0, sscratch(vs) = 0xf0
      A.csrrsi(3, 0x140, 0x0f), // x3 = 0xf0, -> 0xff
      A.csrrci(4, 0x140, 0x3), // x4 = 0xff, -> 0xfc
      A.csrrc(5, 0x140, 0), // read only: rs1 = x0 writes nothing
      A.csrrwi(6, 0x140, 1), // x6 = 0xfc, -> 1
    ]);
    expect(exit.kind).toBe('ecall');
    expect([hart.getX(2), hart.getX(3), hart.getX(4), hart.getX(5), hart.getX(6)]).toEqual([
      0n,
      0xf0n,
      0xffn,
      0xfcn,
      0xfcn,
    ]);
    expect(hart.getCsr(C.CSR_VSSCRATCH)).toBe(1n);
    expect(hart.getCsr(C.CSR_SSCRATCH)).toBe(0n);
  });
  it('sstatus in VS is vsstatus: UXL reads 2, SUM is writable, SD follows FS=Dirty', () => {
    const { hart } = runCode([...A.li(1, 1n << 18n), A.csrrs(0, 0x100, 1), A.csrrs(2, 0x100, 0)]);
    expect(hart.getX(2)).toBe((2n << 32n) | (1n << 18n) | BigInt(C.SR_FS_INITIAL));
    expect(hart.getCsr(C.CSR_VSSTATUS) & (1n << 18n)).toBe(1n << 18n);
    expect(hart.getCsr(C.CSR_SSTATUS) & (1n << 18n)).toBe(0n);
  });
  const virt: [string, number][] = [
    ['hstatus', A.csrrs(1, 0x600, 0)],
    ['vsstatus by its own number', A.csrrs(1, 0x200, 0)],
    ['hgatp', A.csrrw(0, 0x680, 1)],
  ];
  for (const [name, insn] of virt) {
    it(`VS access to ${name} is a virtual-instruction exit with the bits in tval`, () => {
      const { hart, exit } = runCode([insn], { 1: 5n });
      expect(exit.kind).toBe('virtual-instruction');
      expect(exit.cause).toBe(22);
      expect(exit.tval).toBe(BigInt(insn));
      expect(hart.getX(1)).toBe(5n);
      expect(hart.getCsr(C.CSR_HGATP)).toBe(0n);
    });
  }
  const illegal: [string, number][] = [
    ['an M-level CSR (mstatus)', A.csrrs(1, 0x300, 0)],
    ['a CSR that does not exist (0x5c0)', A.csrrs(1, 0x5c0, 0)],
    ['a write to read-only time', A.csrrw(0, 0xc01, 1)],
    ['a write to read-only hgeip (before any virtual-instruction check)', A.csrrw(0, 0xe12, 1)],
  ];
  for (const [name, insn] of illegal) {
    it(`VS access to ${name} is illegal-instruction`, () => {
      const { exit } = runCode([insn], { 1: 1n });
      expect(exit.kind).toBe('illegal-instruction');
      expect(exit.tval).toBe(BigInt(insn));
    });
  }
  it('VU access to a supervisor CSR is a virtual instruction', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.csrrs(1, 0x140, 0)]);
    hart.setMode(C.PRV_U, 1);
    const e = hart.run(10);
    expect(e.kind).toBe('virtual-instruction');
    expect(e.priv).toBe(0);
  });
  it('time needs hcounteren.TM; it reads host time + htimedelta', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.csrrs(1, 0xc01, 0), A.ECALL]);
    hart.hostTime = 1000n;
    hart.setCsr(C.CSR_HTIMEDELTA, -100n);
    expect(hart.run(10).kind).toBe('virtual-instruction');
    hart.setCsr(C.CSR_HCOUNTEREN, 2n);
    expect(hart.run(10).kind).toBe('ecall');
    expect(hart.getX(1)).toBe(900n);
  });
  it('instret counts retired instructions (hcounteren.IR)', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.addi(0, 0, 0), A.addi(0, 0, 0), A.csrrs(1, 0xc02, 0), A.ECALL]);
    hart.setCsr(C.CSR_HCOUNTEREN, 4n);
    hart.run(10);
    expect(hart.getX(1)).toBe(2n);
    expect(hart.instret).toBe(3);
  });
  it('satp in VS with hstatus.VTVM is a virtual instruction; without it, vsatp is written', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.csrrw(0, 0x180, 1), A.ECALL]);
    hart.setX(1, (8n << 60n) | 0x80123n);
    hart.setCsr(C.CSR_HSTATUS, BigInt(C.HSTATUS_VTVM));
    expect(hart.run(10).kind).toBe('virtual-instruction');
    expect(hart.getCsr(C.CSR_VSATP)).toBe(0n);
    hart.setCsr(C.CSR_HSTATUS, 0n);
    hart.run(10);
    expect(hart.getCsr(C.CSR_VSATP)).toBe((8n << 60n) | 0x80123n);
    expect(hart.getCsr(C.CSR_SATP)).toBe(0n);
  });
  it('a satp write with an unsupported MODE has no effect', () => {
    const { hart } = runCode([A.csrrw(0, 0x180, 1)], { 1: (5n << 60n) | 0x1234n });
    expect(hart.getCsr(C.CSR_VSATP)).toBe(0n);
  });
  it('sie/sip in VS are vsie/vsip: hideleg-masked views of hie/hip shifted by one', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.csrrs(1, 0x104, 2), A.csrrs(3, 0x144, 0), A.csrrs(0, 0x144, 4), A.ECALL]);
    hart.setX(2, 0x222n);
    hart.setX(4, 2n); // set SSIP -> hvip.VSSIP
    hart.setCsr(C.CSR_HIDELEG, BigInt(C.MIP_VSTIP | C.MIP_VSSIP));
    hart.setCsr(C.CSR_HVIP, BigInt(C.MIP_VSEIP | C.MIP_VSTIP));
    hart.run(10);
    expect(hart.getCsr(C.CSR_HIE)).toBe(BigInt(C.MIP_VSTIP | C.MIP_VSSIP)); // VSEIE not delegated
    expect(hart.getX(3)).toBe(0x20n); // STIP only: VSEIP is not delegated
    expect(hart.getCsr(C.CSR_HVIP)).toBe(BigInt(C.MIP_VSEIP | C.MIP_VSTIP | C.MIP_VSSIP));
  });
});

describe('traps: delegation to VS and exits to HS', () => {
  it('ecall from VU is delegated by hedeleg: vscause 8, vsepc, SPP=0, then sret back to VU', () => {
    const { hart, mem } = bareHart();
    const user = RAM + 0x400;
    mem.code(RAM, [
      ...A.li(1, BigInt(HANDLER)),
      A.csrrw(0, 0x105, 1), // stvec
      ...A.li(1, BigInt(user)),
      A.csrrw(0, 0x141, 1), // sepc
      A.SRET, // SPP = 0: to VU
    ]);
    mem.code(user, [A.addi(5, 0, 1), A.ECALL, A.addi(6, 0, 1), A.ECALL]);
    mem.code(HANDLER, [
      A.csrrs(7, 0x142, 0), // scause
      A.csrrs(8, 0x141, 0), // sepc
      A.csrrs(9, 0x100, 0), // sstatus
      A.addi(8, 8, 4),
      A.csrrw(0, 0x141, 8),
      A.ECALL, // to KVM
    ]);
    hart.setCsr(C.CSR_HEDELEG, KVM_HEDELEG);
    const e = hart.run(1000);
    expect(e.kind).toBe('ecall');
    expect(e.cause).toBe(10); // from VS
    expect(hart.getX(7)).toBe(8n);
    expect(hart.getX(8)).toBe(BigInt(user + 8));
    expect(hart.getX(9) & BigInt(C.SR_SPP)).toBe(0n);
    expect(hart.priv).toBe(C.PRV_S);
    // KVM skips the ecall; the handler's sret returns to VU after the first ecall.
    hart.pc += 4n;
    mem.code(HANDLER + 24, [A.SRET]);
    const e2 = hart.run(1000);
    // VU resumes after its first ecall, sets x6, and its second ecall goes to the handler again.
    expect(e2.kind).toBe('ecall');
    expect(e2.cause).toBe(10);
    expect(hart.getX(6)).toBe(1n);
    expect(hart.getX(8)).toBe(BigInt(user + 16));
  });
  it('ecall from VU without delegation exits with cause 8 and priv 0', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.ECALL]);
    hart.setMode(C.PRV_U, 1);
    const e = hart.run(10);
    expect(e.kind).toBe('ecall');
    expect(e.cause).toBe(8);
    expect(e.priv).toBe(0);
    expect(e.v).toBe(1);
    expect(hart.getCsr(C.CSR_HSTATUS) & BigInt(C.HSTATUS_SPV | C.HSTATUS_SPVP)).toBe(BigInt(C.HSTATUS_SPV));
  });
  it('illegal instruction delegated by hedeleg goes to the guest with stval = the bits', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [...A.li(1, BigInt(HANDLER)), A.csrrw(0, 0x105, 1), 0xffffffff]);
    mem.code(HANDLER, [A.csrrs(7, 0x142, 0), A.csrrs(8, 0x143, 0), A.ECALL]);
    hart.setCsr(C.CSR_HEDELEG, 1n << 2n);
    expect(hart.run(100).kind).toBe('ecall');
    expect(hart.getX(7)).toBe(2n);
    expect(hart.getX(8)).toBe(0xffffffffn);
  });
  it('hedeleg cannot delegate ecall-from-VS, virtual instruction or guest-page faults', () => {
    const { hart } = bareHart();
    hart.setCsr(C.CSR_HEDELEG, -1n);
    expect(hart.getCsr(C.CSR_HEDELEG)).toBe(0xb1ffn);
    hart.setCsr(C.CSR_HIDELEG, -1n);
    expect(hart.getCsr(C.CSR_HIDELEG)).toBe(0x444n);
  });
  it('redirectTrap delivers an exit into the VS handler as kvm_riscv_vcpu_trap_redirect()', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [...A.li(1, BigInt(HANDLER)), A.csrrw(0, 0x105, 1), A.csrrsi(0, 0x100, 2), 0xffffffff]);
    mem.code(HANDLER, [A.csrrs(7, 0x142, 0), A.ECALL]);
    const e = hart.run(100);
    expect(e.kind).toBe('illegal-instruction');
    hart.redirectTrap(e.cause, e.tval);
    expect(hart.pc).toBe(BigInt(HANDLER));
    expect(hart.getCsr(C.CSR_VSEPC)).toBe(e.pc);
    expect(hart.getCsr(C.CSR_VSCAUSE)).toBe(2n);
    expect(hart.getCsr(C.CSR_VSTVAL)).toBe(0xffffffffn);
    const s = hart.getCsr(C.CSR_VSSTATUS);
    expect(s & BigInt(C.SR_SPP)).toBe(BigInt(C.SR_SPP));
    expect(s & BigInt(C.SR_SPIE)).toBe(BigInt(C.SR_SPIE)); // SIE was 1
    expect(s & BigInt(C.SR_SIE)).toBe(0n);
    expect(hart.run(100).kind).toBe('ecall');
    expect(hart.getX(7)).toBe(2n);
  });
  it('ebreak exits with cause 3 and tval = pc', () => {
    const { exit } = runCode([A.addi(0, 0, 0), A.EBREAK]);
    expect(exit.cause).toBe(3);
    expect(exit.tval).toBe(BigInt(RAM + 4));
    expect(exit.pc).toBe(BigInt(RAM + 4));
  });
  it('sret in VS with VTSR and in VU is a virtual instruction; mret is illegal', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.SRET]);
    hart.setCsr(C.CSR_HSTATUS, BigInt(C.HSTATUS_VTSR));
    expect(hart.run(10).kind).toBe('virtual-instruction');
    hart.setCsr(C.CSR_HSTATUS, 0n);
    hart.setMode(C.PRV_U, 1);
    expect(hart.run(10).kind).toBe('virtual-instruction');
  });
  it('sfence.vma: virtual instruction in VU and with VTVM; hfence.* always virtual from V=1', () => {
    const a = bareHart();
    a.mem.code(RAM, [A.sfenceVma(0, 0), A.hfenceGvma(0, 0)]);
    a.hart.setCsr(C.CSR_HSTATUS, BigInt(C.HSTATUS_VTVM));
    expect(a.hart.run(10).kind).toBe('virtual-instruction');
    a.hart.setCsr(C.CSR_HSTATUS, 0n);
    const e = a.hart.run(10);
    expect(e.kind).toBe('virtual-instruction');
    expect(e.pc).toBe(BigInt(RAM + 4));
    const b = bareHart();
    b.mem.code(RAM, [A.hfenceVvma(0, 0)]);
    expect(b.hart.run(10).kind).toBe('virtual-instruction');
  });
  it('wfi with hstatus.VTW exits as kind wfi at the wfi; without VTW it idles past it', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.WFI, A.ECALL]);
    hart.setCsr(C.CSR_HSTATUS, BigInt(C.HSTATUS_VTW));
    const e = hart.run(10);
    expect(e.kind).toBe('wfi');
    expect(e.cause).toBe(22);
    expect(e.pc).toBe(BigInt(RAM));
    hart.setCsr(C.CSR_HSTATUS, 0n);
    const e2 = hart.run(10);
    expect(e2.kind).toBe('idle');
    expect(e2.pc).toBe(BigInt(RAM + 4));
    expect(hart.run(10).kind).toBe('ecall');
  });
});

describe('interrupts through hvip', () => {
  function guest() {
    const { hart, mem } = bareHart();
    // Vectored stvec: interrupts land at base + 4 * cause.
    mem.code(RAM, [
      ...A.li(1, BigInt(HANDLER + 1)),
      A.csrrw(0, 0x105, 1),
      A.addi(2, 0, 0x20),
      A.csrrs(0, 0x104, 2), // sie.STIE
      A.addi(10, 10, 1), // spin
      A.jal(0, -4),
    ]);
    mem.code(HANDLER + 4 * 5, [A.csrrs(7, 0x142, 0), A.csrrs(8, 0x141, 0), A.ECALL]);
    hart.setCsr(C.CSR_HIDELEG, BigInt(C.VS_INTERRUPTS));
    return { hart, mem };
  }
  it('VSTIP is taken when vsstatus.SIE is set, as the guest S timer interrupt (cause 5)', () => {
    const { hart } = guest();
    expect(hart.run(200).kind).toBe('budget');
    hart.setInterrupt(C.IRQ_VS_TIMER, true);
    expect(hart.run(200).kind).toBe('budget'); // SIE = 0: masked
    hart.setCsr(C.CSR_VSSTATUS, BigInt(C.SR_SIE));
    const e = hart.run(200);
    expect(e.kind).toBe('ecall');
    expect(hart.getX(7)).toBe(BigInt.asIntN(64, (1n << 63n) | 5n));
    expect(hart.getX(8) >= BigInt(RAM + 20)).toBe(true);
    expect(hart.getCsr(C.CSR_VSSTATUS) & BigInt(C.SR_SPIE)).toBe(BigInt(C.SR_SPIE));
  });
  it('external beats software beats timer; VU takes them even with vsstatus.SIE clear', () => {
    const { hart, mem } = guest();
    mem.code(HANDLER + 4 * 9, [A.csrrs(7, 0x142, 0), A.ECALL]);
    mem.code(HANDLER + 4 * 1, [A.csrrs(7, 0x142, 0), A.ECALL]);
    hart.run(100); // set up stvec/sie in VS
    hart.setCsr(C.CSR_HIE, BigInt(C.VS_INTERRUPTS));
    hart.setMode(C.PRV_U, 1);
    hart.setInterrupt(C.IRQ_VS_TIMER, true);
    hart.setInterrupt(C.IRQ_VS_SOFT, true);
    hart.setInterrupt(C.IRQ_VS_EXT, true);
    expect(hart.run(100).kind).toBe('ecall');
    expect(hart.getX(7)).toBe(BigInt.asIntN(64, (1n << 63n) | 9n));
    expect(hart.getCsr(C.CSR_VSSTATUS) & BigInt(C.SR_SPP)).toBe(0n); // came from VU
    hart.setInterrupt(C.IRQ_VS_EXT, false);
    hart.setMode(C.PRV_U, 1);
    expect(hart.run(100).kind).toBe('ecall');
    expect(hart.getX(7)).toBe(BigInt.asIntN(64, (1n << 63n) | 1n));
  });
  it('an enabled VS interrupt that hideleg does not delegate exits as an interrupt', () => {
    const { hart } = guest();
    hart.setCsr(C.CSR_HIDELEG, 0n);
    hart.setCsr(C.CSR_HIE, BigInt(C.MIP_VSEIP));
    hart.setInterrupt(C.IRQ_VS_EXT, true);
    const e = hart.run(100);
    expect(e.kind).toBe('interrupt');
    expect(e.interrupt).toBe(true);
    expect(e.cause).toBe(10);
    expect(e.retired).toBe(0);
  });
  it('Sstc: vstimecmp raises VSTIP once time + htimedelta reaches it (henvcfg.STCE)', () => {
    const { hart } = guest();
    hart.setCsr(C.CSR_HENVCFG, C.ENVCFG_STCE);
    hart.setCsr(C.CSR_VSSTATUS, BigInt(C.SR_SIE));
    hart.setCsr(C.CSR_VSTIMECMP, 5000n);
    hart.setCsr(C.CSR_HTIMEDELTA, 1000n);
    hart.hostTime = 3999n;
    expect(hart.run(300).kind).toBe('budget');
    expect(hart.getCsr(C.CSR_VSIP)).toBe(0n);
    hart.hostTime = 4000n;
    expect(hart.getCsr(C.CSR_VSIP)).toBe(0x20n);
    expect(hart.run(300).kind).toBe('ecall');
    expect(hart.getX(7)).toBe(BigInt.asIntN(64, (1n << 63n) | 5n));
  });
});

describe('host-facing register API', () => {
  it('unknown CSR numbers are ENOENT, read-only ones EINVAL, and nothing changes', () => {
    const { hart } = bareHart();
    const before = hart.save();
    const err = (f: () => unknown, code: 'ENOENT' | 'EINVAL') => {
      try {
        f();
      } catch (e) {
        expect(isKernelError(e, code)).toBe(true);
        return;
      }
      throw new Error('no error');
    };
    err(() => hart.getCsr(0x5c0), 'ENOENT');
    err(() => hart.setCsr(0x7ff, 1n), 'ENOENT');
    err(() => hart.setCsr(C.CSR_TIME, 1n), 'EINVAL');
    err(() => hart.setMode(3, 0), 'EINVAL');
    err(() => hart.setInterrupt(9, true), 'EINVAL');
    err(() => hart.setX(32, 1n), 'EINVAL');
    err(() => hart.getX(-1), 'EINVAL');
    err(() => hart.setF(32, 1n), 'EINVAL');
    err(() => hart.run(-1), 'EINVAL');
    err(() => hart.run(1.5), 'EINVAL');
    err(() => hart.redirectTrap(64, 0n), 'EINVAL');
    expect(hart.save()).toEqual(before);
  });
  it('x0 stays zero through setX; f registers round-trip raw bits', () => {
    const { hart } = bareHart();
    hart.setX(0, 5n);
    hart.setX(31, -1n);
    hart.setF(3, 0xffff_ffff_3f80_0000n);
    expect(hart.getX(0)).toBe(0n);
    expect(hart.getX(31)).toBe(-1n);
    expect(hart.getF(3)).toBe(0xffff_ffff_3f80_0000n);
  });
});
