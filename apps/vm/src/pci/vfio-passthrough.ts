import type { FdTable } from '@tsvirt/core-bus';
import type { MmStruct } from '@tsvirt/host-mm';
import type { MdevCore, MdevDevice } from '@tsvirt/mdev-core';
import {
  ioctl,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GROUP_GET_DEVICE_FD,
  VFIO_GROUP_SET_CONTAINER,
  VFIO_IOMMU_MAP_DMA,
  VFIO_SET_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  type VfioCore,
  type VfioDeviceFile,
} from '@tsvirt/vfio-core';
import { VmConfigError } from '../config-error.ts';
import { resolveMdev } from '../mdev-boot.ts';
import type { MdevStore } from '../mdev-cli/store.ts';
import { VfioPciFunction } from './vfio-pci.ts';

/** Guest RAM as the IOMMU maps it: IOVA = guest physical address. */
export interface GuestRamMapping {
  /** Where RAM sits in the VMM's address space. */
  hva: number;
  /** Its guest physical base (the IOVA the device uses). */
  gpa: number;
  /** Its size in bytes. */
  size: number;
}

/**
 * The VFIO side of each --mdev, as QEMU's vfio-pci realize does it on any
 * board: create the mediated device, put its IOMMU group in the VM's one
 * type1v2 container (the first group sets the IOMMU and maps all of guest
 * RAM at IOVA = GPA, so the device's DMA addresses are the guest's), and
 * open the device as a PCI function. The board places and wires it.
 */
export class VfioPassthroughSetup {
  /** The VM's VFIO container fd, once the first device opened it. */
  container: number | undefined;

  constructor(
    private readonly files: FdTable,
    private readonly mdevs: MdevCore,
    private readonly vfio: VfioCore,
    private readonly mm: MmStruct,
    private readonly ram: GuestRamMapping,
    private readonly store: () => MdevStore,
  ) {}

  /** One `--mdev TYPE[,uuid=]` (or a defined UUID): a VmConfigError naming it when it cannot be created. */
  open(spec: string): { mdev: MdevDevice; fn: VfioPciFunction } {
    const { files, vfio } = this;
    const want = resolveMdev(spec, this.mdevs, this.store);
    let mdev: MdevDevice;
    try {
      mdev = this.mdevs.createDevice(want.parent, want.type, want.uuid);
    } catch (e) {
      throw new VmConfigError(`--mdev ${spec}: ${(e as Error).message}`);
    }
    const group = vfio.open(files, `/dev/vfio/${mdev.iommuGroup!.id}`);
    const first = this.container === undefined;
    if (this.container === undefined) this.container = vfio.open(files, '/dev/vfio/vfio');
    ioctl(files, group, VFIO_GROUP_SET_CONTAINER, this.container);
    if (first) {
      ioctl(files, this.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
      ioctl(files, this.container, VFIO_IOMMU_MAP_DMA, {
        argsz: 32,
        flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        vaddr: BigInt(this.ram.hva),
        iova: BigInt(this.ram.gpa),
        size: BigInt(this.ram.size),
      });
    }
    const device = files.get(ioctl(files, group, VFIO_GROUP_GET_DEVICE_FD, mdev.uuid)) as VfioDeviceFile;
    return { mdev, fn: new VfioPciFunction(device, this.mm) };
  }
}
