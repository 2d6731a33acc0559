import { fail } from '@tsvirt/core-bus';
import { MDEV_BUS_NAME, type MdevDevice, type MdevDriver } from '@tsvirt/mdev-core';
import { VFIO_DEVICE_API_PCI_STRING, type VfioCore, type VfioDevice } from '@tsvirt/vfio-core';
import type { MpciIrqs } from './irqs.ts';
import type { RemapPfnRange, ZapVmaPtes } from './mmap.ts';
import { MpciDevice } from './mpci-device.ts';
import { isMpciParentOps } from './vendor-ops.ts';

const DRIVER_NAME = 'vfio_mpci';

/**
 * The vfio-mpci device bound to an mdev, if any: dev_get_drvdata() of an
 * mdev whose driver is vfio_mpci. The state lives on the mdev (not in a map
 * of this module), and the driver is known by name (not by class), so a
 * plugin that brings its own copy of this package gets the same answer as
 * the VMM's copy that bound the device.
 */
export function mpciDevice(mdev: MdevDevice): MpciDevice | undefined {
  if (mdev.driver?.name !== DRIVER_NAME) return undefined;
  return mdev.driverData as MpciDevice | undefined;
}

/**
 * The interrupt lines of an mdev bound to vfio-mpci: what a vendor calls
 * to raise INTx/MSI/ERR (`trigger(index, vector)`, `setIntx(level)`).
 * Undefined while no vfio-mpci driver is bound.
 */
export function mpciIrqs(mdev: MdevDevice): MpciIrqs | undefined {
  return mpciDevice(mdev)?.irqs;
}

/**
 * The VFIO device of an mdev bound to vfio-mpci: what a vendor passes to
 * vfio_pin_pages() / vfio_dma_rw() / vfio_register_notifier() of vfio-core.
 */
export function mpciVfioDevice(mdev: MdevDevice): VfioDevice | undefined {
  return mpciDevice(mdev)?.vdev;
}

/** Hooks of the vfio_mpci bus driver: how device mappings are zapped and remapped. */
export interface VfioMpciDriverOptions {
  /** How to zap a device mapping's pages (host-mm's zap_vma_ptes); default: `vma.mm.zapVmaPtes`. */
  zapVmaPtes?: ZapVmaPtes;
  /** How a fault maps a vendor's whole answer (remap_pfn_range()); default: `vma.mm.remapPfnRange` when the mm has it. */
  remapPfnRange?: RemapPfnRange;
}

/**
 * The vfio-mpci mdev bus driver: binds every mdev whose type's device_api
 * is `vfio-pci` and whose parent gives the PCI ops (else the probe is
 * ENODEV), and registers it with vfio-core in the IOMMU group mdev-core gave
 * it (or a new emulated one when mdev-core's groups are not vfio-core's).
 */
export class VfioMpciDriver implements MdevDriver {
  /** Driver name. */
  readonly name = DRIVER_NAME;
  /** The mdev bus. */
  readonly bus = MDEV_BUS_NAME;
  /** Drives mdev types whose device_api is vfio-pci. */
  readonly deviceApis = [VFIO_DEVICE_API_PCI_STRING];
  private readonly vdevs = new Map<MdevDevice, VfioDevice>();

  constructor(
    /** The VFIO core devices are registered with. */
    readonly vfio: VfioCore,
    private readonly opts: VfioMpciDriverOptions = {},
  ) {}

  /** Bind to an mdev: register it as a VFIO device; ENODEV if the parent lacks the needed ops. */
  probe(mdev: MdevDevice): void {
    const ops = mdev.parent.ops;
    if (!isMpciParentOps(ops))
      fail('ENODEV', `parent ${mdev.parent.name} lacks read/write/getRegionInfo`, 'vfio_mpci_probe');
    const dev = new MpciDevice(
      mdev,
      ops,
      this.opts.zapVmaPtes,
      () => this.vfio.irqBypass,
      this.opts.remapPfnRange,
    );
    const vdev =
      this.vfio.iommuGroups.ofDevice(mdev) !== undefined
        ? this.vfio.registerGroupDev(mdev, dev, dev)
        : this.vfio.registerEmulatedIommuDev(mdev, dev, dev);
    this.vdevs.set(mdev, vdev);
    dev.vdev = vdev;
    mdev.driverData = dev; // dev_set_drvdata()
  }

  /**
   * vfio_mpci_remove(): unregister from VFIO. If a file is still open the
   * user is asked through the REQ eventfd, and, since this model cannot
   * wait, the device is revoked: later ioctls, accesses and faults fail,
   * and the last close finishes the unregistration.
   */
  remove(mdev: MdevDevice): void {
    const vdev = this.vdevs.get(mdev);
    const dev = mdev.driverData as MpciDevice | undefined;
    if (vdev === undefined || dev === undefined) return;
    this.vdevs.delete(mdev);
    const gone = this.vfio.unregisterGroupDev(vdev);
    if (!gone) dev.revoke();
    mdev.driverData = undefined;
  }

  /** The VFIO device of a bound mdev. */
  vfioDevice(mdev: MdevDevice): VfioDevice | undefined {
    return this.vdevs.get(mdev);
  }
}
