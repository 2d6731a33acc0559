import { fail } from '@tsvirt/core-bus';
import { PCI_CFG_SPACE_SIZE } from '@tsvirt/vfio-mpci';
import { decodeCommand, type EngineState } from './dma-engine.ts';
import {
  CMD_SIZE,
  DRM_FORMAT_XRGB8888,
  ENGINE_CHUNK_BYTES,
  INT_ERROR,
  OP_COPY_FROM_VRAM,
  OP_COPY_TO_VRAM,
  OP_FILL,
  RING_MAX_ENTRIES,
  SGPU_DEVICE_ID,
  SGPU_VENDOR_ID,
} from './spec.ts';

/** The BAR0 register file (SPEC.md), as plain u32 numbers. */
export interface GpuRegs {
  /** MODE_WIDTH. */
  modeWidth: number;
  /** MODE_HEIGHT. */
  modeHeight: number;
  /** MODE_STRIDE. */
  modeStride: number;
  /** MODE_FORMAT. */
  modeFormat: number;
  /** MODE_OFFSET. */
  modeOffset: number;
  /** MODE_ENABLE. */
  modeEnable: number;
  /** INT_STATUS. */
  intStatus: number;
  /** INT_ENABLE. */
  intEnable: number;
  /** RING_BASE_LO. */
  ringBaseLo: number;
  /** RING_BASE_HI. */
  ringBaseHi: number;
  /** RING_SIZE. */
  ringSize: number;
  /** RING_HEAD. */
  ringHead: number;
  /** RING_TAIL. */
  ringTail: number;
  /** FENCE_VALUE. */
  fenceValue: number;
  /** ERROR_CODE. */
  errorCode: number;
  /** ERROR_INDEX. */
  errorIndex: number;
}

/** The mode latched when MODE_ENABLE accepted it. */
export interface Scanout {
  /** Width in pixels. */
  width: number;
  /** Height in lines. */
  height: number;
  /** Bytes per line. */
  stride: number;
  /** DRM fourcc format. */
  format: number;
  /** VRAM offset of the framebuffer. */
  offset: number;
}

/** One GPU instance as saved and restored: config space, registers, scanout, DMA engine and VRAM. */
export interface GpuState {
  /** VRAM size in bytes. */
  vramSize: number;
  /** The 256 bytes of config space. */
  config: Uint8Array;
  /** The BAR0 registers. */
  regs: GpuRegs;
  /** The latched scan-out mode, if the display is on. */
  scanout: Scanout | undefined;
  /** The DMA engine between slices (idle in a major-1 blob, whose engine was synchronous). */
  engine: EngineState;
  /** VRAM contents. */
  vram: Uint8Array;
}

/** 'SGPU' little-endian. */
export const SGPU_STATE_MAGIC = 0x55504753;
/** Major version of the state blob; a different major is refused. */
export const SGPU_STATE_MAJOR = 2;
/** Minor version of the state blob. */
export const SGPU_STATE_MINOR = 0;
const REG_KEYS: readonly (keyof GpuRegs)[] = [
  'modeWidth',
  'modeHeight',
  'modeStride',
  'modeFormat',
  'modeOffset',
  'modeEnable',
  'intStatus',
  'intEnable',
  'ringBaseLo',
  'ringBaseHi',
  'ringSize',
  'ringHead',
  'ringTail',
  'fenceValue',
  'errorCode',
  'errorIndex',
];
/** magic u32, major u16, minor u16, vram size u32, state length u32. */
const HEADER = 16;
/** Major 1's state section: config space, registers, scan-out flag + 5 fields. */
const STATE_V1 = PCI_CFG_SPACE_SIZE + REG_KEYS.length * 4 + 4 + 5 * 4;
/** Major 2 appends the engine: busy, in-flight flag, progress, the in-flight command. */
const STATE_V2 = STATE_V1 + 3 * 4 + CMD_SIZE;
const OP = 'sample_gpu_restore';

/**
 * The blob: a header (magic, major.minor version, VRAM size, the length of
 * the state section), the state section, then VRAM. A newer minor version
 * may append fields to the state section (skipped here); a newer major is
 * refused. Major 2 added the engine's in-flight state (the engine became
 * asynchronous); a major-1 blob still restores, with the engine idle, which
 * is the only state a major-1 device was in between register accesses.
 */
export function encodeState(st: GpuState): Uint8Array {
  const out = new Uint8Array(HEADER + STATE_V2 + st.vramSize);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, SGPU_STATE_MAGIC, true);
  dv.setUint16(4, SGPU_STATE_MAJOR, true);
  dv.setUint16(6, SGPU_STATE_MINOR, true);
  dv.setUint32(8, st.vramSize, true);
  dv.setUint32(12, STATE_V2, true);
  let at = HEADER;
  out.set(st.config, at);
  at += PCI_CFG_SPACE_SIZE;
  for (const k of REG_KEYS) {
    dv.setUint32(at, st.regs[k] >>> 0, true);
    at += 4;
  }
  const s = st.scanout;
  dv.setUint32(at, s === undefined ? 0 : 1, true);
  at += 4;
  for (const v of s === undefined ? [0, 0, 0, 0, 0] : [s.width, s.height, s.stride, s.format, s.offset]) {
    dv.setUint32(at, v >>> 0, true);
    at += 4;
  }
  const e = st.engine;
  dv.setUint32(at, e.busy ? 1 : 0, true);
  dv.setUint32(at + 4, e.inflight === undefined ? 0 : 1, true);
  dv.setUint32(at + 8, e.progress, true);
  if (e.inflight !== undefined) out.set(e.inflight, at + 12);
  out.set(st.vram, HEADER + STATE_V2);
  return out;
}

