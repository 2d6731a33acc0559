import { fail } from '@tsvirt/core-bus';
import { splitSlot } from './memory-region.ts';
import type { KvmClearDirtyLog, KvmDirtyLog } from './structs.ts';
import type { KvmVm } from './vm.ts';

function maskOf(bm: Uint32Array, word64: number): bigint {
  return BigInt(bm[2 * word64]!) | (BigInt(bm[2 * word64 + 1]!) << 32n);
}

/**
 * KVM_GET_DIRTY_LOG (kvm_get_dirty_log_protect()). Without manual protect
 * the bitmap is snapshotted and cleared, and each 64-page word that had bits
 * is write-protected again through the arch; with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
 * the bits are only copied out, and KVM_CLEAR_DIRTY_LOG does the rest.
 */
export function kvmGetDirtyLog(vm: KvmVm, log: KvmDirtyLog): void {
  const { asId, id } = splitSlot(log.slot, 'KVM_GET_DIRTY_LOG');
  const slot = vm.memslotsFor(asId).get(id);
  const bm = slot?.dirtyBitmap;
  if (slot === undefined || bm === undefined)
    fail('ENOENT', `slot ${id} does not exist or does not log`, 'KVM_GET_DIRTY_LOG');
  const n = slot.dirtyBitmapBytes;
  let out = log.dirty_bitmap;
  if (out === undefined) out = log.dirty_bitmap = new Uint8Array(n);
  else if (out.length < n) fail('EFAULT', `dirty_bitmap needs ${n} bytes`, 'KVM_GET_DIRTY_LOG');
  // The bitmap's bytes as user space reads them: set_bit_le order (a little-endian host).
  out.set(new Uint8Array(bm.buffer, bm.byteOffset, n));
  if (vm.manualDirtyLogProtect) return;
  let flush = false;
  for (let w = 0; w < n / 8; w++) {
    if ((bm[2 * w]! | bm[2 * w + 1]!) === 0) continue;
    const mask = maskOf(bm, w);
    bm[2 * w] = 0;
    bm[2 * w + 1] = 0;
    vm.archOps.enableLogDirtyPtMasked(vm, slot, w * 64, mask);
    flush = true;
  }
  // kvm_flush_remote_tlbs_memslot(): stale writable translations must go before the bits are trusted.
  if (flush) vm.flushRemoteTlbs();
}

/**
 * KVM_CLEAR_DIRTY_LOG (kvm_clear_dirty_log_protect()): clear the bits given
 * in the user bitmap for pages [first_page, first_page + num_pages) and
 * write-protect exactly the pages whose bit was set. first_page must be a
 * multiple of 64, and num_pages too unless the range runs to the slot's end.
 */
export function kvmClearDirtyLog(vm: KvmVm, log: KvmClearDirtyLog): void {
  const S = 'KVM_CLEAR_DIRTY_LOG';
  const { asId, id } = splitSlot(log.slot, S);
  if (typeof log.first_page !== 'bigint' || log.first_page < 0n || log.first_page >= 1n << 64n)
    fail('EINVAL', 'first_page is not a u64', S);
  if (!Number.isInteger(log.num_pages) || log.num_pages < 0 || log.num_pages > 0xffff_ffff)
    fail('EINVAL', 'num_pages is not a u32', S);
  if (log.first_page & 63n) fail('EINVAL', 'first_page is not a multiple of 64', S);
  const slot = vm.memslotsFor(asId).get(id);
  const bm = slot?.dirtyBitmap;
  if (slot === undefined || bm === undefined) fail('ENOENT', `slot ${id} does not exist or does not log`, S);
  const npages = BigInt(slot.npages);
  const num = BigInt(log.num_pages);
  if (log.first_page > npages || num > npages - log.first_page)
    fail('EINVAL', 'range runs past the end of the slot', S);
  if (num < npages - log.first_page && num & 63n)
    fail('EINVAL', 'num_pages is not a multiple of 64 and does not reach the end of the slot', S);
  const words = Math.ceil(log.num_pages / 64);
  const src = log.dirty_bitmap;
  if (!(src instanceof Uint8Array) || src.length < words * 8)
    fail('EFAULT', `dirty_bitmap needs ${words * 8} bytes`, S);
  const first = Number(log.first_page);
  let flush = false;
  for (let i = 0; i < words; i++) {
    const w = first / 64 + i;
    const lo =
      (src[8 * i]! | (src[8 * i + 1]! << 8) | (src[8 * i + 2]! << 16) | (src[8 * i + 3]! << 24)) >>> 0;
    const hi =
      (src[8 * i + 4]! | (src[8 * i + 5]! << 8) | (src[8 * i + 6]! << 16) | (src[8 * i + 7]! << 24)) >>> 0;
    if ((lo | hi) === 0) continue;
    // Only bits that were set in the slot's bitmap are cleared and re-protected (fetch_andnot).
    const wasLo = bm[2 * w]! & lo;
    const wasHi = bm[2 * w + 1]! & hi;
    bm[2 * w] = bm[2 * w]! & ~lo;
    bm[2 * w + 1] = bm[2 * w + 1]! & ~hi;
    if ((wasLo | wasHi) === 0) continue;
    const mask = BigInt(wasLo >>> 0) | (BigInt(wasHi >>> 0) << 32n);
    vm.archOps.enableLogDirtyPtMasked(vm, slot, w * 64, mask);
    flush = true;
  }
  if (flush) vm.flushRemoteTlbs();
}
