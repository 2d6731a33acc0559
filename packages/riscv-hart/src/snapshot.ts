import { fail } from '@tsvirt/core-bus';
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
/** Version of the RVHT snapshot format. */
export const HART_SNAPSHOT_VERSION = 1;
const HEADER = 8;
const FIXED = HEADER + 8 + 8 + 8 + 32 * 8 + 64 * 4;
const SIZE = FIXED + SAVED_CSRS.length * 8;

/**
 * The architectural state as a versioned blob: magic, version, pc, instret,
 * priv/V, fcsr, x, f, then the CSRs of SAVED_CSRS in order (u64 each).
 * TLB contents and reservations are not architectural and are not saved.
 */
export function saveHart(h: Hart): Uint8Array {
  const out = new Uint8Array(SIZE);
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
  return out;
}

/** Restore a blob made by saveHart(); a bad blob is EINVAL and changes nothing. */
export function restoreHart(h: Hart, blob: Uint8Array): void {
  const what = 'hart restore';
  if (blob.byteLength < HEADER) fail('EINVAL', 'blob shorter than its header', what);
  const d = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (d.getUint32(0, true) !== HART_SNAPSHOT_MAGIC) fail('EINVAL', 'bad magic', what);
  const version = d.getUint32(4, true);
  if (version !== HART_SNAPSHOT_VERSION) fail('EINVAL', `unsupported version ${version}`, what);
  if (blob.byteLength !== SIZE) fail('EINVAL', `blob is ${blob.byteLength} bytes, expected ${SIZE}`, what);
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
  h.reservations.clear(h.resvId);
  h.setMode(priv, v);
  h.flushAllTlb();
}