/** Parse and check a blob for a device with `vramSize` bytes of VRAM; EINVAL on any mismatch. */
export function decodeState(blob: Uint8Array, vramSize: number): GpuState {
  if (!(blob instanceof Uint8Array) || blob.length < HEADER) fail('EINVAL', 'state blob is truncated', OP);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (dv.getUint32(0, true) !== SGPU_STATE_MAGIC)
    fail('EINVAL', 'not a sample GPU state blob (bad magic)', OP);
  const major = dv.getUint16(4, true);
  const minor = dv.getUint16(6, true);
  if (major > SGPU_STATE_MAJOR)
    fail(
      'EINVAL',
      `state blob version ${major}.${minor} is newer than this driver's ${SGPU_STATE_MAJOR}.${SGPU_STATE_MINOR}`,
      OP,
    );
  if (major < 1) fail('EINVAL', `state blob version ${major}.${minor} is unknown`, OP);
  const size = dv.getUint32(8, true);
  if (size !== vramSize) fail('EINVAL', `blob has ${size} bytes of VRAM, the device ${vramSize}`, OP);
  const stateLen = dv.getUint32(12, true);
  if (stateLen < (major === 1 ? STATE_V1 : STATE_V2))
    fail('EINVAL', `state section of ${stateLen} bytes is too short`, OP);
  if (blob.length !== HEADER + stateLen + vramSize) fail('EINVAL', 'state blob length is wrong', OP);
  let at = HEADER;
  const config = blob.slice(at, at + PCI_CFG_SPACE_SIZE);
  at += PCI_CFG_SPACE_SIZE;
  const cdv = new DataView(config.buffer);
  if (cdv.getUint16(0, true) !== SGPU_VENDOR_ID || cdv.getUint16(2, true) !== SGPU_DEVICE_ID)
    fail('EINVAL', 'config space is not a sample GPU', OP);
  const regs = {} as GpuRegs;
  for (const k of REG_KEYS) {
    regs[k] = dv.getUint32(at, true);
    at += 4;
  }
  const on = dv.getUint32(at, true);
  at += 4;
  const f: number[] = [];
  for (let i = 0; i < 5; i++, at += 4) f.push(dv.getUint32(at, true));
  const scanout =
    on === 1 ? { width: f[0]!, height: f[1]!, stride: f[2]!, format: f[3]!, offset: f[4]! } : undefined;
  const engine: EngineState = { busy: false, inflight: undefined, progress: 0 };
  let busy = 0;
  let hasInflight = 0;
  if (major >= 2) {
    busy = dv.getUint32(at, true);
    hasInflight = dv.getUint32(at + 4, true);
    engine.busy = busy === 1;
    engine.progress = dv.getUint32(at + 8, true);
    if (hasInflight === 1) engine.inflight = blob.slice(at + 12, at + 12 + CMD_SIZE);
  }
  // The state must be one the device could have reached.
  const rs = regs.ringSize;
  if (rs !== 0 && (rs > RING_MAX_ENTRIES || (rs & (rs - 1)) !== 0)) fail('EINVAL', `bad ring size ${rs}`, OP);
  if (regs.ringHead >= Math.max(rs, 1) || regs.ringTail >= Math.max(rs, 1))
    fail('EINVAL', 'ring head/tail outside the ring', OP);
  if (on > 1 || (on === 1) !== (regs.modeEnable === 1) || regs.modeEnable > 1)
    fail('EINVAL', 'scan-out and MODE_ENABLE disagree', OP);
  if (
    scanout !== undefined &&
    (scanout.format !== DRM_FORMAT_XRGB8888 ||
      scanout.width < 1 ||
      scanout.height < 1 ||
      scanout.stride < scanout.width * 4 ||
      scanout.offset + scanout.stride * (scanout.height - 1) + scanout.width * 4 > vramSize)
  )
    fail('EINVAL', 'scan-out mode is invalid', OP);
  checkEngine(engine, busy, hasInflight, regs, vramSize);
  return { vramSize, config, regs, scanout, engine, vram: blob.subarray(HEADER + stateLen) };
}

/**
 * The engine state must be one the engine stops a slice in: busy only with
 * a ring, no ERROR, and a command left; an in-flight command only while
 * busy, part-way through a data command that passed its checks, at a chunk
 * boundary.
 */
function checkEngine(
  e: EngineState,
  busy: number,
  hasInflight: number,
  regs: GpuRegs,
  vramSize: number,
): void {
  if (busy > 1 || hasInflight > 1) fail('EINVAL', 'engine flags are not booleans', OP);
  if (!e.busy) {
    if (e.inflight !== undefined || e.progress !== 0)
      fail('EINVAL', 'an idle engine has a command in flight', OP);
    return;
  }
  if (regs.ringSize === 0 || (regs.intStatus & INT_ERROR) !== 0)
    fail('EINVAL', 'a busy engine without a ring or with ERROR set', OP);
  if (e.inflight === undefined) {
    if (e.progress !== 0 || regs.ringHead === regs.ringTail)
      fail('EINVAL', 'a busy engine with nothing to run', OP);
    return;
  }
  const c = decodeCommand(e.inflight);
  if (c.opcode !== OP_FILL && c.opcode !== OP_COPY_TO_VRAM && c.opcode !== OP_COPY_FROM_VRAM)
    fail('EINVAL', `in-flight opcode ${c.opcode} is not a data command`, OP);
  if (c.length % 4 !== 0 || c.vramOffset + c.length > vramSize)
    fail('EINVAL', 'in-flight command would not have passed its checks', OP);
  if (e.progress === 0 || e.progress >= c.length || e.progress % ENGINE_CHUNK_BYTES !== 0)
    fail('EINVAL', `in-flight progress ${e.progress} is not a chunk boundary inside the command`, OP);
}
