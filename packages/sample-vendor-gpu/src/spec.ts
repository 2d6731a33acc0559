/**
 * The hardware contract of the sample GPU, as SPEC.md states it: PCI
 * identity, BAR0 register offsets, command opcodes and error codes.
 */

export const SGPU_VENDOR_ID = 0x7e57;
export const SGPU_DEVICE_ID = 0x0001;
export const SGPU_CLASS_CODE = 0x038000;
export const SGPU_REVISION = 0x01;
/** The value of the ID register. */
export const SGPU_ID = 0x7e570001;

export const SGPU_BAR0_SIZE = 0x1000;
/** Offsets of the two capabilities in config space. */
export const SGPU_PM_CAP = 0x40;
export const SGPU_MSI_CAP = 0x50;

// BAR0 registers.
export const REG_ID = 0x000;
export const REG_VRAM_SIZE = 0x004;
export const REG_MODE_WIDTH = 0x010;
export const REG_MODE_HEIGHT = 0x014;
export const REG_MODE_STRIDE = 0x018;
export const REG_MODE_FORMAT = 0x01c;
export const REG_MODE_OFFSET = 0x020;
export const REG_MODE_ENABLE = 0x024;
export const REG_INT_STATUS = 0x030;
export const REG_INT_ENABLE = 0x034;
export const REG_RING_BASE_LO = 0x040;
export const REG_RING_BASE_HI = 0x044;
export const REG_RING_SIZE = 0x048;
export const REG_RING_HEAD = 0x04c;
export const REG_RING_TAIL = 0x050;
export const REG_FENCE_VALUE = 0x054;
export const REG_ERROR_CODE = 0x058;
export const REG_ERROR_INDEX = 0x05c;
export const REG_RESET = 0x060;
export const REG_ENGINE_STATUS = 0x064;

export const INT_FENCE = 1 << 0;
export const INT_ERROR = 1 << 1;
export const INT_ALL = INT_FENCE | INT_ERROR;

/** ENGINE_STATUS bit 0: the engine has commands to run (HEAD != TAIL and it was started). */
export const ENGINE_BUSY = 1 << 0;
/** The engine moves data in chunks of this many bytes; each chunk's DMA is all or nothing. */
export const ENGINE_CHUNK_BYTES = 64 << 10;

/** DRM_FORMAT_XRGB8888 (fourcc 'XR24'), the only scan-out format. */
export const DRM_FORMAT_XRGB8888 = 0x34325258;
export const MODE_MAX_DIM = 4096;
export const RING_MAX_ENTRIES = 4096;
export const CMD_SIZE = 32;

export const OP_FILL = 1;
export const OP_COPY_TO_VRAM = 2;
export const OP_COPY_FROM_VRAM = 3;
export const OP_FENCE = 4;

export const ERR_NONE = 0;
export const ERR_BAD_OPCODE = 1;
export const ERR_DMA_FAULT = 2;
export const ERR_VRAM_RANGE = 3;
export const ERR_BAD_MODE = 4;
export const ERR_RING_FAULT = 5;
export const ERR_DMA_DISABLED = 6;
export const ERR_BAD_LENGTH = 7;

/** One of the three types, carved from the parent's VRAM pool. */
export interface SgpuTypeSpec {
  readonly id: 'small' | 'medium' | 'large';
  readonly vramSize: number;
  readonly subsystemId: number;
}

export const SGPU_TYPES: readonly SgpuTypeSpec[] = [
  { id: 'small', vramSize: 4 << 20, subsystemId: 0x0010 },
  { id: 'medium', vramSize: 16 << 20, subsystemId: 0x0020 },
  { id: 'large', vramSize: 64 << 20, subsystemId: 0x0030 },
];
