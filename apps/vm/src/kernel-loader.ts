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
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
/** sizeof(Elf64_Ehdr) and sizeof(Elf64_Phdr). */
const ELF64_EHDR_SIZE = 64;
const ELF64_PHDR_SIZE = 56;

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
  const ramEnd = ramBase + ramSize;
  const k = isElf(bytes) ? parseElf(name, bytes, ramBase, ramEnd) : flat(bytes);
  for (const s of k.segments) {
    if (s.gpa < ramBase || s.gpa + s.memsz > ramEnd) {
      throw new VmConfigError(
        `${name}: needs guest memory ${hex(s.gpa)}-${hex(s.gpa + s.memsz)}, but RAM is ${hex(ramBase)}-${hex(ramEnd)} (raise --mem)`,
      );
    }
  }
  if (k.entry < ramBase || k.entry >= ramEnd)
    throw new VmConfigError(`${name}: entry point ${hex(k.entry)} is outside RAM`);
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

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/**
 * A 64-bit little-endian RISC-V ELF's PT_LOAD segments and entry. Every
 * field read is checked before it is used, in 64-bit arithmetic: the
 * header's size and identity, the program header table (entries of exactly
 * sizeof(Elf64_Phdr), as binfmt_elf's load_elf_phdrs() demands, inside the
 * file), each segment's file bytes inside the file and no larger than its
 * memory size, and its physical range and the entry inside RAM.
 */
function parseElf(name: string, b: Uint8Array, ramBase: number, ramEnd: number): LoadedKernel {
  if (b.length < ELF64_EHDR_SIZE) throw new VmConfigError(`${name}: truncated ELF header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[5] !== ELFDATA2LSB) throw new VmConfigError(`${name}: not a little-endian ELF`);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_RISCV) throw new VmConfigError(`${name}: not a RISC-V kernel (ELF machine ${machine})`);
  if (b[4] === ELFCLASS32) throw new VmConfigError(`${name}: a 32-bit RISC-V ELF; this VM runs RV64 guests`);
  if (b[4] !== ELFCLASS64) throw new VmConfigError(`${name}: ELF class ${b[4]} is neither 32- nor 64-bit`);
  // Virtual addresses stay bigint: kernel ELFs link at 0xffffffff8..., beyond a double's exact range.
  const entry = dv.getBigUint64(24, true);
  const phoff = dv.getBigUint64(32, true);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phnum === 0) throw new VmConfigError(`${name}: ELF has no program headers`);
  if (phentsize !== ELF64_PHDR_SIZE)
    throw new VmConfigError(
      `${name}: program header entries of ${phentsize} bytes (an ELF64 one is ${ELF64_PHDR_SIZE})`,
    );
  if (phoff + BigInt(phnum * ELF64_PHDR_SIZE) > BigInt(b.length))
    throw new VmConfigError(`${name}: program headers past the end of the file`);
  const base = BigInt(ramBase);
  const end = BigInt(ramEnd);
  const segments: KernelSegment[] = [];
  let entryGpa: bigint | undefined;
  let top = 0n;
  for (let i = 0; i < phnum; i++) {
    const o = Number(phoff) + i * ELF64_PHDR_SIZE;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const offset = dv.getBigUint64(o + 8, true);
    const vaddr = dv.getBigUint64(o + 16, true);
    const paddr = dv.getBigUint64(o + 24, true);
    const filesz = dv.getBigUint64(o + 32, true);
    const memsz = dv.getBigUint64(o + 40, true);
    if (memsz === 0n) continue;
    if (filesz > memsz)
      throw new VmConfigError(`${name}: segment ${i} has more file bytes (${filesz}) than memory (${memsz})`);
    if (offset + filesz > BigInt(b.length))
      throw new VmConfigError(`${name}: segment ${i} is past the end of the file`);
    if (paddr < base || paddr + memsz > end)
      throw new VmConfigError(
        `${name}: needs guest memory ${hex(paddr)}-${hex(paddr + memsz)}, but RAM is ${hex(ramBase)}-${hex(ramEnd)} (raise --mem)`,
      );
    const at = Number(offset);
    segments.push({ gpa: Number(paddr), data: b.subarray(at, at + Number(filesz)), memsz: Number(memsz) });
    if (entryGpa === undefined && entry >= vaddr && entry - vaddr < memsz) entryGpa = paddr + (entry - vaddr);
    if (paddr + memsz > top) top = paddr + memsz;
  }
  if (segments.length === 0) throw new VmConfigError(`${name}: ELF has no loadable segments`);
  const start = entryGpa ?? entry;
  if (start < base || start >= end)
    throw new VmConfigError(`${name}: entry point ${hex(start)} is outside RAM`);
  return { format: 'elf', entry: Number(start), segments, end: Number(top) };
}
