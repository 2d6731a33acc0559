import { isKernelError } from '@tsvirt/core-bus';
import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as AIA from '../src/aia.ts';
import * as C from '../src/csr.ts';
import { bareHart, RAM } from './setup.ts';

const HANDLER = RAM + 0x800;
const SISELECT = 0x150;
const SIREG = 0x151;
const STOPEI = 0x15c;
const STOPI = 0xdb0;
const VGEIN1 = 1n << 12n;
const IRQ_FLAG = 1n << 63n;

/**
 * A guest that turns on its IMSIC file through siselect/sireg (eidelivery = 1,
 * identities 1..63 enabled), sie.SEIE and sstatus.SIE, then spins. Its
 * external-interrupt handler claims the top identity with csrrw stopei into
 * x7, reads scause into x8 and stopi into x9, and ecalls.
 */
function imsicGuest(opts: { geilen?: number; vgein?: bigint } = {}) {
  const { hart, mem } = bareHart(1024, { geilen: opts.geilen ?? 2 });
  mem.code(RAM, [
    ...A.li(1, BigInt(HANDLER + 1)),
    A.csrrw(0, 0x105, 1), // vectored stvec
    A.addi(2, 0, AIA.IMSIC_EIDELIVERY),
    A.csrrw(0, SISELECT, 2),
    A.addi(3, 0, 1),
    A.csrrw(0, SIREG, 3), // eidelivery = 1
    A.addi(2, 0, AIA.IMSIC_EIE0),
    A.csrrw(0, SISELECT, 2),
    A.addi(3, 0, -1),
    A.csrrw(0, SIREG, 3), // eie0: identities 1..63
    A.addi(2, 0, 0x200),
    A.csrrs(0, 0x104, 2), // sie.SEIE
    A.csrrsi(0, 0x100, 2), // sstatus.SIE
    A.addi(10, 10, 1), // spin
    A.jal(0, -4),
  ]);
  mem.code(HANDLER + 4 * 9, [A.csrrw(7, STOPEI, 0), A.csrrs(8, 0x142, 0), A.csrrs(9, STOPI, 0), A.ECALL]);
  hart.setCsr(C.CSR_HIDELEG, BigInt(C.VS_INTERRUPTS));
  hart.setCsr(C.CSR_HIE, BigInt(C.MIP_VSEIP));
  hart.setCsr(C.CSR_HSTATUS, opts.vgein ?? VGEIN1);
  return { hart, mem };
}

function kernelCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('hgeie, hgeip and hstatus.VGEIN (GEILEN guest interrupt files)', () => {
  it('hgeie holds bits 1..GEILEN only; hgeip is read-only', () => {
    const { hart } = bareHart(16, { geilen: 3 });
    hart.setCsr(C.CSR_HGEIE, (1n << 64n) - 1n);
    expect(hart.getCsr(C.CSR_HGEIE)).toBe(0b1110n);
    expect(kernelCode(() => hart.setCsr(C.CSR_HGEIP, 2n))).toBe('EINVAL');
    expect(hart.getCsr(C.CSR_HGEIP)).toBe(0n);
  });
  it('with GEILEN = 0 (the default) hgeie stays zero', () => {
    const { hart } = bareHart(16);
    hart.setCsr(C.CSR_HGEIE, 0xffn);
    expect(hart.getCsr(C.CSR_HGEIE)).toBe(0n);
  });
  it('hstatus.VGEIN (bits 17:12) is writable', () => {
    const { hart } = bareHart(16, { geilen: 3 });
    hart.setCsr(C.CSR_HSTATUS, 3n << 12n);
    expect((hart.getCsr(C.CSR_HSTATUS) >> 12n) & 0x3fn).toBe(3n);
  });
  it("hgeip follows a file's signal: eidelivery on and a pending-and-enabled identity", () => {
    const { hart } = bareHart(16, { geilen: 2 });
    const f = hart.aia.files[2]!;
    f.setPending(7);
    expect(hart.getCsr(C.CSR_HGEIP)).toBe(0n); // not enabled
    f.write(AIA.IMSIC_EIE0, 1n << 7n);
    expect(hart.getCsr(C.CSR_HGEIP)).toBe(0n); // delivery off
    f.write(AIA.IMSIC_EIDELIVERY, 1n);
    expect(hart.getCsr(C.CSR_HGEIP)).toBe(0b100n);
    f.claim();
    expect(hart.getCsr(C.CSR_HGEIP)).toBe(0n);
  });
});

