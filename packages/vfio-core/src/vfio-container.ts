import { type FdTable, fail } from '@tsvirt/core-bus';
import type { VfioIommu, VfioIommuDriver } from './iommu-driver.ts';
import { VFIO_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_GET_API_VERSION, VFIO_SET_IOMMU } from './uapi.ts';
import type { VfioCore } from './vfio-core.ts';
import { VfioFile } from './vfio-file.ts';
import type { VfioGroup } from './vfio-group.ts';

function intArg(arg: unknown, ioctl: string): number {
  if (typeof arg === 'bigint') return Number(BigInt.asUintN(32, arg));
  if (typeof arg !== 'number' || !Number.isInteger(arg)) fail('EFAULT', 'argument is not an integer', ioctl);
  return arg;
}

/**
 * struct vfio_container: a set of groups sharing one IOMMU context. It is
 * kref-counted: its file holds one reference and every attached group
 * another (vfio_group_set_container() takes it). So closing the container
 * file while groups are attached does NOT tear anything down: the container,
 * its backend and every DMA mapping live on until the last group leaves,
 * which is the kernel's ordering (vfio_fops_release() only drops a kref).
 */
export class VfioContainer {
  /** group_list, in attach order. */
  readonly groups: VfioGroup[] = [];
  /** iommu_driver / iommu_data: set by VFIO_SET_IOMMU, cleared when the last group leaves. */
  driver: VfioIommuDriver | undefined = undefined;
  /** The IOMMU backend instance, set by VFIO_SET_IOMMU. */
  iommu: VfioIommu | undefined = undefined;
  private kref = 1;

  constructor(
    /** The VFIO core the container belongs to. */
    readonly core: VfioCore,
  ) {}

  /** References held on the container. */
  get refs(): number {
    return this.kref;
  }

  /** True once the last reference is gone (vfio_container_release()). */
  get released(): boolean {
    return this.kref === 0;
  }

  /** vfio_container_get(). */
  getRef(): void {
    this.kref++;
  }

  /** vfio_container_put(): nothing is left to tear down, the last group took the backend with it. */
  putRef(): void {
    if (this.kref > 0) this.kref--;
  }

  /**
   * vfio_ioctl_check_extension(): with a backend set, only it answers;
   * otherwise the first registered backend that answers > 0 wins, else 0.
   */
  checkExtension(ext: number): number {
    if (this.driver !== undefined && this.iommu !== undefined) {
      return this.iommu.ioctl(VFIO_CHECK_EXTENSION, ext);
    }
    let ret = 0;
    for (const drv of this.core.iommuDrivers()) {
      ret = drv.checkExtension(ext);
      if (ret > 0) break;
    }
    return ret;
  }

  /**
   * vfio_ioctl_set_iommu(): only a container holding at least one group and
   * no backend yet may pick one (EINVAL otherwise). Each backend that
   * claims the type by CHECK_EXTENSION is opened and must accept every
   * group (__vfio_container_attach_groups(), which detaches the ones already
   * attached when one fails); the first that does is kept. No backend
   * claiming the type: ENODEV, as `ret = -ENODEV` upstream.
   */
  setIommu(type: number): number {
    if (this.groups.length === 0) fail('EINVAL', 'container has no group', 'VFIO_SET_IOMMU');
    if (this.driver !== undefined) fail('EINVAL', 'container already has an IOMMU backend', 'VFIO_SET_IOMMU');
    // The error of the last backend that claimed the type but failed.
    let err: unknown;
    let errSet = false;
    for (const drv of this.core.iommuDrivers()) {
      if (drv.checkExtension(type) <= 0) continue;
      let data: VfioIommu;
      try {
        data = drv.open(type);
      } catch (e) {
        err = e;
        errSet = true;
        continue;
      }
      const attached: VfioGroup[] = [];
      try {
        for (const g of this.groups) {
          data.attachGroup(g.iommuGroup);
          attached.push(g);
        }
      } catch (e) {
        for (const g of attached.reverse()) data.detachGroup(g.iommuGroup);
        data.release();
        err = e;
        errSet = true;
        continue;
      }
      this.driver = drv;
      this.iommu = data;
      this.core.iommuDriverGet(drv);
      return 0;
    }
    if (errSet) throw err;
    return fail('ENODEV', `no IOMMU backend serves type ${type}`, 'VFIO_SET_IOMMU');
  }

  /** __vfio_group_unset_container()'s container half: the last group leaving deprivileges the container. */
  removeGroup(group: VfioGroup): void {
    if (this.iommu !== undefined) this.iommu.detachGroup(group.iommuGroup);
    const at = this.groups.indexOf(group);
    if (at >= 0) this.groups.splice(at, 1);
    if (this.driver !== undefined && this.groups.length === 0) {
      this.iommu!.release();
      this.core.iommuDriverPut(this.driver);
      this.driver = undefined;
      this.iommu = undefined;
    }
    this.putRef();
  }

  /** vfio_fops_unl_ioctl(). */
  ioctl(cmd: number, arg?: unknown): number {
    switch (cmd) {
      case VFIO_GET_API_VERSION:
        return VFIO_API_VERSION;
      case VFIO_CHECK_EXTENSION:
        return this.checkExtension(intArg(arg, 'VFIO_CHECK_EXTENSION'));
      case VFIO_SET_IOMMU:
        return this.setIommu(intArg(arg, 'VFIO_SET_IOMMU'));
      default:
        // Pass-through of every other ioctl to the backend; none yet: EINVAL.
        if (this.iommu === undefined) fail('EINVAL', `ioctl 0x${cmd.toString(16)} before VFIO_SET_IOMMU`);
        return this.iommu.ioctl(cmd, arg);
    }
  }
}

/** The file behind an open /dev/vfio/vfio: one new container per open (vfio_fops_open()). */
export class VfioContainerFile extends VfioFile {
  /** The container this file created. */
  readonly container: VfioContainer;

  constructor(core: VfioCore) {
    super();
    this.container = new VfioContainer(core);
  }

  protected releaseFile(): void {
    this.container.putRef();
  }

  ioctl(cmd: number, arg?: unknown, _fds?: FdTable): number {
    if (this.isReleased) fail('EBADF', 'container file is closed');
    return this.container.ioctl(cmd, arg);
  }
}
