import { VmConfigError } from './config-error.ts';

/** The RISC-V Linux Image header (Documentation/arch/riscv/boot-image-header.rst). */
const IMAGE_SIZE_OFFSET = 16;
const IMAGE_MAGIC2_OFFSET = 56;
const IMAGE_MAGIC2 = 0x0543_5352; // "RSC\x05", little-endian

/**
 * How much memory a flat kernel occupies from its load address: a Linux
 * Image says so in its header (`image_size`, which covers BSS beyond the
 * file); anything else occupies its file size.
 */
export function kernelFootprint(bytes: Uint8Array): number {
  if (bytes.length >= 64) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dv.getUint32(IMAGE_MAGIC2_OFFSET, true) === IMAGE_MAGIC2) {
      const size = Number(dv.getBigUint64(IMAGE_SIZE_OFFSET, true));
      if (size > bytes.length) return size;
    }
  }
  return bytes.length;
}

export interface InitrdPlacement {
  /** Guest physical range [start, end) for linux,initrd-start / linux,initrd-end. */
  start: number;
  end: number;
}

/**
 * Where the initrd goes, as QEMU's riscv_load_initrd(): half-way into RAM
 * past the kernel's entry for boards under 256 MiB, 128 MiB past it
 * otherwise, far enough that the kernel's own memory cannot reach it and
 * low enough for the kernel's linear map. It must end below the device
 * tree (at the top of RAM) and start after the kernel; otherwise the
 * configuration is refused, as QEMU refuses an initrd that does not fit.
 */
export function placeInitrd(p: {
  name: string;
  size: number;
  kernelEntry: number;
  kernelEnd: number;
  memBytes: number;
  /** Lowest address the device tree (or anything else at the top of RAM) occupies. */
  limit: number;
}): InitrdPlacement {
  const start = p.kernelEntry + Math.min(Math.floor(p.memBytes / 2), 128 * 2 ** 20);
  const end = start + p.size;
  if (p.size === 0) throw new VmConfigError(`--initrd ${p.name}: the file is empty`);
  if (start < p.kernelEnd || end > p.limit) {
    throw new VmConfigError(
      `--initrd ${p.name}: ${p.size} bytes do not fit at 0x${start.toString(16)}, between the kernel (ends 0x${p.kernelEnd.toString(16)}) and the device tree (0x${p.limit.toString(16)}) (raise --mem)`,
    );
  }
  return { start, end };
}
