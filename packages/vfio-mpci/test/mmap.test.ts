import { KernelError } from '@tsvirt/core-bus';
import { errnoOf } from '@tsvirt/test-utils';
import { VFIO_DEVICE_RESET } from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import { VM_IO, VM_PFNMAP } from '../src/index.ts';
import { BAR0, BAR2, BAR2_SIZE, CFG, openMdev, PAGE, PARENT_BAR2, stack, VRAM_PFN } from './fake-vendor.ts';

describe('mmap of an mmap-able BAR', () => {
  it('faults each page once through validate_map_request, onto the same frames the trapped path sees', () => {
    const s = stack();
    const { file, mdev } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, Number(BAR2_SIZE));
    expect(vma.flags & (VM_IO | VM_PFNMAP)).toBe(VM_IO | VM_PFNMAP);
    expect(mdev.physMappings.mappings).toHaveLength(1);
    s.mm.store(vma, vma.start + 3 * PAGE + 5, 0x5a);
    s.mm.store(vma, vma.start + 3 * PAGE + 6, 0x5b);
    expect(s.mm.faults).toBe(1);
    expect(s.mm.ptes.get(Math.floor((vma.start + 3 * PAGE) / PAGE))).toBe(VRAM_PFN + 3);
    const b = new Uint8Array(2);
    file.read(b, BAR2 + BigInt(3 * PAGE + 5));
    expect(b).toEqual(Uint8Array.of(0x5a, 0x5b));
    // And the other way: a trapped write is visible through the mapping.
    file.write(Uint8Array.of(0x77), BAR2 + 0x20n);
    expect(s.mm.load(vma, vma.start + 0x20)).toBe(0x77);
  });

  it('a mapping at an offset into the region maps the matching pages', () => {
    const s = stack();
    const { file } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2 + BigInt(2 * PAGE), 2 * PAGE);
    s.mm.load(vma, vma.start + PAGE);
    expect(s.mm.ptes.get(Math.floor((vma.start + PAGE) / PAGE))).toBe(VRAM_PFN + 3);
  });

  it('private mappings, regions without MMAP, and mappings past the region end are EINVAL', () => {
    const s = stack();
    const { file, mdev } = openMdev(s);
    expect(errnoOf(() => s.mm.mmap(file, BAR2, PAGE, false))).toBe('EINVAL');
    expect(errnoOf(() => s.mm.mmap(file, BAR0, PAGE))).toBe('EINVAL');
    expect(errnoOf(() => s.mm.mmap(file, CFG, PAGE))).toBe('EINVAL');
    expect(errnoOf(() => s.mm.mmap(file, BAR2 + BAR2_SIZE - BigInt(PAGE), 2 * PAGE))).toBe('EINVAL');
    expect(errnoOf(() => s.mm.mmap(file, 1n << 44n, PAGE))).toBe('EINVAL');
    expect(mdev.physMappings.mappings).toHaveLength(0);
  });

  it('a vendor answer that is empty, not page-sized or past the mapping end fails the access', () => {
    const s = stack();
    const { file } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, 2 * PAGE);
    for (const bad of [
      { pfn: 1, size: 0 },
      { pfn: 1, size: 100 },
      { pfn: 1, size: 3 * PAGE },
      { pfn: -1, size: PAGE },
    ]) {
      s.vendor.ctl.badMapAnswer = bad;
      expect(() => s.mm.load(vma, vma.start), JSON.stringify(bad)).toThrow(KernelError);
      expect(s.mm.present(vma.start)).toBe(false);
    }
    // Second page: at most one page remains, two is past the end.
    s.vendor.ctl.badMapAnswer = { pfn: 1, size: 2 * PAGE };
    expect(() => s.mm.load(vma, vma.start + PAGE)).toThrow(KernelError);
    s.vendor.ctl.badMapAnswer = { pfn: 9, size: PAGE };
    s.mm.load(vma, vma.start + PAGE);
    expect(s.mm.ptes.get(Math.floor((vma.start + PAGE) / PAGE))).toBe(9);
  });

  it('without validate_map_request the parent resource of the region is mapped (the seed fallback)', () => {
    const s = stack({ mapFallback: true });
    const { file } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2 + BigInt(PAGE), PAGE);
    s.mm.load(vma, vma.start);
    expect(s.mm.ptes.get(Math.floor(vma.start / PAGE))).toBe(Number(PARENT_BAR2 / BigInt(PAGE)) + 1);
  });
});