describe('a guest interrupt file taken by the vCPU without an exit', () => {
  it('an MSI (seteipnum) to the file VGEIN selects is the guest S external interrupt; stopei claims it', () => {
    const { hart } = imsicGuest();
    expect(hart.run(300).kind).toBe('budget'); // set up, spinning
    hart.aia.files[1]!.mmioWrite(AIA.IMSIC_MMIO_SETIPNUM_LE, 5);
    const e = hart.run(300);
    expect(e.kind).toBe('ecall'); // the handler's ecall: no exit before it
    expect(hart.getX(7)).toBe((5n << 16n) | 5n); // stopei read the identity, csrrw claimed it
    expect(hart.getX(8)).toBe(BigInt.asIntN(64, IRQ_FLAG | 9n)); // scause: S external
    expect(hart.getX(9)).toBe(0n); // stopi after the claim: nothing left
    expect(hart.aia.files[1]!.topei()).toBe(0);
    expect(hart.getCsr(C.CSR_HGEIP)).toBe(0n);
    expect(hart.getCsr(C.CSR_VSIP)).toBe(0n);
  });
  it("an MSI to a file VGEIN does not select is not the guest's interrupt", () => {
    const { hart } = imsicGuest({ vgein: 2n << 12n });
    hart.run(300);
    hart.aia.files[1]!.write(AIA.IMSIC_EIDELIVERY, 1n);
    hart.aia.files[1]!.write(AIA.IMSIC_EIE0, 1n << 5n);
    hart.aia.files[1]!.setPending(5);
    expect(hart.getCsr(C.CSR_HGEIP)).toBe(0b10n);
    expect(hart.run(300).kind).toBe('budget');
  });
  it('seteipnum_be takes the identity byte-swapped; identity 0 and ids above N are ignored', () => {
    const { hart } = bareHart(16, { geilen: 1, imsicIds: 63 });
    const f = hart.aia.files[1]!;
    f.write(AIA.IMSIC_EIE0, (1n << 64n) - 1n);
    f.mmioWrite(AIA.IMSIC_MMIO_SETIPNUM_BE, 0x0900_0000);
    f.mmioWrite(AIA.IMSIC_MMIO_SETIPNUM_LE, 0);
    f.mmioWrite(AIA.IMSIC_MMIO_SETIPNUM_LE, 64);
    expect(f.read(AIA.IMSIC_EIP0)).toBe(1n << 9n);
    expect(f.read(AIA.IMSIC_EIE0) & 1n).toBe(0n); // identity 0 is read-only zero
  });
  it('eithreshold hides identities at or above it; the lowest identity wins', () => {
    const { hart } = bareHart(16, { geilen: 1 });
    const f = hart.aia.files[1]!;
    f.write(AIA.IMSIC_EIE0, (1n << 64n) - 1n);
    f.setPending(10);
    f.setPending(40);
    f.write(AIA.IMSIC_EITHRESHOLD, 10n);
    expect(f.topei()).toBe(0);
    f.write(AIA.IMSIC_EITHRESHOLD, 11n);
    expect(f.topei()).toBe((10 << 16) | 10);
    f.claim();
    expect(f.topei()).toBe(0);
    f.write(AIA.IMSIC_EITHRESHOLD, 0n);
    expect(f.topei()).toBe((40 << 16) | 40);
  });
  it('vstopi names the top VS interrupt in the guest numbering, IPRIO 1 (hvictl.IPRIOM = 0)', () => {
    const { hart } = imsicGuest();
    hart.setCsr(C.CSR_HIE, BigInt(C.VS_INTERRUPTS));
    hart.setInterrupt(C.IRQ_VS_TIMER, true);
    expect(hart.getCsr(AIA.CSR_VSTOPI)).toBe((5n << 16n) | 1n);
    hart.setInterrupt(C.IRQ_VS_SOFT, true);
    expect(hart.getCsr(AIA.CSR_VSTOPI)).toBe((1n << 16n) | 1n);
    const f = hart.aia.files[1]!;
    f.write(AIA.IMSIC_EIDELIVERY, 1n);
    f.write(AIA.IMSIC_EIE0, 2n);
    f.setPending(1);
    expect(hart.getCsr(AIA.CSR_VSTOPI)).toBe((9n << 16n) | 1n);
  });
  it("SGEIP: a file enabled in hgeie with hie.SGEIE ends the run as HS interrupt 12 (KVM's wake-up)", () => {
    const { hart } = imsicGuest();
    hart.run(300);
    hart.setCsr(C.CSR_HIE, BigInt(C.MIP_VSEIP | C.MIP_SGEIP));
    hart.setCsr(C.CSR_HGEIE, 0b100n);
    const f = hart.aia.files[2]!;
    f.write(AIA.IMSIC_EIDELIVERY, 1n);
    f.write(AIA.IMSIC_EIE0, 1n << 3n);
    f.setPending(3);
    expect(hart.getCsr(C.CSR_HIP) & BigInt(C.MIP_SGEIP)).toBe(BigInt(C.MIP_SGEIP));
    const e = hart.run(300);
    expect(e.kind).toBe('interrupt');
    expect(e.cause).toBe(C.IRQ_S_GEXT);
  });
});

