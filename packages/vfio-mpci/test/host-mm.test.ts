import { DriverCore, FdTable } from '@tsvirt/core-bus';
import { HostPhysMemory, MmStruct, PAGE_SIZE, PROT_READ, PROT_WRITE } from '@tsvirt/host-mm';
import { MdevCore } from '@tsvirt/mdev-core';
import { errnoOf } from '@tsvirt/test-utils';
import {
  ioctl,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_PCI_BAR2_REGION_INDEX,
  VFIO_PCI_INDEX_TO_OFFSET,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VfioCore,
  type VfioDeviceFile,
  type VfioIommu,
  vfio_device_mmap,
} from '@tsvirt/vfio-core';
import { describe, expect, it } from 'vitest';
import type { MpciMapAnswer, MpciMapRequest, MpciParentOps } from '../src/index.ts';
import { VfioMpciDriver } from '../src/index.ts';

// End to end with host-mm: the device file mmapped into a real MmStruct, so
// faults go through vfio-mpci's handler into MmStruct.remapPfnRange.
const P = PAGE_SIZE;
const PAGES = 8;
const BAR2 = VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);
const RW = PROT_READ | PROT_WRITE;

function hostStack(opts: { fallback?: boolean } = {}) {
  const phys = new HostPhysMemory({ totalFrames: 4096 });
  const mm = new MmStruct(phys);
  const vram = phys.allocContiguous(PAGES);
  const calls: MpciMapRequest[] = [];
  const ctl = {
    /** The vendor's answer; default: the whole BAR from the faulting page's mapping start. */
    answer: (req: MpciMapRequest): MpciMapAnswer => ({
      pfn: vram + Number(req.offset) / P,
      size: Math.min(req.remaining, PAGES * P - Number(req.offset)),
    }),
  };
  const ops: MpciParentOps = {
    create() {},
    remove() {},
    getRegionInfo: (_m, index) =>
      index === 7
        ? { size: 256n }
        : index === VFIO_PCI_BAR2_REGION_INDEX
          ? { size: BigInt(PAGES * P), mmap: true }
          : undefined,
    read(_m, buf, pos) {
      const off = Number(pos & 0xff_ffff_ffffn);
      if (pos >> 40n === 2n)
        buf.set(phys.frame(vram + Math.floor(off / P)).subarray(off % P, (off % P) + buf.length));
      else buf.fill(0);
      return buf.length;
    },
    write(_m, buf, pos) {
      const off = Number(pos & 0xff_ffff_ffffn);
      if (pos >> 40n === 2n) phys.frame(vram + Math.floor(off / P)).set(buf, off % P);
      return buf.length;
    },
    validateMapRequest(_m, req) {
      calls.push(req);
      return ctl.answer(req);
    },
  };
  if (opts.fallback) delete (ops as Partial<MpciParentOps>).validateMapRequest;
  const vfio = new VfioCore();
  const noIommu = {
    release() {},
    ioctl: () => 0,
    attachGroup() {},
    detachGroup() {},
    pinPages: () => [],
    unpinPages: () => 0,
    dmaRw() {},
    registerNotifier() {},
    unregisterNotifier() {},
  } satisfies VfioIommu;
  vfio.registerIommuDriver({ name: 'none', checkExtension: () => 1, open: () => noIommu });
  const mdevs = new MdevCore(new DriverCore(), { groups: vfio.mdevIommuGroups });
  mdevs.registerDriver(new VfioMpciDriver(vfio));
  mdevs.registerParent({
    name: 'gpu',
    ops,
    types: [{ id: 'a', deviceApi: 'vfio-pci' }],
    maxInstances: 1,
    resources: [undefined, undefined, { start: BigInt(vram * P), size: BigInt(PAGES * P) }],
  });
  const mdev = mdevs.createDevice('gpu', 'gpu-a', '5a3e1b8c-0f4d-4e7a-9b61-2c8d7e6f5a42');
  const fds = new FdTable();
  const cfd = vfio.open(fds, '/dev/vfio/vfio');
  const gfd = vfio.open(fds, `/dev/vfio/${mdev.iommuGroup!.id}`);
  ioctl(fds, gfd, VFIO_GROUP_SET_CONTAINER, cfd);
  ioctl(fds, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  const file = fds.get(ioctl(fds, gfd, VFIO_GROUP_GET_DEVICE_FD, mdev.uuid)) as VfioDeviceFile;
  const hva = vfio_device_mmap(mm, file, { offset: BAR2, length: PAGES * P, prot: RW });
  const read = (addr: number) => {
    const b = new Uint8Array(1);
    mm.copyFromUser(addr, b);
    return b[0]!;
  };
  return { phys, mm, vram, calls, ctl, mdev, file, hva, read };
}

describe('vfio-mpci on host-mm (remap_pfn_range of the vendor answer)', () => {
  it('one vendor call maps the whole multi-page answer, non-cached by default', () => {
    const { mm, vram, calls, hva, read, phys } = hostStack();
    phys.frame(vram + 5)[3] = 0x77;
    expect(read(hva + 3)).toBe(0);
    for (let k = 0; k < PAGES; k++) {
      expect(mm.pteOf(hva + k * P)).toBe(vram + k);
      read(hva + k * P);
    }
    expect(read(hva + 5 * P + 3)).toBe(0x77);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.virtaddr).toBe(hva);
    expect(mm.residentPages).toBe(PAGES);
    expect(mm.pteProtOf(hva)).toEqual({ access: RW, cache: 'uc' });
  });

  it('a narrowed read-only answer: reads work, a write through the mapping is EFAULT and changes nothing', () => {
    const { mm, vram, calls, ctl, hva, read, file, phys } = hostStack();
    ctl.answer = () => ({
      pfn: vram,
      size: PAGES * P,
      virtaddr: hva,
      prot: { access: PROT_READ, cache: 'uc' },
    });
    file.write(Uint8Array.of(0x5a), BAR2 + BigInt(2 * P + 9)); // a trapped write, seen through the mapping
    expect(read(hva + 2 * P + 9)).toBe(0x5a);
    expect(mm.pteProtOf(hva + 2 * P)).toEqual({ access: PROT_READ, cache: 'uc' });
    expect(errnoOf(() => mm.copyToUser(hva + 2 * P + 9, Uint8Array.of(1)))).toBe('EFAULT');
    expect(errnoOf(() => mm.hvaToPfn(hva + 7 * P, true))).toBe('EFAULT');
    expect(phys.frame(vram + 2)[9]).toBe(0x5a);
    expect(read(hva + 7 * P)).toBe(0);
    // One call mapped the range; each refused write asked again (pfn_mkwrite).
    expect(calls).toHaveLength(3);
    // A vendor that grants write now lets the write through and the entry becomes writable.
    ctl.answer = () => ({ pfn: vram, size: PAGES * P, virtaddr: hva });
    mm.copyToUser(hva + 2 * P + 9, Uint8Array.of(1));
    expect(phys.frame(vram + 2)[9]).toBe(1);
    expect(mm.pteProtOf(hva + 2 * P)).toEqual({ access: RW, cache: 'uc' });
  });

  it('a write-combined answer is the entry memory type', () => {
    const { mm, vram, ctl, hva } = hostStack();
    ctl.answer = () => ({ pfn: vram, size: 4 * P, virtaddr: hva, prot: { access: RW, cache: 'wc' } });
    mm.hvaToPfn(hva + P, true);
    for (let k = 0; k < 4; k++) expect(mm.pteProtOf(hva + k * P)).toEqual({ access: RW, cache: 'wc' });
    expect(mm.pteProtOf(hva + 4 * P)).toBeUndefined();
  });

  it('a zap makes the range fault again; a fault inside a partly zapped answer maps it again whole', () => {
    const { mm, vram, calls, mdev, hva, read } = hostStack();
    read(hva);
    expect(mm.residentPages).toBe(PAGES);
    mdev.invalidateMapping(BAR2, BigInt(PAGES * P));
    expect(mm.residentPages).toBe(0);
    read(hva + 3 * P);
    expect(calls).toHaveLength(2);
    expect(mm.residentPages).toBe(PAGES - 3);
    // Zap one page of that answer: the next fault there gets the same
    // range back, whose other entries are still present (remap_pfn_range
    // says EBUSY); vfio-mpci zaps the rest and maps it again.
    mdev.invalidateMapping(BAR2 + BigInt(4 * P), BigInt(P));
    expect(mm.pteOf(hva + 4 * P)).toBeUndefined();
    read(hva + 4 * P);
    expect(calls).toHaveLength(3);
    for (let k = 4; k < PAGES; k++) expect(mm.pteOf(hva + k * P)).toBe(vram + k);
  });

  it('without validate_map_request the parent resource is mapped page by page, non-cached (vm_page_prot)', () => {
    const { mm, vram, hva } = hostStack({ fallback: true });
    expect(mm.hvaToPfn(hva + 2 * P, true)).toBe(vram + 2);
    expect(mm.residentPages).toBe(1);
    expect(mm.pteProtOf(hva + 2 * P)).toEqual({ access: RW, cache: 'uc' });
  });
});
