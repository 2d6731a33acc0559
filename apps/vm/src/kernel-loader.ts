import { KERNEL_FLAT_LOAD } from './board/layout.ts';
import { VmConfigError } from './config-error.ts';

export interface KernelSegment {
  /** Guest physical address. */
  gpa: number;
  /** Bytes to copy; memory from data.length up to memsz is zeroed. */
  data: Uint8Array;
  memsz: number;
}

export interface LoadedKernel {
  format: 'elf' | 'flat';
  entry: number;
  segments: KernelSegment[];
  /** One past the highest guest physical byte the image occupies. */
  end: number;
}

const EM_RISCV = 243;
const PT_LOAD = 1;

/**
 * Prepare a kernel image for loading into RAM [ramBase, ramBase + ramSize):
 * a 64-bit little-endian RISC-V ELF is loaded by its program headers'
 * physical addresses (entry translated through the segment that holds it);
 * anything else is a flat binary loaded at 0x80200000, where OpenSBI's
 * fw_jump puts the next stage. Every refusal is a one-line VmConfigError.
 */
export function prepareKernel(
  name: string,
  bytes: Uint8Array,
  ramBase: number,
  ramSize: number,
): LoadedKernel {
  const k = isElf(bytes) ? parseElf(name, bytes) : flat(bytes);
  const ramEnd = ramBase + ramSize;
  for (const s of k.segments) {
    if (s.gpa < ramBase || s.gpa + s.memsz > ramEnd) {
      throw new VmConfigError(
        `${name}: needs guest memory 0x${s.gpa.toString(16)}-0x${(s.gpa + s.memsz).toString(16)}, but RAM is 0x${ramBase.toString(16)}-0x${ramEnd.toString(16)} (raise --mem)`,
      );
    }
  }
  if (k.entry < ramBase || k.entry >= ramEnd)
    throw new VmConfigError(`${name}: entry point 0x${k.entry.toString(16)} is outside RAM`);
  return k;
}

function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

function flat(bytes: Uint8Array): LoadedKernel {
  if (bytes.length === 0) throw new VmConfigError('kernel image is empty');
  return {
    format: 'flat',
    entry: KERNEL_FLAT_LOAD,
    segments: [{ gpa: KERNEL_FLAT_LOAD, data: bytes, memsz: bytes.length }],
    end: KERNEL_FLAT_LOAD + bytes.length,
  };
}

function parseElf(name: string, b: Uint8Array): LoadedKernel {
  if (b.length < 64) throw new VmConfigError(`${name}: truncated ELF header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[5] !== 1) throw new VmConfigError(`${name}: not a little-endian ELF`);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_RISCV) throw new VmConfigError(`${name}: not a RISC-V kernel (ELF machine ${machine})`);
  if (b[4] !== 2) throw new VmConfigError(`${name}: a 32-bit RISC-V ELF; this VM runs RV64 guests`);
  // Virtual addresses stay bigint: kernel ELFs link at 0xffffffff8..., beyond a double's exact range.
  const entry = dv.getBigUint64(24, true);
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phoff + phnum * phentsize > b.length)
    throw new VmConfigError(`${name}: program headers past the end of the file`);
  const segments: KernelSegment[] = [];
  let entryGpa: number | undefined;
  let end = 0;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const offset = Number(dv.getBigUint64(o + 8, true));
    const vaddr = dv.getBigUint64(o + 16, true);
    const paddr = Number(dv.getBigUint64(o + 24, true));
    const filesz = Number(dv.getBigUint64(o + 32, true));
    const memsz = Number(dv.getBigUint64(o + 40, true));
    if (memsz === 0) continue;
    if (offset + filesz > b.length || filesz > memsz)
      throw new VmConfigError(`${name}: segment ${i} is past the end of the file`);
    segments.push({ gpa: paddr, data: b.subarray(offset, offset + filesz), memsz });
    if (entry >= vaddr && entry < vaddr + BigInt(memsz)) entryGpa = paddr + Number(entry - vaddr);
    end = Math.max(end, paddr + memsz);
  }
  if (segments.length === 0) throw new VmConfigError(`${name}: ELF has no loadable segments`);
  return { format: 'elf', entry: entryGpa ?? Number(entry), segments, end };
}
