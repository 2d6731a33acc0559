import { fail } from '@tsvirt/core-bus';

/**
 * The versioned blob of a type1 container's state (see VfioIommuType1.save()).
 * Layout, little endian: magic u32 'VT1C', version u32, flags u32 (bit 0 v2,
 * bit 1 dirty tracking on), count u32; then per mapping: iova u64, size u64,
 * vaddr u64, prot u32, flags u32 (bit 0 vaddr invalid), bitmap length u32 and
 * that many bytes of dirty bitmap (0 when tracking is off).
 */
export const TYPE1_STATE_MAGIC = 0x43315456; // 'VT1C'
/** The blob's version; restore refuses any other with EINVAL. */
export const TYPE1_STATE_VERSION = 1;

/** One mapping (struct vfio_dma) as saved: its range, user address, protection and dirty bitmap. */
export interface Type1SavedDma {
  /** IOVA of the mapping. */
  iova: bigint;
  /** Size in bytes. */
  size: bigint;
  /** Process virtual address backing the mapping. */
  vaddr: bigint;
  /** IOMMU_READ | IOMMU_WRITE. */
  prot: number;
  /** The vaddr was invalidated (VFIO_DMA_UNMAP_FLAG_VADDR) and not yet replaced. */
  vaddrInvalid: boolean;
  /** Dirty bitmap while tracking is on, one bit per page. */
  bitmap: Uint8Array | undefined;
}

/** A type1 container as saved: v1 or v2 semantics, dirty tracking on or off, and its mappings. */
export interface Type1SavedState {
  /** Type1 v2 semantics (VFIO_TYPE1v2_IOMMU) rather than v1. */
  v2: boolean;
  /** Dirty page tracking is on. */
  tracking: boolean;
  /** The mappings, by IOVA. */
  dmas: Type1SavedDma[];
}

/** Serializes a container's saved state into the versioned 'VT1C' blob described above. */
export function encodeType1State(s: Type1SavedState): Uint8Array {
  let len = 16;
  for (const d of s.dmas) len += 36 + (d.bitmap?.length ?? 0);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, TYPE1_STATE_MAGIC, true);
  v.setUint32(4, TYPE1_STATE_VERSION, true);
  v.setUint32(8, (s.v2 ? 1 : 0) | (s.tracking ? 2 : 0), true);
  v.setUint32(12, s.dmas.length, true);
  let at = 16;
  for (const d of s.dmas) {
    v.setBigUint64(at, d.iova, true);
    v.setBigUint64(at + 8, d.size, true);
    v.setBigUint64(at + 16, d.vaddr, true);
    v.setUint32(at + 24, d.prot, true);
    v.setUint32(at + 28, d.vaddrInvalid ? 1 : 0, true);
    const n = d.bitmap?.length ?? 0;
    v.setUint32(at + 32, n, true);
    at += 36;
    if (d.bitmap !== undefined) out.set(d.bitmap, at);
    at += n;
  }
  return out;
}

/** Parse a blob; EINVAL for a wrong magic, an unknown version or a truncated or malformed blob. */
export function decodeType1State(blob: Uint8Array): Type1SavedState {
  const OP = 'type1 restore';
  if (!(blob instanceof Uint8Array) || blob.length < 16) fail('EINVAL', 'blob too short', OP);
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (v.getUint32(0, true) !== TYPE1_STATE_MAGIC) fail('EINVAL', 'not a type1 container state', OP);
  const version = v.getUint32(4, true);
  if (version !== TYPE1_STATE_VERSION) fail('EINVAL', `unknown state version ${version}`, OP);
  const flags = v.getUint32(8, true);
  if ((flags & ~3) !== 0) fail('EINVAL', `unknown state flags ${flags}`, OP);
  const count = v.getUint32(12, true);
  const dmas: Type1SavedDma[] = [];
  let at = 16;
  for (let i = 0; i < count; i++) {
    if (at + 36 > blob.length) fail('EINVAL', 'blob truncated', OP);
    const n = v.getUint32(at + 32, true);
    if (at + 36 + n > blob.length) fail('EINVAL', 'blob truncated', OP);
    const dflags = v.getUint32(at + 28, true);
    if ((dflags & ~1) !== 0) fail('EINVAL', `unknown mapping flags ${dflags}`, OP);
    dmas.push({
      iova: v.getBigUint64(at, true),
      size: v.getBigUint64(at + 8, true),
      vaddr: v.getBigUint64(at + 16, true),
      prot: v.getUint32(at + 24, true),
      vaddrInvalid: (dflags & 1) !== 0,
      bitmap: n > 0 ? blob.slice(at + 36, at + 36 + n) : undefined,
    });
    at += 36 + n;
  }
  if (at !== blob.length) fail('EINVAL', 'trailing bytes after the last mapping', OP);
  return { v2: (flags & 1) !== 0, tracking: (flags & 2) !== 0, dmas };
}