describe('vsireg / vstopei access faults', () => {
  const cases: [string, bigint, number, number][] = [
    ['sireg with VGEIN = 0', 0n, AIA.IMSIC_EIDELIVERY, A.csrrs(1, SIREG, 0)],
    ['stopei with VGEIN = 0', 0n, AIA.IMSIC_EIDELIVERY, A.csrrs(1, STOPEI, 0)],
    ['sireg with VGEIN past GEILEN', 5n << 12n, AIA.IMSIC_EIDELIVERY, A.csrrs(1, SIREG, 0)],
    ['sireg at a major-priority select (0x30)', VGEIN1, 0x30, A.csrrs(1, SIREG, 0)],
    ['sireg at an odd eip (eip1, RV64)', VGEIN1, AIA.IMSIC_EIP0 + 1, A.csrrs(1, SIREG, 0)],
    ['sireg at eip8, past N = 255', VGEIN1, AIA.IMSIC_EIP0 + 8, A.csrrs(1, SIREG, 0)],
    ['sireg at a reserved select (0x71)', VGEIN1, 0x71, A.csrrs(1, SIREG, 0)],
  ];
  for (const [name, hstatus, isel, insn] of cases) {
    it(`from VS, ${name} is a virtual-instruction exit; from HS, vsireg/vstopei is illegal`, () => {
      const { hart, mem } = bareHart(16, { geilen: 2 });
      mem.code(RAM, [insn]);
      hart.setCsr(C.CSR_HSTATUS, hstatus);
      hart.setCsr(AIA.CSR_VSISELECT, BigInt(isel));
      const e = hart.run(10);
      expect(e.kind).toBe('virtual-instruction');
      expect(e.tval).toBe(BigInt(insn));
      // The same register by its VS number from HS (V=0).
      const hsInsn = (insn & 0xfffff) | ((insn >>> 20 === SIREG ? AIA.CSR_VSIREG : AIA.CSR_VSTOPEI) << 20);
      mem.code(RAM, [hsInsn >>> 0]);
      hart.pc = BigInt(RAM);
      hart.setMode(C.PRV_S, 0);
      expect(hart.run(10).kind).toBe('illegal-instruction');
    });
  }
  it('from HS the S-level AIA CSRs are illegal (no HS IMSIC is modelled)', () => {
    const { hart, mem } = bareHart(16, { geilen: 1 });
    mem.code(RAM, [A.csrrs(1, SISELECT, 0)]);
    hart.setMode(C.PRV_S, 0);
    expect(hart.run(10).kind).toBe('illegal-instruction');
  });
  it('vsiselect is WARL over 9 bits; vsireg reaches eie of the selected file', () => {
    const { hart } = bareHart(16, { geilen: 1 });
    hart.setCsr(AIA.CSR_VSISELECT, 0xfffn);
    expect(hart.getCsr(AIA.CSR_VSISELECT)).toBe(0x1ffn);
    hart.setCsr(C.CSR_HSTATUS, VGEIN1);
    hart.setCsr(AIA.CSR_VSISELECT, BigInt(AIA.IMSIC_EIE0 + 2));
    hart.setCsr(AIA.CSR_VSIREG, 0x1234_5678_9abc_def0n);
    expect(hart.aia.files[1]!.read(AIA.IMSIC_EIE0 + 2)).toBe(0x1234_5678_9abc_def0n);
    expect(hart.getCsr(AIA.CSR_VSIREG)).toBe(0x1234_5678_9abc_def0n);
  });
});

