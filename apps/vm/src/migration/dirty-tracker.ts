import { fail } from '@tsvirt/core-bus';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import {
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_MEM_LOG_DIRTY_PAGES,
  type KvmMemorySlot,
} from '@tsvirt/kvm-core';
import {
  ioctl,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
} from '@tsvirt/vfio-core';
import { RAM_BASE } from '../board/layout.ts';
import type { Machine } from '../machine.ts';

/** sizeof(struct vfio_iommu_type1_dirty_bitmap) + sizeof(struct vfio_iommu_type1_dirty_bitmap_get). */
const DIRTY_BITMAP_GET_ARGSZ = 8 + 40;

/**
 * Pages per KVM_CLEAR_DIRTY_LOG: QEMU's clear_bmap granularity
 * (clear-bitmap-shift, 18 there, i.e. 1 GiB of 4 KiB pages; 12 here, 16
 * MiB, so even a small guest's clearing is spread over its pass).
 */
export const CLEAR_CHUNK_PAGES = 1 << 12;

/**
 * Which RAM pages changed since the last look, as QEMU's
 * migration_bitmap_sync() asks: KVM's dirty log of the RAM memslot (vCPU
 * writes; KVM_MEM_LOG_DIRTY_PAGES on the slot) merged with type1's bitmap
 * of the VFIO container (pages a device wrote by DMA or still has pinned:
 * VFIO_IOMMU_DIRTY_PAGES START/GET_BITMAP, as QEMU's
 * vfio_listener_log_sync() does).
 *
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is enabled as QEMU enables it, with
 * KVM_DIRTY_LOG_INITIALLY_SET: turning logging on write-protects nothing
 * and every bit starts set, so the first pass (which sends every page
 * anyway) needs no bitmap from KVM. KVM_GET_DIRTY_LOG only reads the bits;
 * each CLEAR_CHUNK_PAGES chunk is cleared (KVM_CLEAR_DIRTY_LOG, which
 * write-protects exactly the pages whose bits it clears) just before the
 * first of its pages is sent (`beforeSend`, QEMU's
 * migration_clear_memory_region_dirty_bitmap()), so a write after that is
 * seen by the next sync and the cost of protecting is spread over the pass.
 */
export class DirtyTracker {
  private slot: KvmMemorySlot | undefined;
  private vfioStarted = false;
  readonly pages: number;
  /** The KVM bits not cleared yet, by chunk: what each chunk's KVM_CLEAR_DIRTY_LOG passes. */
  private kvmBits: Uint8Array | undefined;
  /** Chunks whose clear is still to be done before their first page goes. */
  private pending: Uint8Array = new Uint8Array(0);
  /** KVM_CLEAR_DIRTY_LOG calls made (for tests and the README's account of the first pass). */
  clears = 0;

  constructor(private readonly m: Machine) {
    this.pages = m.opts.mem / PAGE_SIZE;
  }

  private ramSlot(): KvmMemorySlot {
    const gfn = RAM_BASE / PAGE_SIZE;
    const s = this.m.vm.allMemslots().find((x) => x.baseGfn === gfn && x.asId === 0);
    if (s === undefined || s.npages !== this.pages) fail('ENOENT', 'no memslot covers all of guest RAM');
    return s;
  }

  private setLogging(s: KvmMemorySlot, on: boolean): void {
    this.m.vm.setUserMemoryRegion({
      slot: s.slot,
      flags: on ? s.flags | KVM_MEM_LOG_DIRTY_PAGES : s.flags & ~KVM_MEM_LOG_DIRTY_PAGES,
      guest_phys_addr: BigInt(s.baseGfn * PAGE_SIZE),
      memory_size: BigInt(s.npages * PAGE_SIZE),
      userspace_addr: BigInt(s.userspaceAddr),
    });
  }

