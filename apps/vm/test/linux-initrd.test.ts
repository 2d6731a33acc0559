import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromDtb } from '@tsvirt/fdt';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { VmConfigError } from '../src/config-error.ts';
import { kernelFootprint, placeInitrd } from '../src/initrd.ts';
import { Machine } from '../src/machine.ts';

const MiB = 2 ** 20;
const ENTRY = 0x8020_0000;

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VmConfigError);
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

/** A flat "kernel" with a RISC-V Image header claiming `imageSize` bytes of memory. */
function linuxImage(fileSize: number, imageSize: number): Uint8Array {
  const b = new Uint8Array(fileSize);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0x0000_006f, true); // j . (any code)
  dv.setBigUint64(16, BigInt(imageSize), true);
  b.set([0x52, 0x49, 0x53, 0x43, 0x56, 0, 0, 0], 48); // "RISCV\0\0\0"
  b.set([0x52, 0x53, 0x43, 0x05], 56); // "RSC\x05"
  return b;
}

async function machine(argv: string[], kernel: Uint8Array) {
  return Machine.create(parseArgs(argv), 'kernel.bin', kernel, () => {});
}

function dtbOf(m: Machine) {
  const head = new Uint8Array(8);
  m.mm.copyFromUser(m.ramHva + (m.dtbGpa - 0x8000_0000), head);
  const size = new DataView(head.buffer).getUint32(4);
  const blob = new Uint8Array(size);
  m.mm.copyFromUser(m.ramHva + (m.dtbGpa - 0x8000_0000), blob);
  return fromDtb(blob);
}

describe('--initrd', () => {
  it('is placed as QEMU places it: 128 MiB past the entry, or half-way into smaller RAM', () => {
    const at = (mem: number) =>
      placeInitrd({
        name: 'i',
        size: 4096,
        kernelEntry: ENTRY,
        kernelEnd: ENTRY + 4 * MiB,
        memBytes: mem,
        limit: 0x8000_0000 + mem - 2 * MiB,
      }).start;
    expect(at(256 * MiB)).toBe(ENTRY + 128 * MiB);
    expect(at(1024 * MiB)).toBe(ENTRY + 128 * MiB);
    expect(at(64 * MiB)).toBe(ENTRY + 32 * MiB);
  });

  it('refuses an initrd that would overlap the device tree or the kernel, and an empty one', () => {
    const base = { name: 'big.cpio', kernelEntry: ENTRY, memBytes: 64 * MiB, limit: 0x8000_0000 + 62 * MiB };
    expect(message(() => placeInitrd({ ...base, size: 40 * MiB, kernelEnd: ENTRY + MiB }))).toMatch(
      /--initrd big\.cpio: 41943040 bytes do not fit at 0x82200000.*raise --mem/,
    );
    expect(message(() => placeInitrd({ ...base, size: 4096, kernelEnd: ENTRY + 40 * MiB }))).toMatch(
      /do not fit/,
    );
    expect(message(() => placeInitrd({ ...base, size: 0, kernelEnd: ENTRY + MiB }))).toMatch(/empty/);
  });

  it("takes a Linux Image's memory size from its header, beyond the file", () => {
    expect(kernelFootprint(linuxImage(4096, 3 * MiB))).toBe(3 * MiB);
    expect(kernelFootprint(new Uint8Array(4096))).toBe(4096);
  });

  it('copies the file to RAM and names its range in /chosen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vm-initrd-'));
    const file = join(dir, 'initramfs.cpio');
    const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
    writeFileSync(file, bytes);
    const m = await machine(['--initrd', file, '--append', 'console=ttyS0'], linuxImage(8192, 2 * MiB));
    const chosen = dtbOf(m).find('/chosen')!;
    const start = chosen.cells('linux,initrd-start')!;
    const end = chosen.cells('linux,initrd-end')!;
    expect(start).toEqual([0, ENTRY + 128 * MiB]);
    expect(end).toEqual([0, ENTRY + 128 * MiB + bytes.length]);
    const inRam = new Uint8Array(bytes.length);
    m.mm.copyFromUser(m.ramHva + (ENTRY + 128 * MiB - 0x8000_0000), inRam);
    expect(inRam).toEqual(bytes);
    expect(chosen.strings('bootargs')).toEqual(['console=ttyS0']);
  });

  it('leaves /chosen without an initrd when none is given', async () => {
    const m = await machine([], linuxImage(8192, 2 * MiB));
    expect(dtbOf(m).find('/chosen')!.props.has('linux,initrd-start')).toBe(false);
  });

  it('refuses a missing file, and a kernel whose memory reaches the initrd, with one line', async () => {
    await expect(machine(['--initrd', '/nonexistent/initrd'], linuxImage(8192, 2 * MiB))).rejects.toThrow(
      '--initrd /nonexistent/initrd: no such file',
    );
    const dir = mkdtempSync(join(tmpdir(), 'vm-initrd-'));
    const file = join(dir, 'initrd');
    writeFileSync(file, new Uint8Array(4096));
    // 64 MiB of RAM puts the initrd 32 MiB past the entry, inside a 40 MiB kernel.
    await expect(machine(['--mem', '64M', '--initrd', file], linuxImage(8192, 40 * MiB))).rejects.toThrow(
      /--initrd .*initrd: 4096 bytes do not fit/,
    );
  });
});
