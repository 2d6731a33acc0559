import { readFileSync } from 'node:fs';
import { PAGE_SIZE } from '@tsvirt/host-mm';
import {
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_MEM_LOG_DIRTY_PAGES,
} from '@tsvirt/kvm-core';
import { errnoOf } from '@tsvirt/test-utils';
import type { VfioContainerFile } from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import { RAM_BASE } from '../src/board/layout.ts';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { CLEAR_CHUNK_PAGES, DirtyTracker, dirtyPages } from '../src/migration/dirty-tracker.ts';

/** The container's type1 backend, to write guest RAM as a device's DMA does (vfio_dma_rw()). */
function type1Of(m: Machine): {
  dmaRw(iova: bigint, data: Uint8Array, write: boolean): void;
  dirtyPageTracking: boolean;
} {
  const file = m.files.get(m.vfioContainer!) as VfioContainerFile;
  return file.container.iommu as unknown as ReturnType<typeof type1Of>;
}

const ramSlot = (m: Machine) => m.vm.allMemslots().find((s) => s.baseGfn === RAM_BASE / PAGE_SIZE)!;

describe('the dirty pages a live migration sends: KVM dirty log merged with type1 dirty bitmap', () => {
  it('vCPU-side writes (KVM) and device DMA (type1) are both reported once, then logging is off again', async () => {
    const opts = parseArgs(['--cpus', '1', '--mem', '64M']);
    const m = await Machine.create(opts, DEFAULT_GUEST, readFileSync(DEFAULT_GUEST), () => {});
    const tracker = new DirtyTracker(m);
    // Not started: nothing to read (KVM's ENOENT for a slot that does not log is not even asked).
    expect(errnoOf(() => tracker.sync())).toBe('EINVAL');
    const flagsBefore = ramSlot(m).flags;
    tracker.start();
    expect(ramSlot(m).flags & KVM_MEM_LOG_DIRTY_PAGES).toBe(KVM_MEM_LOG_DIRTY_PAGES);
    expect(type1Of(m).dirtyPageTracking).toBe(true);
    // KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with INITIALLY_SET, as QEMU: GET only reads, CLEAR
    // re-protects what is about to be sent, chunk by chunk.
    expect(m.vm.manualDirtyLogProtect).toBe(
      KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET,
    );
    // The first pass sends every page: each chunk is cleared before its first page goes.
    for (let p = 0; p < tracker.pages; p++) tracker.beforeSend(p);
    const baseline = new Set(dirtyPages(tracker.sync(), tracker.pages));
    expect(baseline.has(5)).toBe(false);
    expect(baseline.has(9)).toBe(false);

    // kvm_write_guest() on behalf of the guest marks page 5; a DMA write through type1 marks page 9.
    m.vm.writeGuest(RAM_BASE + 5 * PAGE_SIZE + 8, Uint8Array.of(1, 2, 3));
    type1Of(m).dmaRw(BigInt(RAM_BASE + 9 * PAGE_SIZE), Uint8Array.of(4, 5, 6), true);
    const dirty = dirtyPages(tracker.sync(), tracker.pages);
    expect(dirty).toContain(5);
    expect(dirty).toContain(9);
    // Reported once: sent (their chunk cleared first), the next look has neither (KVM_CLEAR_DIRTY_LOG
    // re-protected them, type1 re-armed).
    for (const p of dirty) tracker.beforeSend(p);
    const again = dirtyPages(tracker.sync(), tracker.pages);
    expect(again).not.toContain(5);
    expect(again).not.toContain(9);

    tracker.stop();
    expect(ramSlot(m).flags).toBe(flagsBefore);
    expect(type1Of(m).dirtyPageTracking).toBe(false);
    expect(errnoOf(() => tracker.sync())).toBe('EINVAL');
  });

  it('KVM_DIRTY_LOG_INITIALLY_SET: logging on protects nothing; each chunk is cleared (and protected) only before its first page is sent', async () => {
    const opts = parseArgs(['--cpus', '1', '--mem', '64M']);
    const m = await Machine.create(opts, DEFAULT_GUEST, readFileSync(DEFAULT_GUEST), () => {});
    const tracker = new DirtyTracker(m);
    tracker.start();
    expect(tracker.pages).toBeGreaterThan(2 * CLEAR_CHUNK_PAGES);
    // No bitmap was asked for yet and nothing cleared: KVM reports every page (all bits set).
    expect(tracker.clears).toBe(0);
    expect(dirtyPages(tracker.sync(), tracker.pages)).toHaveLength(tracker.pages);
    // Chunk 0's first page is about to go: one KVM_CLEAR_DIRTY_LOG for that chunk only.
    tracker.beforeSend(3);
    tracker.beforeSend(7);
    expect(tracker.clears).toBe(1);
    let dirty = new Set(dirtyPages(tracker.sync(), tracker.pages));
    expect(dirty.has(3)).toBe(false);
    expect(dirty.has(CLEAR_CHUNK_PAGES - 1)).toBe(false);
    // The other chunks were not cleared: still reported, nothing lost.
    expect(dirty.has(CLEAR_CHUNK_PAGES)).toBe(true);
    expect(dirty.size).toBe(tracker.pages - CLEAR_CHUNK_PAGES);
    // A write after the clear is seen (the page was protected again by the clear).
    m.vm.writeGuest(RAM_BASE + 3 * PAGE_SIZE, Uint8Array.of(9));
    dirty = new Set(dirtyPages(tracker.sync(), tracker.pages));
    expect(dirty.has(3)).toBe(true);
    expect(dirty.has(4)).toBe(false);
    tracker.stop();
  });

  it('dirtyPages lists set bits in page order and ignores bits past the last page', () => {
    expect(dirtyPages(Uint8Array.of(0b1000_0001, 0, 0b0000_0110), 24)).toEqual([0, 7, 17, 18]);
    expect(dirtyPages(Uint8Array.of(0xff), 3)).toEqual([0, 1, 2]);
  });
});
