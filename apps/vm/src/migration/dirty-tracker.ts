import { fail } from '@tsvirt/core-bus';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import {
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
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
 * Which RAM pages changed since the last look, as QEMU's
 * migration_bitmap_sync() asks: KVM's dirty log of the RAM memslot (vCPU
 * writes; KVM_MEM_LOG_DIRTY_PAGES on the slot, with
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 as QEMU enables it: KVM_GET_DIRTY_LOG
 * only reads the bits, and KVM_CLEAR_DIRTY_LOG clears exactly those and
 * write-protects their pages again, before they are sent, so a write
 * after the clear is seen by the next sync) merged with type1's bitmap of
 * the VFIO container (pages a
 * device wrote by DMA or still has pinned: VFIO_IOMMU_DIRTY_PAGES
 * START/GET_BITMAP, as QEMU's vfio_listener_log_sync() does).
 */
export class DirtyTracker {
  private slot: KvmMemorySlot | undefined;
  private vfioStarted = false;
  readonly pages: number;

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
    // Manual protect, without KVM_DIRTY_LOG_INITIALLY_SET: the first pass sends every page anyway.
    this.m.vm.enableCap({
      cap: KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
      flags: 0,
      args: [BigInt(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)],
    });
    this.setLogging(s, true);
    this.slot = this.ramSlot();
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

  /** The pages dirtied since start() or the last sync(), one bit per RAM page (bit i of byte i >> 3). */
  sync(): Uint8Array {
    const slot = this.slot;
    if (slot === undefined) fail('EINVAL', 'dirty logging is not started');
    const log = { slot: slot.slot, dirty_bitmap: new Uint8Array(slot.dirtyBitmapBytes) };
    this.m.vm.getDirtyLog(log);
    const bits = log.dirty_bitmap;
    // Re-protect what was reported, now, before the caller sends those pages (QEMU's
    // migration_clear_memory_region_dirty_bitmap()); the whole slot in one call.
    this.m.vm.clearDirtyLog({
      slot: slot.slot,
      first_page: 0n,
      num_pages: slot.npages,
      dirty_bitmap: bits.slice(),
    });
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
