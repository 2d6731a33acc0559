import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { amoaddW, csrrs, ECALL, fld, jalr, li, lui, lw, sb } from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import { EXIT_SHUTDOWN, EXIT_VM_ERROR } from '../src/config-error.ts';
import { boot } from '../src/scripted-boot.ts';

const T0 = 5;
const T1 = 6;
const A0 = 10;
const dir = mkdtempSync(join(tmpdir(), 'vm-hostile-'));
const LOAD = 0x8020_0000;

/** A flat binary (loaded at 0x80200000) from instruction words. */
export function flatGuest(name: string, words: readonly number[]): string {
  const file = join(dir, name);
  writeFileSync(file, new Uint8Array(Uint32Array.from(words).buffer));
  return file;
}

const uart = lui(T0, 0x1000_0000 >>> 12);
/** SBI SRST shutdown, no reason. */
const shutdown = [...li(17, 0x5352_5354n), ...li(16, 0n), ...li(A0, 0n), ...li(11, 0n), ECALL];

describe('a guest that makes KVM_RUN fail ends the run as a VM error (status 3), not an internal error', () => {
  const run = async (words: number[]) =>
    (
      await boot([
        '--cpus',
        '1',
        '--kernel',
        flatGuest(`g${words.length}-${words[words.length - 1]}.bin`, words),
      ])
    ).result;

  it('a jump to an address with no memory: EOPNOTSUPP, the GPA and the pc', async () => {
    const r = await run([lui(T0, 1), jalr(0, T0, 0)]);
    expect([r.status, r.reason]).toEqual([
      EXIT_VM_ERROR,
      'vCPU 0: KVM_RUN failed: EOPNOTSUPP (instruction fetch at gpa 0x1000), pc 0x1000',
    ]);
    const high = await run([...li(T0, -4096n), jalr(0, T0, 0)]);
    expect(high.reason).toBe(
      'vCPU 0: KVM_RUN failed: EOPNOTSUPP (instruction fetch at gpa 0xfffffffffffff000), pc 0xfffffffffffff000',
    );
  });

  it('an FP load or an atomic on MMIO: EOPNOTSUPP; a misaligned MMIO load: EIO', async () => {
    const fp = await run([lui(T1, 2), csrrs(0, 0x100, T1), uart, fld(0, T0, 0)]);
    expect([fp.status, fp.reason]).toEqual([
      EXIT_VM_ERROR,
      `vCPU 0: KVM_RUN failed: EOPNOTSUPP (FP load 0x3007 on MMIO at gpa 0x10000000), pc 0x${(LOAD + 12).toString(16)}`,
    ]);
    const amo = await run([uart, amoaddW(A0, T0, T1)]);
    expect(amo.reason).toMatch(
      /^vCPU 0: KVM_RUN failed: EOPNOTSUPP \(atomic 0x[0-9a-f]+ on MMIO at gpa 0x10000000\)/,
    );
    const mis = await run([uart, lw(A0, T0, 1)]);
    expect([mis.status, mis.reason]).toEqual([
      EXIT_VM_ERROR,
      `vCPU 0: KVM_RUN failed: EIO (misaligned 4-byte MMIO load at gpa 0x10000001), pc 0x${(LOAD + 4).toString(16)}`,
    ]);
  });
});

describe('the instructions-retired figure', () => {
  it('counts each MMIO access the VMM completed: a guest doing N of them retires exactly its length', async () => {
    const N = 100;
    // N stores to the UART's scratch register, then shutdown (the ecall that ends the run never completes).
    const body = [uart, ...Array.from({ length: N }, () => sb(A0, T0, 7)), ...shutdown.slice(0, -1)];
    const { result } = await boot(['--cpus', '1', '--kernel', flatGuest('mmio-n.bin', [...body, ECALL])]);
    expect(result.status).toBe(EXIT_SHUTDOWN);
    expect(result.stats.exits.get('mmio')).toBe(N);
    expect(result.stats.instructions).toBe(body.length);
  });
});
