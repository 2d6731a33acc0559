import { fail } from '@tsvirt/core-bus';
import { PCI_CFG_SPACE_SIZE } from '@tsvirt/vfio-mpci';
import { DRM_FORMAT_XRGB8888, RING_MAX_ENTRIES, SGPU_DEVICE_ID, SGPU_VENDOR_ID } from './spec.ts';

/** The BAR0 register file (SPEC.md), as plain u32 numbers. */
export interface GpuRegs {
  modeWidth: number;
  modeHeight: number;
  modeStride: number;
  modeFormat: number;
  modeOffset: number;
  modeEnable: number;
  intStatus: number;
  intEnable: number;
  ringBaseLo: number;
  ringBaseHi: number;
  ringSize: number;
  ringHead: number;
  ringTail: number;
  fenceValue: number;
  errorCode: number;
  errorIndex: number;
}

/** The mode latched when MODE_ENABLE accepted it. */
export interface Scanout {
  width: number;
  height: number;
  stride: number;
  format: number;
  offset: number;
}

export interface GpuState {
  vramSize: number;
  config: Uint8Array;
  regs: GpuRegs;
  scanout: Scanout | undefined;
  vram: Uint8Array;
}

/** 'SGPU' little-endian. */
export const SGPU_STATE_MAGIC = 0x55504753;
export const SGPU_STATE_MAJOR = 1;
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
/** This version's state section: config space, registers, scan-out flag + 5 fields. */
const STATE_V1 = PCI_CFG_SPACE_SIZE + REG_KEYS.length * 4 + 4 + 5 * 4;
const OP = 'sample_gpu_restore';

/**
 * The blob: a header (magic, major.minor version, VRAM size, the length of
 * the state section), the state section, then VRAM. A newer minor version
 * may append fields to the state section (skipped here); a newer major is
 * refused.
 */
export function encodeState(st: GpuState): Uint8Array {
  const out = new Uint8Array(HEADER + STATE_V1 + st.vramSize);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, SGPU_STATE_MAGIC, true);
  dv.setUint16(4, SGPU_STATE_MAJOR, true);
  dv.setUint16(6, SGPU_STATE_MINOR, true);
  dv.setUint32(8, st.vramSize, true);
  dv.setUint32(12, STATE_V1, true);
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
  out.set(st.vram, HEADER + STATE_V1);
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
  if (stateLen < STATE_V1) fail('EINVAL', `state section of ${stateLen} bytes is too short`, OP);
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
  return { vramSize, config, regs, scanout, vram: blob.subarray(HEADER + stateLen) };
}
