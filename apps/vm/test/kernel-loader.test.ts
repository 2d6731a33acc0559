import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VmConfigError } from '../src/config-error.ts';
import { readKernelFile } from '../src/kernel-file.ts';
import { prepareKernel } from '../src/kernel-loader.ts';
import { formatMemSize, parseMemSize } from '../src/size.ts';

const RAM = 0x8000_0000;
const MiB = 2 ** 20;

/** A minimal ELF64 with one PT_LOAD segment. */
function elf(opts: {
  machine?: number;
  cls?: number;
  vaddr: number | bigint;
  paddr: number;
  entry: number | bigint;
  body: number[];
  memsz?: number;
}) {
  const phoff = 64;
  const dataOff = phoff + 56;
  const b = new Uint8Array(dataOff + opts.body.length);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, opts.cls ?? 2, 1, 1]);
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, opts.machine ?? 243, true);
  dv.setBigUint64(24, BigInt(opts.entry), true);
  dv.setBigUint64(32, BigInt(phoff), true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, 1, true);
  dv.setUint32(phoff, 1, true); // PT_LOAD
  dv.setBigUint64(phoff + 8, BigInt(dataOff), true);
  dv.setBigUint64(phoff + 16, BigInt(opts.vaddr), true);
  dv.setBigUint64(phoff + 24, BigInt(opts.paddr), true);
  dv.setBigUint64(phoff + 32, BigInt(opts.body.length), true);
  dv.setBigUint64(phoff + 40, BigInt(opts.memsz ?? opts.body.length), true);
  b.set(opts.body, dataOff);
  return b;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VmConfigError);
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

describe('kernel loading', () => {
  it('loads a flat binary at 0x80200000', () => {
    const k = prepareKernel('x.bin', Uint8Array.of(0x13, 0, 0, 0), RAM, 64 * MiB);
    expect(k).toMatchObject({ format: 'flat', entry: 0x8020_0000, end: 0x8020_0004 });
  });

  it('loads an ELF at its physical addresses and translates the entry', () => {
    const k = prepareKernel(
      'k.elf',
      elf({
        vaddr: 0xffff_ffff_8000_0000n,
        paddr: 0x8040_0000,
        entry: 0xffff_ffff_8000_0010n,
        body: [1, 2, 3, 4],
        memsz: 0x1000,
      }),
      RAM,
      64 * MiB,
    );
    expect(k.format).toBe('elf');
    expect(k.entry).toBe(0x8040_0010);
    expect(k.segments).toHaveLength(1);
    expect(k.segments[0]!.memsz).toBe(0x1000);
    expect(k.end).toBe(0x8040_1000);
  });

  it('refuses a non-RISC-V ELF, a 32-bit one, and one that does not fit in RAM', () => {
    expect(
      message(() =>
        prepareKernel(
          'x86.elf',
          elf({ machine: 62, vaddr: RAM, paddr: RAM, entry: RAM, body: [0] }),
          RAM,
          MiB,
        ),
      ),
    ).toMatch(/not a RISC-V kernel \(ELF machine 62\)/);
    expect(
      message(() =>
        prepareKernel('rv32.elf', elf({ cls: 1, vaddr: RAM, paddr: RAM, entry: RAM, body: [0] }), RAM, MiB),
      ),
    ).toMatch(/32-bit/);
    expect(
      message(() =>
        prepareKernel(
          'big.elf',
          elf({ vaddr: RAM, paddr: RAM, entry: RAM, body: [0], memsz: 2 * MiB }),
          RAM,
          MiB,
        ),
      ),
    ).toMatch(/raise --mem/);
    expect(message(() => prepareKernel('big.bin', new Uint8Array(MiB), RAM, 2 * MiB))).toMatch(/raise --mem/);
    expect(message(() => prepareKernel('empty.bin', new Uint8Array(0), RAM, MiB))).toMatch(/empty/);
  });
});

describe('--mem sizes', () => {
  it('parses suffixes as QEMU does (bare numbers are MiB)', () => {
    expect(parseMemSize('256M')).toBe(256 * MiB);
    expect(parseMemSize('1G')).toBe(2 ** 30);
    expect(parseMemSize('512')).toBe(512 * MiB);
    expect(parseMemSize('64k')).toBe(65536);
  });
  it('refuses text and partial pages', () => {
    expect(message(() => parseMemSize('lots'))).toMatch(/not a size/);
    expect(message(() => parseMemSize('1K'))).toMatch(/4 KiB pages/);
  });
  it('refuses nothing and more than a number holds', () => {
    expect(message(() => parseMemSize('0'))).toBe('--mem 0: guest RAM cannot be empty');
    expect(message(() => parseMemSize('9'.repeat(400)))).toMatch(/too large/);
  });
  it('formats sizes back in the largest exact unit', () => {
    expect([256 * MiB, 15 * 2 ** 30, 100 * 2 ** 40, 2 ** 43 - MiB, 8192].map(formatMemSize)).toEqual([
      '256M',
      '15G',
      '100T',
      '8388607M',
      '8K',
    ]);
  });
});

/** A valid ELF (one PT_LOAD of 16 bytes at RAM + 2 MiB) to mutate. */
const good = () =>
  elf({ vaddr: RAM + 0x20_0000, paddr: RAM + 0x20_0000, entry: RAM + 0x20_0000, body: Array(16).fill(0x13) });

