import { describe, expect, it } from 'vitest';
import { VmConfigError } from '../src/config-error.ts';
import { prepareKernel } from '../src/kernel-loader.ts';
import { parseMemSize } from '../src/size.ts';

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
});
