import { describe, expect, it } from 'vitest';
import { GPTE_A, GPTE_D, GPTE_R, GPTE_U, GPTE_V, GPTE_W, GStage } from './support/gstage.ts';
import {
  MiniSbi,
  SBI_ERR_ALREADY_AVAILABLE,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_BASE,
  SBI_EXT_DBCN,
  SBI_EXT_HSM,
  SBI_EXT_IPI,
  SBI_EXT_SRST,
  SBI_EXT_TIME,
} from './support/mini-sbi.ts';
import { runOnHart } from './support/mini-vmm.ts';
import { TestPhysMemory } from './support/test-phys-memory.ts';

/** A flat image from 32-bit instruction words. */
function image(...words: number[]): Uint8Array {
  const b = new Uint8Array(words.length * 4);
  const dv = new DataView(b.buffer);
  for (const [i, w] of words.entries()) dv.setUint32(i * 4, w >>> 0, true);
  return b;
}

// The mini VMM's own parts, tested without a hart.

describe('TestPhysMemory', () => {
  it('hands out 4 KiB frames at 4096-aligned offsets and holes as undefined', () => {
    const m = new TestPhysMemory();
    m.addRegion(0x1_0000_0000n, 4);
    const f = m.frame(0x10_0002)!;
    expect(f.byteLength).toBe(4096);
    expect(f.byteOffset % 4096).toBe(0);
    expect(m.frame(0x10_0002)).toBe(f);
    expect(m.frame(0x10_0004)).toBeUndefined();
    expect(m.frame(0xf_ffff)).toBeUndefined();
  });
  it('reads and writes across frame boundaries and refuses holes', () => {
    const m = new TestPhysMemory();
    m.addRegion(0x2000n, 2);
    m.writeU64(0x2ffcn, 0x1122334455667788n);
    expect(m.readU64(0x2ffcn)).toBe(0x1122334455667788n);
    expect(m.frame(3)![0]).toBe(0x44);
    expect(m.read(0x3ffcn, 8)).toBeUndefined();
    expect(() => m.write(0x4000n, Uint8Array.of(1))).toThrow(/no host memory/);
  });
  it('rejects overlapping or unaligned regions', () => {
    const m = new TestPhysMemory();
    m.addRegion(0x10000n, 4);
    expect(() => m.addRegion(0x12000n, 4)).toThrow(/overlap/);
    expect(() => m.addRegion(0x20001n, 1)).toThrow(/aligned/);
  });
});