  /** Start logging (QEMU's ram_init_bitmaps()): from here on every write to RAM is seen. */
  start(): void {
    const s = this.ramSlot();
    this.m.vm.enableCap({
      cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
      flags: 0,
      args: [BigInt(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)],
    });
    this.setLogging(s, true);
    this.slot = this.ramSlot();
    // Every bit starts set in KVM: each chunk is cleared with all of its bits before its pages go.
    this.kvmBits = new Uint8Array(this.slot.dirtyBitmapBytes).fill(0xff);
    this.pending = new Uint8Array(Math.ceil(this.pages / CLEAR_CHUNK_PAGES)).fill(1);
    const c = this.m.vfioContainer;
    if (c !== undefined) {
      try {
        ioctl(this.m.files, c, VFIO_IOMMU_DIRTY_PAGES, {
          argsz: 8,
          flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
        });
      } catch (e) {
        this.stop();
        throw e;
      }
      this.vfioStarted = true;
    }
  }

  /**
   * Page `page` is about to be read for sending: if its chunk has bits not
   * cleared yet, clear them now (KVM re-protects those pages), so a write
   * from here on is reported by the next sync.
   */
  beforeSend(page: number): void {
    const chunk = Math.floor(page / CLEAR_CHUNK_PAGES);
    if (this.pending[chunk] !== 1) return;
    this.pending[chunk] = 0;
    const slot = this.slot;
    if (slot === undefined) return;
    const first = chunk * CLEAR_CHUNK_PAGES;
    const num = Math.min(CLEAR_CHUNK_PAGES, slot.npages - first);
    const from = first / 8;
    const bitmap = this.kvmBits!.subarray(from, from + Math.ceil(num / 64) * 8);
    if (bitmap.every((b) => b === 0)) return;
    this.m.vm.clearDirtyLog({
      slot: slot.slot,
      first_page: BigInt(first),
      num_pages: num,
      dirty_bitmap: bitmap.slice(),
    });
    bitmap.fill(0);
    this.clears++;
  }

  /**
   * The pages dirtied since start() or the last sync(), one bit per RAM page
   * (bit i of byte i >> 3). KVM's bits are only read: their chunks are
   * cleared as their pages go (beforeSend); bits of a chunk not cleared yet
   * are reported again, so nothing is lost if a page was not sent.
   */
  sync(): Uint8Array {
    const slot = this.slot;
    if (slot === undefined) fail('EINVAL', 'dirty logging is not started');
    const log = { slot: slot.slot, dirty_bitmap: new Uint8Array(slot.dirtyBitmapBytes) };
    this.m.vm.getDirtyLog(log);
    this.kvmBits = log.dirty_bitmap.slice();
    for (let chunk = 0; chunk < this.pending.length; chunk++) {
      const from = (chunk * CLEAR_CHUNK_PAGES) / 8;
      const bytes = this.kvmBits.subarray(from, from + CLEAR_CHUNK_PAGES / 8);
      this.pending[chunk] = bytes.some((b) => b !== 0) ? 1 : 0;
    }
    const bits = log.dirty_bitmap;
    const c = this.m.vfioContainer;
    if (this.vfioStarted && c !== undefined) {
      const data = new Uint8Array(bits.length);
      ioctl(this.m.files, c, VFIO_IOMMU_DIRTY_PAGES, {
        argsz: DIRTY_BITMAP_GET_ARGSZ,
        flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
        data: {
          iova: BigInt(RAM_BASE),
          size: BigInt(this.m.opts.mem),
          bitmap: { pgsize: BigInt(PAGE_SIZE), size: BigInt(data.length), data },
        },
      });
      for (let i = 0; i < bits.length; i++) bits[i]! |= data[i]!;
    }
    return bits;
  }

  /** Stop logging (QEMU's ram_save_cleanup()): the memslot gets its flags back, type1 frees its bitmaps. */
  stop(): void {
    const c = this.m.vfioContainer;
    if (this.vfioStarted && c !== undefined) {
      this.vfioStarted = false;
      ioctl(this.m.files, c, VFIO_IOMMU_DIRTY_PAGES, { argsz: 8, flags: VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP });
    }
    if (this.slot !== undefined) {
      this.slot = undefined;
      this.kvmBits = undefined;
      this.setLogging(this.ramSlot(), false);
    }
  }
}

/** The page indexes whose bit is set. */
export function dirtyPages(bits: Uint8Array, limit: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < bits.length; b++) {
    const v = bits[b]!;
    if (v === 0) continue;
    for (let k = 0; k < 8; k++) if (v & (1 << k) && b * 8 + k < limit) out.push(b * 8 + k);
  }
  return out;
}
