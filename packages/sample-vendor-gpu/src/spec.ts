/**
 * The hardware contract of the sample GPU, as SPEC.md states it: PCI
 * identity, BAR0 register offsets, command opcodes and error codes.
 */

export const SGPU_VENDOR_ID = 0x7e57;
/** PCI device id. */
export const SGPU_DEVICE_ID = 0x0001;
/** PCI class code: display controller, other. */
export const SGPU_CLASS_CODE = 0x038000;
/** PCI revision id. */
export const SGPU_REVISION = 0x01;
/** The value of the ID register. */
export const SGPU_ID = 0x7e570001;

/** Size of BAR0, the register BAR. */
export const SGPU_BAR0_SIZE = 0x1000;
/** Offsets of the two capabilities in config space. */
export const SGPU_PM_CAP = 0x40;
/** Config offset of the MSI capability. */
export const SGPU_MSI_CAP = 0x50;

// BAR0 registers.
/** BAR0: ID register (read-only). */
export const REG_ID = 0x000;
/** BAR0: VRAM size in bytes (read-only). */
export const REG_VRAM_SIZE = 0x004;
/** BAR0: scan-out width in pixels. */
export const REG_MODE_WIDTH = 0x010;
/** BAR0: scan-out height in lines. */
export const REG_MODE_HEIGHT = 0x014;
/** BAR0: scan-out bytes per line. */
export const REG_MODE_STRIDE = 0x018;
/** BAR0: scan-out DRM fourcc format. */
export const REG_MODE_FORMAT = 0x01c;
/** BAR0: VRAM offset of the framebuffer. */
export const REG_MODE_OFFSET = 0x020;
/** BAR0: write 1 to validate and scan out, 0 to turn the display off. */
export const REG_MODE_ENABLE = 0x024;
/** BAR0: interrupt status (write 1 to clear). */
export const REG_INT_STATUS = 0x030;
/** BAR0: interrupt enable. */
export const REG_INT_ENABLE = 0x034;
/** BAR0: command ring IOVA, low 32 bits. */
export const REG_RING_BASE_LO = 0x040;
/** BAR0: command ring IOVA, high 32 bits. */
export const REG_RING_BASE_HI = 0x044;
/** BAR0: ring size in entries; a write resets HEAD and TAIL. */
export const REG_RING_SIZE = 0x048;
/** BAR0: index of the next command the engine runs (read-only). */
export const REG_RING_HEAD = 0x04c;
/** BAR0: doorbell; index after the last queued command. */
export const REG_RING_TAIL = 0x050;
/** BAR0: value of the last completed FENCE (read-only). */
export const REG_FENCE_VALUE = 0x054;
/** BAR0: last error code, 0 for none (read-only). */
export const REG_ERROR_CODE = 0x058;
/** BAR0: ring index of the failing command (read-only). */
export const REG_ERROR_INDEX = 0x05c;
/** BAR0: write 1 to reset the device. */
export const REG_RESET = 0x060;
/** BAR0: engine status (read-only). */
export const REG_ENGINE_STATUS = 0x064;

/** Interrupt bit: a FENCE command completed. */
export const INT_FENCE = 1 << 0;
/** Interrupt bit: an error was recorded. */
export const INT_ERROR = 1 << 1;
/** All interrupt bits. */
export const INT_ALL = INT_FENCE | INT_ERROR;

/** ENGINE_STATUS bit 0: the engine has commands to run (HEAD != TAIL and it was started). */
export const ENGINE_BUSY = 1 << 0;
/** The engine moves data in chunks of this many bytes; each chunk's DMA is all or nothing. */
export const ENGINE_CHUNK_BYTES = 64 << 10;

/** DRM_FORMAT_XRGB8888 (fourcc 'XR24'), the only scan-out format. */
export const DRM_FORMAT_XRGB8888 = 0x34325258;
/** Largest scan-out width or height. */
export const MODE_MAX_DIM = 4096;
/** Largest ring size in entries. */
export const RING_MAX_ENTRIES = 4096;
/** Bytes per ring command. */
export const CMD_SIZE = 32;

/** Command opcode: fill VRAM with a 32-bit pattern. */
export const OP_FILL = 1;
/** Command opcode: copy guest memory to VRAM. */
export const OP_COPY_TO_VRAM = 2;
/** Command opcode: copy VRAM to guest memory. */
export const OP_COPY_FROM_VRAM = 3;
/** Command opcode: record a fence value and interrupt. */
export const OP_FENCE = 4;

/** Error code: none. */
export const ERR_NONE = 0;
/** Error code: unknown opcode. */
export const ERR_BAD_OPCODE = 1;
/** Error code: a DMA to or from guest memory faulted. */
export const ERR_DMA_FAULT = 2;
/** Error code: the VRAM range is out of bounds. */
export const ERR_VRAM_RANGE = 3;
/** Error code: MODE_ENABLE found an invalid mode. */
export const ERR_BAD_MODE = 4;
/** Error code: bad ring TAIL or ring base. */
export const ERR_RING_FAULT = 5;
/** Error code: doorbell with bus mastering off. */
export const ERR_DMA_DISABLED = 6;
/** Error code: length not a multiple of 4. */
export const ERR_BAD_LENGTH = 7;

/** One of the three types, carved from the parent's VRAM pool. */
export interface SgpuTypeSpec {
  /** Type name, as in the mdev type id. */
  readonly id: 'small' | 'medium' | 'large';
  /** VRAM bytes each instance gets. */
  readonly vramSize: number;
  /** PCI subsystem id of the type. */
  readonly subsystemId: number;
}

/** The three mdev types: small (4 MiB), medium (16 MiB) and large (64 MiB VRAM). */
export const SGPU_TYPES: readonly SgpuTypeSpec[] = [
  { id: 'small', vramSize: 4 << 20, subsystemId: 0x0010 },
  { id: 'medium', vramSize: 16 << 20, subsystemId: 0x0020 },
  { id: 'large', vramSize: 64 << 20, subsystemId: 0x0030 },
];
