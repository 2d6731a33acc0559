import { expandCompressed, type Hart } from '@tsvirt/riscv-hart';

/** struct kvm_mmio_decode: what the trapping load/store does. */
export interface MmioDecode {
  /** True for a store. */
  isWrite: boolean;
  /** Access width in bytes. */
  len: number;
  /** Destination register of a load / source register of a store. */
  reg: number;
  /** A load sign-extends (LB/LH/LW; LD needs none). */
  signed: boolean;
  /** Bytes to advance sepc by once the access completes. */
  insnLen: number;
}

const LOAD_LEN = [1, 2, 4, 8, 1, 2, 4];

/**
 * Decode the access of a faulting load/store as kvm_riscv_vcpu_mmio_load() /
 * _store() do: from htinst's transformed instruction (bit 1 clear: it came
 * from a compressed one, 2 bytes long) or, without htinst, from the raw
 * instruction read at sepc (compressed ones expanded first). Integer loads and
 * stores only; anything else is undefined (KVM answers EOPNOTSUPP).
 */
export function decodeMmio(insn: number, fromHtinst: boolean): MmioDecode | undefined {
  let insnLen = 4;
  let x = insn >>> 0;
  if (fromHtinst) {
    if ((x & 1) === 0) return undefined;
    if ((x & 2) === 0) {
      insnLen = 2;
      x |= 2;
    }
  } else if ((x & 3) !== 3) {
    insnLen = 2;
    x = expandCompressed(x & 0xffff);
    if ((x & 3) !== 3) return undefined;
  }
  const opcode = x & 0x7f;
  const f3 = (x >>> 12) & 7;
  if (opcode === 0x03) {
    if (f3 === 7) return undefined;
    return { isWrite: false, len: LOAD_LEN[f3]!, reg: (x >>> 7) & 31, signed: f3 < 3, insnLen };
  }
  if (opcode === 0x23) {
    if (f3 > 3) return undefined;
    return { isWrite: true, len: 1 << f3, reg: (x >>> 20) & 31, signed: false, insnLen };
  }
  return undefined;
}

/** The bytes a store writes: the low `len` bytes of its source register, little-endian. */
export function mmioStoreData(hart: Hart, d: MmioDecode, out: Uint8Array): Uint8Array {
  let v = BigInt.asUintN(64, hart.getX(d.reg));
  const data = out.subarray(0, d.len);
  for (let i = 0; i < d.len; i++) {
    data[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return data;
}

/** kvm_riscv_vcpu_mmio_return(): load the read data into rd (extended) and step past the instruction. */
export function mmioComplete(hart: Hart, d: MmioDecode, data: Uint8Array): void {
  if (!d.isWrite) {
    let v = 0n;
    for (let i = d.len - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i] ?? 0);
    const bits = d.len * 8;
    hart.setX(d.reg, d.signed ? BigInt.asIntN(bits, v) : v);
  }
  hart.pc += BigInt(d.insnLen);
}
