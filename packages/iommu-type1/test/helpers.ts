import {
  HostPhysMemory,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MmStruct,
  type MmStructOptions,
  PROT_READ,
  PROT_WRITE,
} from '@tsvirt/host-mm';
import type { IommuGroupRef } from '@tsvirt/vfio-core';
import { expect } from 'vitest';
import {
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_TYPE1v2_IOMMU,
  VfioIommuType1Driver,
  type VfioIommuType1Options,
} from '../src/index.ts';

export const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
export const PG = 4096n;

export function setup(
  o: { type?: number; mm?: MmStructOptions; groups?: IommuGroupRef[] } & Partial<
    Omit<VfioIommuType1Options, 'mm'>
  > = {},
) {
  const phys = new HostPhysMemory({ totalFrames: 1 << 16 });
  const mm = new MmStruct(phys, { rlimitMemlock: 1 << 30, ...o.mm });
  const driver = new VfioIommuType1Driver({ ...o, mm });
  const iommu = driver.open(o.type ?? VFIO_TYPE1v2_IOMMU);
  const mdev: IommuGroupRef = { id: 1, mdev: true };
  for (const g of o.groups ?? [mdev]) iommu.attachGroup(g);
  // 16 MiB of user memory at a known address for mappings.
  const va = mm.mmap({
    addr: 0x1000_0000,
    length: 16 << 20,
    prot: PROT_READ | PROT_WRITE,
    flags: MAP_PRIVATE | MAP_ANONYMOUS,
  });
  return { phys, mm, driver, iommu, mdev, va: BigInt(va) };
}

export type Setup = ReturnType<typeof setup>;

export function map(s: Setup, iova: bigint, size: bigint, vaddr = s.va, flags = RW) {
  return s.iommu.mapDma({ argsz: 32, flags, vaddr, iova, size });
}

export function unmap(s: Setup, iova: bigint, size: bigint, flags = 0) {
  const arg = { argsz: 24, flags, iova, size };
  s.iommu.unmapDma(arg);
  return arg.size;
}

/** Everything observable about the container, for "unchanged after a failure" checks. */
export function snapshot(s: Setup) {
  return {
    dmas: [...s.iommu.dmaList].map((d) => ({
      iova: d.iova,
      size: d.size,
      vaddr: d.vaddr,
      prot: d.prot,
      vaddrInvalid: d.vaddrInvalid,
      pins: [...d.pfnList.entries()].map(([k, v]) => [k, v.pfn, v.refCount]),
      bitmap: d.bitmap ? [...d.bitmap] : undefined,
      mapped: d.iommuMapped,
    })),
    avail: s.iommu.dmaAvail,
    tracking: s.iommu.dirtyPageTracking,
    invalid: s.iommu.vaddrInvalidCount,
    locked: s.mm.lockedVm,
    pinned: s.phys.pinnedFrames,
    domainPages: s.iommu.domain?.mappedPages,
  };
}

export const code = (c: string) => expect.objectContaining({ code: c });