describe('GStage', () => {
  const setup = () => {
    const m = new TestPhysMemory();
    m.addRegion(0x4_0000_0000n, 16); // guest RAM backing
    m.addRegion(0x5_0000_0000n, 16); // table pool
    const g = new GStage(m, 0x5_0000_0000n, 0x5_0001_0000n);
    return { m, g };
  };
  it('builds hgatp as MODE=8 | VMID | root PPN', () => {
    const { g } = setup();
    expect(g.hgatp(3)).toBe((8n << 60n) | (3n << 44n) | (0x5_0000_0000n >> 12n));
  });
  it('maps with U|A|D leaves in a 16 KiB root indexed by GPA bits 40:30', () => {
    const { m, g } = setup();
    g.map(0x1_8020_0000n, 0x4_0000_3000n, 8192, GPTE_R | GPTE_W);
    expect(g.translate(0x1_8020_0123n)).toBe(0x4_0000_3123n);
    expect(g.translate(0x1_8020_1ff8n)).toBe(0x4_0000_4ff8n);
    expect(g.translate(0x1_8020_2000n)).toBeUndefined();
    // Index 6 of the root (GPA bit 40:30 = 6) lives in the root's first frame.
    const rootPte = m.readU64(0x5_0000_0000n + 6n * 8n);
    expect(rootPte & 0x3ffn).toBe(GPTE_V);
    const leafSlot = (m: TestPhysMemory, gpa: bigint) => {
      let t = 0x5_0000_0000n;
      t = (m.readU64(t + ((gpa >> 30n) & 0x7ffn) * 8n) >> 10n) << 12n;
      t = (m.readU64(t + ((gpa >> 21n) & 0x1ffn) * 8n) >> 10n) << 12n;
      return m.readU64(t + ((gpa >> 12n) & 0x1ffn) * 8n);
    };
    expect(leafSlot(m, 0x1_8020_0000n) & 0x3ffn).toBe(GPTE_V | GPTE_R | GPTE_W | GPTE_U | GPTE_A | GPTE_D);
    // A GPA above 2^40 uses root entries beyond the first 4 KiB frame.
    g.map(0x1ff_ffff_f000n, 0x4_0000_0000n, 4096);
    expect(g.translate(0x1ff_ffff_f010n)).toBe(0x4_0000_0010n);
    expect(m.readU64(0x5_0000_0000n + 0x7ffn * 8n) & GPTE_V).toBe(GPTE_V);
  });
  it('Sv48x4: MODE=9, four levels, GPAs up to 2^50', () => {
    const m = new TestPhysMemory();
    m.addRegion(0x4_0000_0000n, 1);
    m.addRegion(0x5_0000_0000n, 8);
    const g = new GStage(m, 0x5_0000_0000n, 0x5_0000_8000n, 'sv48x4');
    expect(g.hgatp(2)).toBe((9n << 60n) | (2n << 44n) | (0x5_0000_0000n >> 12n));
    const top = (1n << 50n) - 4096n;
    g.map(top, 0x4_0000_0000n, 4096);
    expect(g.translate(top + 8n)).toBe(0x4_0000_0008n);
    // Root index = GPA bits 49:39 = 0x7ff: the last entry of the 16 KiB root.
    expect(m.readU64(0x5_0000_0000n + 0x7ffn * 8n) & GPTE_V).toBe(GPTE_V);
    expect(() => g.map(1n << 50n, 0x4_0000_0000n, 4096)).toThrow(/beyond sv48x4/);
    expect(g.translate(1n << 50n)).toBeUndefined();
  });
  it('unmap removes one page only', () => {
    const { g } = setup();
    g.map(0x8000_0000n, 0x4_0000_0000n, 3 * 4096);
    g.unmap(0x8000_1000n);
    expect(g.translate(0x8000_1000n)).toBeUndefined();
    expect(g.translate(0x8000_2000n)).toBe(0x4_0000_2000n);
  });
  it('rejects unaligned maps, GPAs beyond 41 bits and an exhausted pool', () => {
    const { g } = setup();
    expect(() => g.map(0x8000_0800n, 0x4_0000_0000n, 4096)).toThrow(/unaligned/);
    expect(() => g.map(1n << 41n, 0x4_0000_0000n, 4096)).toThrow(/beyond/);
    // 12 table frames remain after the root: 6 distinct 1 GiB regions need 2 each.
    for (let i = 0n; i < 6n; i++) g.map(i << 30n, 0x4_0000_0000n, 4096);
    expect(() => g.map(7n << 30n, 0x4_0000_0000n, 4096)).toThrow(/exhausted/);
  });
});

