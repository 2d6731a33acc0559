import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import { JIT_COMPILE_CHARGE, TRAP_CHARGE } from '../src/index.ts';
import { bareHart, RAM } from './setup.ts';

// A guest whose trap handler itself traps takes the same trap forever and
// retires nothing. Each trap is charged against run()'s budget, so run()
// still returns 'budget' and the VMM's loop goes on (issue #13: never a hang).

const HANDLER = RAM + 0x800;
const BUDGET = 5000;

/** A hart in VS with `cause` and illegal instructions delegated to VS, vstvec at `vstvec`, `handler` at HANDLER. */
function stormHart(cause: number, vstvec: number, handler: number[], opts = {}) {
  const { hart, mem } = bareHart(16, opts);
  mem.code(RAM, [A.csrrs(0, 0x140, 0)]); // one instruction, then an illegal zero word
  if (handler.length > 0) mem.code(HANDLER, handler);
  hart.setCsr(C.CSR_HEDELEG, (1n << BigInt(cause)) | (1n << BigInt(C.EXC_ILLEGAL_INST)));
  hart.setCsr(C.CSR_VSTVEC, BigInt(vstvec));
  return hart;
}

describe('a trap handler that traps again', () => {
  it('an illegal instruction at vstvec: run() ends on its budget, each trap charged', () => {
    const hart = stormHart(C.EXC_ILLEGAL_INST, HANDLER, [0]);
    const e = hart.run(BUDGET);
    expect(e.kind).toBe('budget');
    expect(e.retired).toBe(1);
    // the budget reached by whole traps: the run ends on the first trap at or past it
    expect(e.charged).toBe(1 + Math.ceil((BUDGET - 1) / TRAP_CHARGE) * TRAP_CHARGE);
    expect(hart.instret).toBe(1); // traps are charged, not retired
    expect(hart.getCsr(C.CSR_VSCAUSE)).toBe(BigInt(C.EXC_ILLEGAL_INST));
    expect(hart.pc).toBe(BigInt(HANDLER));
    // The next run goes on the same way: the VMM can keep scheduling it.
    expect(hart.run(BUDGET)).toMatchObject({
      kind: 'budget',
      retired: 0,
      charged: Math.ceil(BUDGET / TRAP_CHARGE) * TRAP_CHARGE,
    });
  });

  it('vstvec on unmapped memory (instruction access fault delegated): run() ends on its budget', () => {
    const unmapped = RAM + 16 * 4096;
    const hart = stormHart(C.EXC_INST_ACCESS, unmapped, []);
    const e = hart.run(BUDGET);
    expect(e.kind).toBe('budget');
    expect(e.retired).toBe(1);
    expect(e.charged).toBe(1 + Math.ceil((BUDGET - 1) / TRAP_CHARGE) * TRAP_CHARGE);
    expect(hart.getCsr(C.CSR_VSCAUSE)).toBe(BigInt(C.EXC_INST_ACCESS));
    expect(hart.getCsr(C.CSR_VSTVAL)).toBe(BigInt(unmapped));
  });

  it('under --jit-threshold 1, a handler that retires one instruction then faults: every trap charged as well', () => {
    // addi t1; ld t0, 0(x0): a load access fault (cause 5) on every entry, after one instruction.
    const hart = stormHart(C.EXC_LOAD_ACCESS, HANDLER, [A.addi(6, 6, 1), A.ld(5, 0, 0)], { jitThreshold: 1 });
    const e = hart.run(BUDGET);
    expect(e.kind).toBe('budget');
    const entries = Number(hart.getX(6));
    expect(e.retired).toBe(1 + entries); // the csrrs, then one addi per entry
    // one trap for the first illegal word and one per entry
    expect(e.charged).toBe(
      e.retired + hart.compiledBlocks * JIT_COMPILE_CHARGE + (1 + entries) * TRAP_CHARGE,
    );
    expect(entries).toBeGreaterThan(10);
    expect(hart.getCsr(C.CSR_VSCAUSE)).toBe(BigInt(C.EXC_LOAD_ACCESS));
  });

  it('a trap that leaves to HS is charged too, so a caller that redirects it forever still spends its budget', () => {
    const { hart, mem } = bareHart(16);
    mem.code(RAM, [0]);
    const e = hart.run(BUDGET);
    expect(e).toMatchObject({ kind: 'illegal-instruction', retired: 0, charged: TRAP_CHARGE });
  });
});
