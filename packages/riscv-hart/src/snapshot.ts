import { fail } from '@tsvirt/core-bus';
import { type HartAia, ISELECT_MASK } from './aia.ts';
import * as C from './csr.ts';
import type { Hart } from './hart.ts';

/** The CSRs in a save() blob, in order. */
export const SAVED_CSRS: readonly number[] = [
  C.CSR_MSTATUS,
  C.CSR_SIE,
  C.CSR_STVEC,
  C.CSR_SCOUNTEREN,
  C.CSR_SENVCFG,
  C.CSR_SSCRATCH,
  C.CSR_SEPC,
  C.CSR_SCAUSE,
  C.CSR_STVAL,
  C.CSR_SIP,
  C.CSR_STIMECMP,
  C.CSR_SATP,
  C.CSR_VSSTATUS,
  C.CSR_VSTVEC,
  C.CSR_VSSCRATCH,
  C.CSR_VSEPC,
  C.CSR_VSCAUSE,
  C.CSR_VSTVAL,
  C.CSR_VSTIMECMP,
  C.CSR_VSATP,
  C.CSR_HSTATUS,
  C.CSR_HEDELEG,
  C.CSR_HIDELEG,
  C.CSR_HIE,
  C.CSR_HTIMEDELTA,
  C.CSR_HCOUNTEREN,
  C.CSR_HENVCFG,
  C.CSR_HTVAL,
  C.CSR_HVIP,
  C.CSR_HTINST,
  C.CSR_HGATP,
];

/** "RVHT" little-endian. */
export const HART_SNAPSHOT_MAGIC = 0x54485652;
/**
 * Version of the RVHT snapshot format: 2 adds the AIA state (hgeie,
 * vsiselect and the guest interrupt files) after the CSRs. Version 1 blobs
 * are still read: they carry no AIA state, so the hart's is reset to its
 * power-on value (no guest file delivering, nothing pending or enabled).
 */
export const HART_SNAPSHOT_VERSION = 2;
const HEADER = 8;
const FIXED = HEADER + 8 + 8 + 8 + 32 * 8 + 64 * 4;
/** A version 1 blob's size: everything up to the CSRs. */
const SIZE_V1 = FIXED + SAVED_CSRS.length * 8;
/** The AIA part's head: GEILEN, N of the files, hgeie, vsiselect (u32 each). */
const AIA_HEAD = 16;

/** N of the hart's guest interrupt files (0 when it has none). */
function aiaIds(aia: HartAia): number {
  return aia.files[1]?.nrIds ?? 0;
}

/** Bytes the AIA part takes: the head, then per file eidelivery, eithreshold, the eip and eie words. */
function aiaSize(geilen: number, nrIds: number): number {
  return AIA_HEAD + geilen * (8 + 2 * ((nrIds + 1) >>> 5) * 4);
}

/**
 * The architectural state as a versioned blob: magic, version, pc, instret,
 * priv/V, fcsr, x, f, the CSRs of SAVED_CSRS in order (u64 each), then
 * the AIA state: GEILEN and N (which the restoring hart must have too),
 * hgeie, vsiselect, and each guest interrupt file's eidelivery,
 * eithreshold, eip and eie words (u32 each). hstatus.VGEIN, which binds
 * the guest to its file, is with the CSRs; hgeip is the files' signals,
 * recomputed. TLB contents and reservations are not architectural and are
 * not saved.
 */
export function saveHart(h: Hart): Uint8Array {
  const aia = h.aia;
  const nrIds = aiaIds(aia);
  const out = new Uint8Array(SIZE_V1 + aiaSize(aia.geilen, nrIds));
  const d = new DataView(out.buffer);
  d.setUint32(0, HART_SNAPSHOT_MAGIC, true);
  d.setUint32(4, HART_SNAPSHOT_VERSION, true);
  d.setBigUint64(8, h.pc, true);
  d.setFloat64(16, h.instret, true);
  out[24] = h.priv;
  out[25] = h.v;
  out[26] = h.frm;
  out[27] = h.fflags;
  let o = 32;
  for (let i = 0; i < 32; i++, o += 8) d.setBigInt64(o, h.x[i]!, true);
  for (let i = 0; i < 64; i++, o += 4) d.setUint32(o, h.f[i]!, true);
  for (const num of SAVED_CSRS) {
    d.setBigUint64(o, h.getCsr(num), true);
    o += 8;
  }
  d.setUint32(o, aia.geilen, true);
  d.setUint32(o + 4, nrIds, true);
  d.setUint32(o + 8, aia.hgeie >>> 0, true);
  d.setUint32(o + 12, aia.vsiselect, true);
  o += AIA_HEAD;
  for (let i = 1; i <= aia.geilen; i++) {
    const f = aia.files[i]!;
    d.setUint32(o, f.eidelivery, true);
    d.setUint32(o + 4, f.eithreshold, true);
    o += 8;
    for (const arr of [f.eip, f.eie])
      for (const w of arr) {
        d.setUint32(o, w, true);
        o += 4;
      }
  }
  return out;
}