describe('revoking mappings (mdev_device_invalidate_mapping through zap_vma_ptes)', () => {
  it('memory decode off in the command register zaps BAR2: the next access faults again', () => {
    const s = stack();
    const { file, mdev } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, 4 * PAGE);
    file.write(Uint8Array.of(0x02), CFG + 0x04n); // memory decode on
    s.mm.store(vma, vma.start, 1);
    s.mm.store(vma, vma.start + PAGE, 2);
    expect(s.mm.faults).toBe(2);
    file.write(Uint8Array.of(0x00), CFG + 0x04n); // off: vendor invalidates
    expect(s.mm.present(vma.start)).toBe(false);
    expect(s.mm.present(vma.start + PAGE)).toBe(false);
    expect(s.mm.load(vma, vma.start + PAGE)).toBe(2);
    expect(s.mm.faults).toBe(3);
    // Only the overlapping part is zapped.
    mdev.invalidateMapping(BAR2 + BigInt(PAGE), BigInt(PAGE));
    s.mm.load(vma, vma.start);
    expect(s.mm.present(vma.start)).toBe(true);
    expect(s.mm.present(vma.start + PAGE)).toBe(false);
  });

  it('a split mapping (vm_ops->open of the new piece) is tracked and zapped piece by piece', () => {
    const s = stack();
    const { file, mdev } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, 4 * PAGE);
    // Split at the second page, as host-mm's __split_vma() does.
    const hi = { ...vma, start: vma.start + 2 * PAGE, pgoff: vma.pgoff + 2 };
    vma.end = hi.start;
    (vma.ops as { open(v: unknown): void }).open(hi);
    expect(mdev.physMappings.mappings).toHaveLength(2);
    s.mm.load(vma, vma.start);
    s.mm.load(hi, hi.start + PAGE);
    expect(s.mm.ptes.get(Math.floor((hi.start + PAGE) / PAGE))).toBe(VRAM_PFN + 3);
    expect(mdev.invalidateMapping(BAR2 + BigInt(3 * PAGE), BigInt(PAGE))).toBe(1);
    expect(s.mm.present(vma.start)).toBe(true);
    expect(s.mm.present(hi.start + PAGE)).toBe(false);
    s.mm.munmap(hi);
    expect(mdev.physMappings.mappings).toHaveLength(1);
  });

  it('VFIO_DEVICE_RESET zaps mappings; munmap stops tracking', () => {
    const s = stack();
    const { file, mdev } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, PAGE);
    s.mm.load(vma, vma.start);
    file.ioctl(VFIO_DEVICE_RESET);
    expect(s.mm.present(vma.start)).toBe(false);
    s.mm.munmap(vma);
    expect(mdev.physMappings.mappings).toHaveLength(0);
  });

  it('after the last close the pages are gone and a fault fails', () => {
    const s = stack();
    const { file, dfd } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, PAGE);
    s.mm.load(vma, vma.start);
    s.fds.close(dfd);
    expect(s.mm.present(vma.start)).toBe(false);
    expect(() => s.mm.load(vma, vma.start)).toThrow(KernelError);
  });
});

describe('the zap_vma_ptes hook', () => {
  it('without an mm that can zap, invalidation is a no-op rather than an exception on the guest path', () => {
    const s = stack();
    const { file, mdev } = openMdev(s);
    const vma = s.mm.mmap(file, BAR2, PAGE);
    s.mm.load(vma, vma.start);
    delete (vma as { mm?: unknown }).mm;
    expect(mdev.invalidateMapping(BAR2, BigInt(PAGE))).toBe(1);
    expect(s.mm.present(vma.start)).toBe(true);
  });
});
