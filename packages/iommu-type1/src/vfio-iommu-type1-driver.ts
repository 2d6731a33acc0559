import { fail } from '@tsvirt/core-bus';
import type { VfioIommu, VfioIommuDriver } from '@tsvirt/vfio-core';
import { VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU } from './uapi.ts';
import { checkExtension, VfioIommuType1, type VfioIommuType1Options } from './vfio-iommu-type1.ts';

/**
 * The registered type1 backend (vfio_iommu_driver_ops_type1): answers
 * CHECK_EXTENSION for containers without a backend and opens one
 * VfioIommuType1 per container at VFIO_SET_IOMMU.
 */
export class VfioIommuType1Driver implements VfioIommuDriver {
  /** Driver name. */
  readonly name = 'vfio-iommu-type1';

  constructor(
    /** Options every container this driver opens gets. */ readonly options: VfioIommuType1Options,
  ) {}

  checkExtension(ext: number): number {
    return checkExtension(undefined, ext);
  }

  /** vfio_iommu_type1_open(): VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU, else EINVAL. */
  open(arg: number): VfioIommu & VfioIommuType1 {
    if (arg !== VFIO_TYPE1_IOMMU && arg !== VFIO_TYPE1v2_IOMMU)
      fail('EINVAL', `type1 does not serve IOMMU type ${arg}`, 'VFIO_SET_IOMMU');
    return new VfioIommuType1(arg === VFIO_TYPE1v2_IOMMU, this.options);
  }
}