/**
 * Check the AIA part of a version 2 blob at `o` against the hart: the same
 * GEILEN and N (a file's size is fixed by the hardware), hgeie within the
 * implemented bits, vsiselect within its WARL range, each file's
 * eidelivery 0 or 1, eithreshold within N's width and identity 0 never
 * pending or enabled. Returns nothing; EINVAL names what is wrong.
 */
function checkAia(h: Hart, d: DataView, o: number, what: string): void {
  const aia = h.aia;
  const geilen = d.getUint32(o, true);
  const nrIds = d.getUint32(o + 4, true);
  if (geilen !== aia.geilen || nrIds !== aiaIds(aia))
    fail(
      'EINVAL',
      `blob has ${geilen} guest interrupt files of ${nrIds} ids, this hart ${aia.geilen} of ${aiaIds(aia)}`,
      what,
    );
  const size = SIZE_V1 + aiaSize(geilen, nrIds);
  if (d.byteLength !== size) fail('EINVAL', `blob is ${d.byteLength} bytes, expected ${size}`, what);
  const hgeie = d.getUint32(o + 8, true);
  if ((hgeie & ~aia.hgeieMask) !== 0) fail('EINVAL', `hgeie 0x${hgeie.toString(16)} sets no file`, what);
  if (d.getUint32(o + 12, true) > ISELECT_MASK) fail('EINVAL', 'vsiselect out of range', what);
  o += AIA_HEAD;
  const words = (nrIds + 1) >>> 5;
  const thresholdMax = (1 << (32 - Math.clz32(nrIds))) - 1;
  for (let i = 1; i <= geilen; i++) {
    if (d.getUint32(o, true) > 1) fail('EINVAL', `guest file ${i}: bad eidelivery`, what);
    if (d.getUint32(o + 4, true) > thresholdMax) fail('EINVAL', `guest file ${i}: bad eithreshold`, what);
    if ((d.getUint32(o + 8, true) & 1) !== 0 || (d.getUint32(o + 8 + words * 4, true) & 1) !== 0)
      fail('EINVAL', `guest file ${i}: identity 0 pending or enabled`, what);
    o += 8 + 2 * words * 4;
  }
}

/** Apply a checked AIA part (version 2), or the power-on AIA state (`d` undefined: version 1). */
function applyAia(h: Hart, d: DataView | undefined, o: number): void {
  const aia = h.aia;
  aia.hgeie = d ? d.getUint32(o + 8, true) : 0;
  aia.vsiselect = d ? d.getUint32(o + 12, true) : 0;
  o += AIA_HEAD;
  for (let i = 1; i <= aia.geilen; i++) {
    const f = aia.files[i]!;
    if (d === undefined) {
      f.reset();
      continue;
    }
    f.eidelivery = d.getUint32(o, true);
    f.eithreshold = d.getUint32(o + 4, true);
    o += 8;
    for (const arr of [f.eip, f.eie])
      for (let w = 0; w < arr.length; w++, o += 4) arr[w] = d.getUint32(o, true);
    // hgeip follows the file's signal (HartAia's onSignal).
    f.update();
  }
  aia.onChange?.();
}

/**
 * Restore a blob made by saveHart() (version 2, or version 1 with the AIA
 * state reset); a bad blob is EINVAL and changes nothing.
 */
export function restoreHart(h: Hart, blob: Uint8Array): void {
  const what = 'hart restore';
  if (blob.byteLength < HEADER) fail('EINVAL', 'blob shorter than its header', what);
  const d = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (d.getUint32(0, true) !== HART_SNAPSHOT_MAGIC) fail('EINVAL', 'bad magic', what);
  const version = d.getUint32(4, true);
  if (version !== 1 && version !== HART_SNAPSHOT_VERSION)
    fail('EINVAL', `unsupported version ${version}`, what);
  if (version === 1 && blob.byteLength !== SIZE_V1)
    fail('EINVAL', `blob is ${blob.byteLength} bytes, expected ${SIZE_V1}`, what);
  if (version === HART_SNAPSHOT_VERSION) {
    if (blob.byteLength < SIZE_V1 + AIA_HEAD)
      fail('EINVAL', `blob is ${blob.byteLength} bytes, too short`, what);
    checkAia(h, d, SIZE_V1, what);
  }
  const priv = blob[24]!;
  const v = blob[25]!;
  if ((priv !== 0 && priv !== 1) || (v !== 0 && v !== 1))
    fail('EINVAL', `bad mode priv=${priv} v=${v}`, what);
  const instret = d.getFloat64(16, true);
  if (!Number.isSafeInteger(instret) || instret < 0) fail('EINVAL', 'bad instret', what);
  // Everything is valid: apply.
  h.pc = d.getBigUint64(8, true);
  h.instret = instret;
  h.frm = blob[26]! & 7;
  h.fflags = blob[27]! & 31;
  let o = 32;
  for (let i = 0; i < 32; i++, o += 8) h.x[i] = i === 0 ? 0n : d.getBigInt64(o, true);
  for (let i = 0; i < 64; i++, o += 4) h.f[i] = d.getUint32(o, true);
  for (const num of SAVED_CSRS) {
    h.setCsr(num, d.getBigUint64(o, true));
    o += 8;
  }
  applyAia(h, version === 1 ? undefined : d, o);
  h.reservations.clear(h.resvId);
  h.setMode(priv, v);
  h.flushAllTlb();
}