describe('MiniSbi', () => {
  const ram = new TextEncoder().encode('hello, dbcn\n');
  const reader = (gpa: bigint, len: number) =>
    gpa >= 0x8000_0000n && gpa + BigInt(len) <= 0x8000_0000n + BigInt(ram.length)
      ? ram.subarray(Number(gpa - 0x8000_0000n), Number(gpa - 0x8000_0000n) + len)
      : undefined;

  it('legacy putchar and DBCN write/write_byte reach the console', () => {
    const sbi = new MiniSbi(reader);
    expect(sbi.call(1n, 0n, [0x41n])).toEqual({ error: 0n, value: 0n });
    expect(sbi.call(SBI_EXT_DBCN, 0n, [BigInt(ram.length), 0x8000_0000n, 0n])).toEqual({
      error: 0n,
      value: BigInt(ram.length),
    });
    expect(sbi.call(SBI_EXT_DBCN, 2n, [0x42n])).toEqual({ error: 0n, value: 0n });
    expect(sbi.output).toBe('Ahello, dbcn\nB');
  });
  it('DBCN write outside RAM or with a high address half is INVALID_PARAM and prints nothing', () => {
    const sbi = new MiniSbi(reader);
    expect(sbi.call(SBI_EXT_DBCN, 0n, [64n, 0x8000_0000n, 0n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.call(SBI_EXT_DBCN, 0n, [4n, 0x8000_0000n, 1n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.output).toBe('');
  });
  it('BASE probe finds DBCN and SRST, not an unknown extension', () => {
    const sbi = new MiniSbi(reader);
    expect(sbi.call(SBI_EXT_BASE, 3n, [SBI_EXT_DBCN]).value).toBe(1n);
    expect(sbi.call(SBI_EXT_BASE, 3n, [SBI_EXT_SRST]).value).toBe(1n);
    expect(sbi.call(SBI_EXT_BASE, 3n, [0x52464e43n]).value).toBe(0n);
    expect(sbi.call(SBI_EXT_BASE, 0n, []).value).toBe(2n << 24n);
    expect(sbi.call(SBI_EXT_BASE, 9n, []).error).toBe(SBI_ERR_NOT_SUPPORTED);
  });
  it('SRST records shutdown; reserved types and reasons are INVALID_PARAM', () => {
    const sbi = new MiniSbi(reader);
    expect(sbi.call(SBI_EXT_SRST, 0n, [3n, 0n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.call(SBI_EXT_SRST, 0n, [0n, 2n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.reset).toBeUndefined();
    expect(sbi.call(SBI_EXT_SRST, 0n, [0n, 1n]).error).toBe(0n);
    expect(sbi.reset).toEqual({ type: 0n, reason: 1n });
  });
  it('TIME set_timer records the deadline; sPI to hart 0 (or all) pends an IPI', () => {
    const sbi = new MiniSbi(reader);
    expect(sbi.call(SBI_EXT_TIME, 0n, [1234n]).error).toBe(0n);
    expect(sbi.timer[0]).toBe(1234n);
    expect(sbi.call(SBI_EXT_TIME, 0n, [-1n]).error).toBe(0n);
    expect(sbi.timer[0]).toBe((1n << 64n) - 1n);
    expect(sbi.call(SBI_EXT_IPI, 0n, [1n, 0n]).error).toBe(0n);
    expect(sbi.ipiPending[0]).toBe(true);
    sbi.ipiPending[0] = false;
    expect(sbi.call(SBI_EXT_IPI, 0n, [0n, -1n]).error).toBe(0n);
    expect(sbi.ipiPending[0]).toBe(true);
  });
  it('with several harts: timers are per hart, IPIs reach the harts the mask names', () => {
    const sbi = new MiniSbi(reader, 3);
    sbi.call(SBI_EXT_TIME, 0n, [55n], 2);
    expect(sbi.timer).toEqual([undefined, undefined, 55n]);
    expect(sbi.call(SBI_EXT_IPI, 0n, [0b11n, 1n]).error).toBe(0n); // harts 1 and 2
    expect(sbi.ipiPending).toEqual([false, true, true]);
    // Hart 3 does not exist: nothing is sent, not even to hart 2.
    sbi.ipiPending.fill(false);
    expect(sbi.call(SBI_EXT_IPI, 0n, [0b101n, 1n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.ipiPending).toEqual([false, false, false]);
  });
  it('HSM: start queues the entry, a second start is ALREADY_AVAILABLE, stop and status track state', () => {
    const sbi = new MiniSbi(reader, 2);
    expect(sbi.call(SBI_EXT_HSM, 2n, [1n])).toEqual({ error: 0n, value: 1n }); // STOPPED
    expect(sbi.call(SBI_EXT_HSM, 2n, [0n])).toEqual({ error: 0n, value: 0n }); // STARTED
    expect(sbi.call(SBI_EXT_HSM, 0n, [1n, 0x8020_0100n, 42n]).error).toBe(0n);
    expect(sbi.starts).toEqual([{ hart: 1, addr: 0x8020_0100n, opaque: 42n }]);
    expect(sbi.call(SBI_EXT_HSM, 0n, [1n, 0n, 0n]).error).toBe(SBI_ERR_ALREADY_AVAILABLE);
    expect(sbi.starts.length).toBe(1);
    expect(sbi.call(SBI_EXT_HSM, 2n, [1n]).value).toBe(0n);
    expect(sbi.call(SBI_EXT_HSM, 1n, [], 1).error).toBe(0n); // hart 1 stops itself
    expect(sbi.started).toEqual([true, false]);
  });
  it('HSM on a hart that does not exist is INVALID_PARAM and changes nothing', () => {
    const sbi = new MiniSbi(reader, 2);
    expect(sbi.call(SBI_EXT_HSM, 0n, [2n, 0x8020_0000n, 0n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.call(SBI_EXT_HSM, 2n, [9n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.starts).toEqual([]);
    expect(sbi.started).toEqual([true, false]);
  });
  it('sPI naming a hart that does not exist is INVALID_PARAM and pends nothing', () => {
    const sbi = new MiniSbi(reader);
    expect(sbi.call(SBI_EXT_IPI, 0n, [1n, 1n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.ipiPending).toEqual([false]);
    expect(sbi.call(SBI_EXT_IPI, 0n, [3n, 0n]).error).toBe(SBI_ERR_INVALID_PARAM);
    expect(sbi.ipiPending).toEqual([false]);
    expect(sbi.call(SBI_EXT_IPI, 0n, [0n, 0n]).error).toBe(0n);
    expect(sbi.ipiPending).toEqual([false]);
  });
  it('without DBCN the probe says absent and DBCN calls are NOT_SUPPORTED', () => {
    const sbi = new MiniSbi(reader, 1, false);
    expect(sbi.call(SBI_EXT_BASE, 3n, [SBI_EXT_DBCN]).value).toBe(0n);
    expect(sbi.call(SBI_EXT_DBCN, 0n, [4n, 0x8000_0000n, 0n]).error).toBe(SBI_ERR_NOT_SUPPORTED);
    expect(sbi.call(SBI_EXT_DBCN, 2n, [0x41n]).error).toBe(SBI_ERR_NOT_SUPPORTED);
    expect(sbi.output).toBe('');
  });
  it('unknown extensions are NOT_SUPPORTED', () => {
    const sbi = new MiniSbi(reader);
    expect(sbi.call(0x52464e43n, 0n, []).error).toBe(SBI_ERR_NOT_SUPPORTED);
    expect(sbi.call(SBI_EXT_SRST, 1n, []).error).toBe(SBI_ERR_NOT_SUPPORTED);
  });
});

describe('runOnHart exit handling', () => {
  it('an unknown SBI extension answers NOT_SUPPORTED (-2) in a0; SRST ends the run with its reason', () => {
    const r = runOnHart(
      image(
        0x444248b7, // lui a7, 0x44424
        0x34f8889b, // addiw a7, a7, 0x34f   (not an extension we have)
        0x00000073, // ecall
        0x04350513, // addi a0, a0, 0x43     ('A' when a0 = -2)
        0x00100893, // li a7, 1              (legacy putchar)
        0x00000073, // ecall
        0x535258b7, // lui a7, 0x53525
        0x3548889b, // addiw a7, a7, 0x354   (SRST)
        0x00000813, // li a6, 0
        0x00000513, // li a0, 0              (shutdown)
        0x00100593, // li a1, 1              (system failure)
        0x00000073, // ecall
      ),
    );
    expect(r.error).toBeUndefined();
    expect(r.raw).toBe('A');
    expect(r.output).toBeUndefined();
    expect(r.reset).toEqual({ type: 0n, reason: 1n });
    expect(r.exits.ecall).toBe(3);
  });
  it('a guest that never shuts down stops at the instruction limit', () => {
    const r = runOnHart(image(0x0000006f), { maxInstructions: 5000 }); // j .
    expect(r.reset).toBeUndefined();
    expect(r.error).toMatch(/no shutdown after 5000 instructions \(pc 0x80200000\)/);
    expect(r.retired).toBe(5000);
  });
  it('a load outside guest RAM is a G-stage fault that stops the run with its GPA', () => {
    const r = runOnHart(image(0x00001537, 0x00053583)); // lui a0, 1; ld a1, 0(a0)
    expect(r.error).toBe('guest page fault (cause 21) at GPA 0x1000 at pc 0x80200004');
    expect(r.exits['guest-page-fault']).toBe(1);
  });
  it('wfi with nothing to wake it stops the run', () => {
    const r = runOnHart(image(0x10500073)); // wfi
    expect(r.error).toBe('wfi with no interrupt source at pc 0x80200000');
  });
});
