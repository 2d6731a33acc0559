import { isKernelError } from '@tsvirt/core-bus';
import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import * as C from '../src/csr.ts';
import { HART_SNAPSHOT_MAGIC, Hart } from '../src/index.ts';
import { twoStageHart, VA } from './two-stage.ts';

function program() {
  const t = twoStageHart();
  // A loop that mixes registers and memory, so two harts diverge if any state differs.
  t.mem.code(t.host(VA), [A.addi(1, 1, 1), A.add(2, 2, 1), A.sd(2, 3, 0), A.xor(4, 4, 2), A.jal(0, -16)]);
  t.hart.setX(3, BigInt.asUintN(64, BigInt(VA + 0x10_0000)));
  return t;
}

describe('save/restore', () => {
  it('a restored hart continues exactly like the original', () => {
    const a = program();
    a.hart.setCsr(C.CSR_HEDELEG, 0x1ffn);
    a.hart.setCsr(C.CSR_VSSCRATCH, 0xabcdn);
    a.hart.setF(7, 0x1234n);
    a.hart.frm = 3;
    a.hart.run(1003);
    const blob = a.hart.save();
    expect(new DataView(blob.buffer).getUint32(0, true)).toBe(HART_SNAPSHOT_MAGIC);
    const b = program();
    b.hart.restore(blob);
    expect(b.hart.save()).toEqual(blob);
    a.hart.run(5000);
    b.hart.run(5000);
    for (let i = 0; i < 32; i++) expect(b.hart.getX(i)).toBe(a.hart.getX(i));
    expect(b.hart.pc).toBe(a.hart.pc);
    expect(b.hart.instret).toBe(a.hart.instret);
    expect(b.hart.getCsr(C.CSR_VSSCRATCH)).toBe(0xabcdn);
    expect(b.hart.getF(7)).toBe(0x1234n);
    expect(b.hart.frm).toBe(3);
  });
  const poke = (b: Uint8Array, i: number, v: number) => {
    b[i] = v;
    return b;
  };
  const bad: [string, (b: Uint8Array) => Uint8Array][] = [
    ['bad magic', (b) => poke(b, 0, 0)],
    ['unknown version', (b) => poke(b, 4, 99)],
    ['truncated', (b) => b.subarray(0, b.length - 8)],
    ['too short for a header', (b) => b.subarray(0, 4)],
    ['bad privilege', (b) => poke(b, 24, 3)],
  ];
  for (const [name, corrupt] of bad) {
    it(`${name}: EINVAL and the hart is unchanged`, () => {
      const a = program();
      a.hart.run(100);
      const blob = corrupt(a.hart.save().slice());
      const t = program();
      t.hart.setX(9, 99n);
      const before = t.hart.save();
      let err: unknown;
      try {
        t.hart.restore(blob);
      } catch (e) {
        err = e;
      }
      expect(isKernelError(err, 'EINVAL')).toBe(true);
      expect(t.hart.save()).toEqual(before);
    });
  }
  it('reset() returns to the power-on state: zero registers, reset CSRs, VS mode', () => {
    const a = program();
    const fresh = new Hart({ mem: a.mem }).save();
    a.hart.setCsr(C.CSR_HEDELEG, 0x1ffn);
    a.hart.setMode(C.PRV_U, 1);
    a.hart.run(500);
    a.hart.reset();
    const b = a.hart.save();
    // Everything but the pc (reset leaves it to the caller) equals a fresh hart.
    expect(b.subarray(16)).toEqual(fresh.subarray(16));
    expect(a.hart.priv).toBe(C.PRV_S);
    expect(a.hart.v).toBe(1);
    expect(a.hart.getX(1)).toBe(0n);
  });
});
