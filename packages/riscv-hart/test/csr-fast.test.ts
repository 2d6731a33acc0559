import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import { PTE_A, PTE_D, PTE_U, RWX } from './pt.ts';
import { bareHart, RAM } from './setup.ts';
import { GPA, twoStageHart, VA } from './two-stage.ts';

// sstatus and time are read and written without BigInts on their common
// path (exec-system.ts statusAccess, the rdtime case): the 64-bit values the
// guest sees must stay those of the general CSR path.

const UXL64 = 2n << 32n;
const SD = 1n << 63n;

describe('sstatus in int32 words', () => {
  it('in VS: csrrc with rd = rs1 returns the old value (UXL, SD with FS dirty) and clears only writable bits', () => {
    const { hart, mem } = bareHart();
    const w = BigInt(C.SR_SIE | C.SR_SUM | C.SR_FS_DIRTY);
    mem.code(RAM, [
      A.csrrs(0, 0x100, 5), // set SIE, SUM, FS = dirty
      A.csrrc(6, 0x100, 6), // x6 = old; clear SUM and an unwritable bit (UXL's low bit)
      A.csrrsi(7, 0x100, 0), // read back
      A.ECALL,
    ]);
    hart.setX(5, w);
    hart.setX(6, BigInt(C.SR_SUM) | (1n << 32n));
    expect(hart.run(10).kind).toBe('ecall');
    expect(hart.getX(6)).toBe(BigInt.asIntN(64, SD | UXL64 | w));
    expect(hart.getX(7)).toBe(BigInt.asIntN(64, SD | UXL64 | BigInt(C.SR_SIE | C.SR_FS_DIRTY)));
    expect(hart.getCsr(C.CSR_VSSTATUS) & 0xffff_ffffn).toBe(BigInt(C.SR_SIE | C.SR_FS_DIRTY));
  });

  it('in HS: sstatus is mstatus masked to its S bits; without FS dirty no SD; csrrwi writes the immediate', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.csrrwi(8, 0x100, 2), A.csrrs(9, 0x100, 0), A.ECALL]);
    hart.setMode(C.PRV_S, 0);
    hart.setCsr(C.CSR_SSTATUS, BigInt(C.SR_SUM | C.SR_FS_INITIAL));
    const e = hart.run(10);
    expect(e.kind).toBe('ecall');
    expect(hart.getX(8)).toBe(UXL64 | BigInt(C.SR_SUM | C.SR_FS_INITIAL));
    expect(hart.getX(9)).toBe(UXL64 | BigInt(C.SR_SIE));
  });
});

describe('sstatus writes and the translation context', () => {
  it('setting and clearing SUM takes effect at the next load; SIE toggles between change nothing', () => {
    const { hart, mem, host, vs, vsRoot } = twoStageHart();
    const DATA = VA + 0x10_0000; // a U page
    vs.map(vsRoot, DATA, GPA + 0x10_0000, RWX | PTE_U | PTE_A | PTE_D, 3);
    mem.w64(host(DATA), 0x1234_5678_9abc_def0n);
    const code = [
      ...A.li(8, BigInt.asUintN(64, BigInt(DATA))),
      ...A.li(9, BigInt(C.SR_SUM)),
      A.csrrs(0, 0x100, 9), // SUM on
      A.csrrsi(0, 0x100, C.SR_SIE),
      A.ld(5, 8, 0), // allowed
      A.csrrci(0, 0x100, C.SR_SIE),
      A.csrrc(0, 0x100, 9), // SUM off
      A.csrrsi(0, 0x100, C.SR_SIE),
      A.ld(6, 8, 0), // a load page fault, though the first ld left its translation in the TLB
      A.ECALL,
    ];
    mem.code(host(VA), code);
    const e = hart.run(100);
    expect(hart.getX(5)).toBe(0x1234_5678_9abc_def0n);
    expect(e.kind).toBe('exception');
    expect(e.cause).toBe(C.EXC_LOAD_PAGE_FAULT);
    expect(e.pc).toBe(BigInt.asUintN(64, BigInt(VA + 4 * (code.length - 2))));
    expect(hart.getX(6)).toBe(0n);
  });
});

describe('time without BigInt wrapping', () => {
  it('host time + htimedelta wraps modulo 2^64 in VS; in HS time is the host timebase', () => {
    const { hart, mem } = bareHart();
    mem.code(RAM, [A.csrrs(1, 0xc01, 0), A.ECALL]);
    hart.setCsr(C.CSR_HCOUNTEREN, 2n);
    hart.hostTime = 5n;
    hart.setCsr(C.CSR_HTIMEDELTA, -10n);
    expect(hart.run(10).kind).toBe('ecall');
    expect(hart.getX(1)).toBe(-5n); // 2^64 - 5
    hart.hostTime = (1n << 64n) - 3n;
    hart.setCsr(C.CSR_HTIMEDELTA, 7n);
    hart.pc = BigInt(RAM);
    hart.run(10);
    expect(hart.getX(1)).toBe(4n);
  });
  it('a time read the counter enables forbid still traps: virtual instruction in VS/VU, illegal in U', () => {
    const rdtime = A.csrrs(1, 0xc01, 0);
    const cases: [priv: number, v: number, hcounteren: bigint, scounteren: bigint, kind: string][] = [
      [C.PRV_S, 1, 0n, 2n, 'virtual-instruction'], // hcounteren.TM clear
      [C.PRV_U, 1, 2n, 0n, 'virtual-instruction'], // VU: hcounteren.TM set, scounteren.TM clear
      [C.PRV_U, 1, 0n, 2n, 'virtual-instruction'],
      [C.PRV_U, 0, 2n, 0n, 'illegal-instruction'], // U: scounteren.TM clear
    ];
    for (const [priv, v, hc, sc, kind] of cases) {
      // jitThreshold 1: the loop of reads is compiled, and a read traps there too.
      for (const jitThreshold of [1, 1000]) {
        const { hart, mem } = bareHart(1024, { jitThreshold });
        mem.code(RAM, [rdtime, A.jal(0, -4)]);
        hart.setCsr(C.CSR_HCOUNTEREN, hc);
        hart.setCsr(C.CSR_SCOUNTEREN, sc);
        hart.setMode(priv, v);
        hart.hostTime = 77n;
        hart.setX(1, 5n);
        const e = hart.run(1000);
        expect(e.kind).toBe(kind);
        expect(hart.pc).toBe(BigInt(RAM));
        expect(hart.getX(1)).toBe(5n);
      }
    }
  });
});
