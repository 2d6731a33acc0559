import type { Arm64Vcpu } from '@tsvirt/arm64-core';

/** ESR_EL2 ISS fields of a data abort (Arm ARM D17.2.37, "ISS encoding for a Data Abort"). */
export const ESR_ELX_ISV = 1 << 24;
/** SAS: access size, log2 bytes. */
export const ESR_ELX_SAS_SHIFT = 22;
/** SSE: the load sign-extends. */
export const ESR_ELX_SSE = 1 << 21;
/** SRT: the transfer register. */
export const ESR_ELX_SRT_SHIFT = 16;
/** SF: a 64-bit register (else 32-bit, zero-extended). */
export const ESR_ELX_SF = 1 << 15;
/** CM: a cache maintenance instruction faulted. */
export const ESR_ELX_CM = 1 << 8;
/** S1PTW: the fault happened on a stage-1 table walk. */
export const ESR_ELX_S1PTW = 1 << 7;
/** WnR: a write. */
export const ESR_ELX_WNR = 1 << 6;
/** IL: a 32-bit instruction trapped. */
export const ESR_ELX_IL = 1 << 25;
/** The fault status code. */
export const ESR_ELX_FSC = 0x3f;
/** Fault status type (ESR_ELx_FSC_TYPE): translation, access flag or permission, whatever the level. */
export const ESR_ELX_FSC_TYPE = 0x3c;
/** Translation fault. */
export const ESR_ELX_FSC_FAULT = 0x04;
/** Access flag fault. */
export const ESR_ELX_FSC_ACCESS = 0x08;
/** Permission fault. */
export const ESR_ELX_FSC_PERM = 0x0c;
/** Synchronous external abort. */
export const ESR_ELX_FSC_EXTABT = 0x10;

/** What the trapping load/store does, from the syndrome (kvm_vcpu_dabt_*()). */
export interface MmioDecode {
  /** A store. */
  isWrite: boolean;
  /** Access size in bytes (1 << SAS). */
  len: number;
  /** The transfer register (31 is XZR). */
  rt: number;
  /** A load sign-extends (SSE). */
  signExtend: boolean;
  /** The register is 64-bit (SF); else a load is truncated to 32 bits. */
  sixtyFour: boolean;
  /** The guest's data accesses are big-endian at the faulting EL. */
  bigEndian: boolean;
}

/** Decode a data abort syndrome with ISV set; undefined without ISV (no syndrome to emulate from). */
export function decodeDabt(esr: number, bigEndian: boolean): MmioDecode | undefined {
  if ((esr & ESR_ELX_ISV) === 0) return undefined;
  return {
    isWrite: (esr & ESR_ELX_WNR) !== 0,
    len: 1 << ((esr >>> ESR_ELX_SAS_SHIFT) & 3),
    rt: (esr >>> ESR_ELX_SRT_SHIFT) & 31,
    signExtend: (esr & ESR_ELX_SSE) !== 0,
    sixtyFour: (esr & ESR_ELX_SF) !== 0,
    bigEndian,
  };
}

/** vcpu_get_reg(): XZR reads as 0. */
function getReg(cpu: Arm64Vcpu, n: number): bigint {
  return n === 31 ? 0n : cpu.x[n]!;
}

/** A value of `len` bytes byte-swapped (vcpu_data_guest_to_host() / _host_to_guest() for a big-endian guest). */
function swap(v: bigint, len: number): bigint {
  let r = 0n;
  for (let i = 0; i < len; i++) {
    r = (r << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return r;
}

/** The bytes a store writes (io_mem_abort(): the register's low `len` bytes, in the guest's endianness). */
export function mmioStoreData(cpu: Arm64Vcpu, d: MmioDecode, out: Uint8Array): Uint8Array {
  let v = BigInt.asUintN(d.len * 8, getReg(cpu, d.rt));
  if (d.bigEndian) v = swap(v, d.len);
  const data = out.subarray(0, d.len);
  for (let i = 0; i < d.len; i++) {
    data[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return data;
}

/**
 * kvm_handle_mmio_return(): a load's data into Rt (sign-extended under SSE,
 * cut to 32 bits without SF; XZR discards it), then step past the instruction.
 */
export function mmioComplete(cpu: Arm64Vcpu, d: MmioDecode, data: Uint8Array): void {
  if (!d.isWrite) {
    let v = 0n;
    for (let i = d.len - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i] ?? 0);
    if (d.bigEndian) v = swap(v, d.len);
    if (d.signExtend && d.len < 8) v = BigInt.asUintN(64, BigInt.asIntN(d.len * 8, v));
    if (!d.sixtyFour) v &= 0xffff_ffffn;
    if (d.rt !== 31) cpu.x[d.rt] = v;
  }
  cpu.pc += 4n;
}