describe('the AIA state in save()/restore() (RVHT version 2)', () => {
  /** The guest above, run until it has turned its file on and spins; hgeie enables file 1. */
  function configured() {
    const g = imsicGuest();
    expect(g.hart.run(200).kind).not.toBe('ecall');
    g.hart.setCsr(C.CSR_HGEIE, 0b10n);
    return g;
  }
  const version = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(4, true);

  it("carries hgeie, vsiselect and the guest files: an MSI to the restored hart's file is taken by its guest", () => {
    const a = configured();
    a.hart.aia.files[2]!.setPending(9); // file 2: pending, not delivered (delivery off there)
    const blob = a.hart.save();
    expect(version(blob)).toBe(2);
    const b = imsicGuest();
    b.hart.restore(blob);
    expect(b.hart.save()).toEqual(blob);
    expect(b.hart.getCsr(C.CSR_HGEIE)).toBe(0b10n);
    expect(b.hart.aia.vsiselect).toBe(AIA.IMSIC_EIE0);
    expect(b.hart.aia.files[1]!.eidelivery).toBe(1);
    expect(b.hart.aia.files[2]!.read(AIA.IMSIC_EIP0)).toBe(1n << 9n);
    // The guest's setup is not run again (pc is in its spin loop): the file it enabled is the restored one.
    b.hart.aia.files[1]!.setPending(5);
    expect(b.hart.getCsr(C.CSR_HGEIP)).toBe(0b10n);
    expect(b.hart.run(10_000).kind).toBe('ecall');
    expect(b.hart.getX(7)).toBe(BigInt((5 << 16) | 5));
  });

  it('a pending identity saved in a delivering file signals hgeip at once and is taken after restore', () => {
    const a = configured();
    a.hart.aia.files[1]!.setPending(7);
    const blob = a.hart.save(); // saved between the MSI and the guest's next instruction
    const b = imsicGuest();
    b.hart.restore(blob);
    expect(b.hart.getCsr(C.CSR_HGEIP)).toBe(0b10n);
    expect(b.hart.run(10_000).kind).toBe('ecall');
    expect(b.hart.getX(7)).toBe(BigInt((7 << 16) | 7));
  });

  it('a version 1 blob (no AIA part) is still read: the AIA state is reset to power-on', () => {
    const a = configured();
    const fresh = bareHart(16).hart.save(); // GEILEN 0: the AIA part is its 16-byte head only
    const v1 = a.hart.save().slice(0, fresh.length - 16);
    new DataView(v1.buffer).setUint32(4, 1, true);
    const b = configured();
    b.hart.aia.files[1]!.setPending(3);
    b.hart.restore(v1);
    expect(b.hart.getCsr(C.CSR_HGEIE)).toBe(0n);
    expect(b.hart.aia.vsiselect).toBe(0);
    expect(b.hart.aia.files[1]!.eidelivery).toBe(0);
    expect(b.hart.getCsr(C.CSR_HGEIP)).toBe(0n);
    expect(b.hart.pc).toBe(a.hart.pc);
  });

  const corrupt: [string, number, number][] = [
    // [what, the byte offset from the AIA part's start, a value]
    ['another GEILEN', 0, 3],
    ['hgeie naming no file', 8, 0x80],
    ['vsiselect past its WARL range', 13, 0x10],
    ['eidelivery 2', 16, 2],
    ['identity 0 pending', 24, 1],
  ];
  for (const [what, at, v] of corrupt) {
    it(`${what}: EINVAL and the hart is unchanged`, () => {
      const a = configured();
      const blob = a.hart.save().slice();
      const aiaAt = bareHart(16).hart.save().length - 16;
      blob[aiaAt + at] = v;
      const t = configured();
      t.hart.aia.files[1]!.setPending(4);
      const before = t.hart.save();
      expect(kernelCode(() => t.hart.restore(blob))).toBe('EINVAL');
      expect(t.hart.save()).toEqual(before);
    });
  }

  it('a blob cut inside the files, or from a hart with files of another size, is EINVAL', () => {
    const blob = configured().hart.save();
    const t = configured();
    expect(kernelCode(() => t.hart.restore(blob.subarray(0, blob.length - 4)))).toBe('EINVAL');
    const small = bareHart(1024, { geilen: 2, imsicIds: 63 }).hart;
    expect(kernelCode(() => small.restore(blob))).toBe('EINVAL');
  });

  it('reset() on a hart with guest files returns them to power-on', () => {
    const a = configured();
    a.hart.aia.files[1]!.setPending(5);
    a.hart.reset();
    expect(a.hart.aia.files[1]!.eidelivery).toBe(0);
    expect(a.hart.getCsr(C.CSR_HGEIE)).toBe(0n);
    expect(a.hart.getCsr(C.CSR_HGEIP)).toBe(0n);
  });
});