describe('malformed ELF headers are one-line refusals', () => {
  it('program header entries of 0, 1 or 8 bytes (binfmt_elf wants sizeof(Elf64_Phdr))', () => {
    for (const size of [0, 1, 8, 55, 57]) {
      const b = good();
      new DataView(b.buffer).setUint16(54, size, true);
      expect(message(() => prepareKernel('k.elf', b, RAM, 64 * MiB))).toBe(
        `k.elf: program header entries of ${size} bytes (an ELF64 one is 56)`,
      );
    }
  });

  it('offsets, sizes and addresses that overflow or point outside the file or RAM', () => {
    const at = (field: number, v: bigint, phdr = true) => {
      const b = good();
      new DataView(b.buffer).setBigUint64((phdr ? 64 : 0) + field, v, true);
      return message(() => prepareKernel('k.elf', b, RAM, 64 * MiB));
    };
    expect(at(32, 0xffff_ffff_ffff_ffc0n, false)).toMatch(/program headers past the end of the file/);
    expect(at(8, 0xffff_ffff_ffff_fff0n)).toMatch(/segment 0 is past the end of the file/);
    expect(at(32, 0x1_0000n)).toMatch(/segment 0 has more file bytes \(65536\) than memory \(16\)/);
    // paddr + memsz wraps 2^64 in C; here it is simply outside RAM.
    expect(at(24, 0xffff_ffff_ffff_fff8n)).toMatch(
      /needs guest memory 0xfffffffffffffff8-0x10000000000000008/,
    );
    expect(at(40, 0xffff_ffff_ffff_ff00n)).toMatch(/raise --mem/);
    expect(at(24, 0x7fn, false)).toMatch(/entry point 0x7f is outside RAM/);
    const none = good();
    new DataView(none.buffer).setUint16(56, 0, true);
    expect(message(() => prepareKernel('k.elf', none, RAM, 64 * MiB))).toMatch(/no program headers/);
    const cls = good();
    cls[4] = 7;
    expect(message(() => prepareKernel('k.elf', cls, RAM, 64 * MiB))).toMatch(/ELF class 7/);
  });

  it('seeded random mutations of the ELF and program headers: a VmConfigError or a kernel inside RAM', () => {
    // xorshift32, seeded: the same mutations every run.
    let seed = 0x5eed_1234;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    // Every header field read, as [offset, bytes]: class, data, machine, entry, phoff, phentsize, phnum, then p_type..p_memsz.
    const FIELDS = [
      [4, 1],
      [5, 1],
      [18, 2],
      [24, 8],
      [32, 8],
      [54, 2],
      [56, 2],
      [64, 4],
      [72, 8],
      [80, 8],
      [88, 8],
      [96, 8],
      [104, 8],
    ] as const;
    const base = good();
    const len = BigInt(base.length);
    const SPECIAL = [
      0n,
      1n,
      8n,
      55n,
      56n,
      57n,
      64n,
      len - 56n,
      len - 8n,
      len - 1n,
      len,
      0xffffn,
      2n ** 31n,
      2n ** 32n,
      2n ** 53n + 1n,
      BigInt(RAM),
      BigInt(RAM + 64 * MiB) - 8n,
      2n ** 63n,
      2n ** 64n - 1n,
    ];
    let refused = 0;
    for (let n = 0; n < 20_000; n++) {
      const b = base.slice(0, rand() < 0.05 ? Math.floor(rand() * base.length) : base.length);
      const dv = new DataView(b.buffer);
      for (let m = 1 + Math.floor(rand() * 3); m > 0; m--) {
        const [at, size] = pick(FIELDS);
        if (at + size > b.length) continue;
        const v =
          rand() < 0.7
            ? pick(SPECIAL)
            : BigInt(Math.floor(rand() * 2 ** 32)) * BigInt(Math.floor(rand() * 2 ** 32));
        for (let i = 0; i < size; i++) dv.setUint8(at + i, Number((v >> BigInt(8 * i)) & 0xffn));
      }
      try {
        const k = prepareKernel('fuzz.elf', b, RAM, 64 * MiB);
        expect(k.entry).toBeGreaterThanOrEqual(RAM);
        expect(k.entry).toBeLessThan(RAM + 64 * MiB);
        for (const s of k.segments) {
          expect(s.gpa).toBeGreaterThanOrEqual(RAM);
          expect(s.gpa + s.memsz).toBeLessThanOrEqual(RAM + 64 * MiB);
          expect(s.data.length).toBeLessThanOrEqual(s.memsz);
        }
      } catch (e) {
        if (!(e instanceof VmConfigError)) throw new Error(`mutation ${n}: ${(e as Error).message}`);
        expect((e as Error).message).not.toContain('\n');
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(5000);
  });
});

describe('the --kernel file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vm-kfile-'));

  it('refuses a device, a directory and a FIFO without reading them (stat first)', () => {
    expect(message(() => readKernelFile('/dev/zero', 64 * MiB))).toBe(
      '--kernel /dev/zero: not a regular file',
    );
    expect(message(() => readKernelFile(dir, 64 * MiB))).toBe(`--kernel ${dir}: not a regular file`);
    const fifo = join(dir, 'fifo');
    if (spawnSync('mkfifo', [fifo]).status === 0)
      expect(message(() => readKernelFile(fifo, 64 * MiB))).toMatch(/not a regular file/);
  });

  it('refuses a file larger than guest RAM, and a missing one', () => {
    const big = join(dir, 'big.bin');
    writeFileSync(big, new Uint8Array(MiB + 1));
    expect(message(() => readKernelFile(big, MiB))).toBe(
      `--kernel ${big}: 1048577 bytes is larger than guest RAM (--mem 1M)`,
    );
    expect(readKernelFile(big, 2 * MiB)).toHaveLength(MiB + 1);
    expect(message(() => readKernelFile(join(dir, 'nope'), MiB))).toMatch(/: no such file$/);
  });
});
