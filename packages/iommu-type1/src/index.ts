export { bitmapSet, bitmapTest, copyBitsToUser } from './dirty-bitmap.ts';
export { DmaTree } from './dma-tree.ts';
export { type HwIommuConfig, IommuDomain } from './iommu-domain.ts';
export { createIommuType1Module, iommuType1Module, VFIO_IOMMU_TYPE1_DRIVER } from './iommu-type1-module.ts';
export {
  decodeType1State,
  encodeType1State,
  TYPE1_STATE_MAGIC,
  TYPE1_STATE_VERSION,
  type Type1SavedDma,
  type Type1SavedState,
} from './save-restore.ts';
export * from './uapi.ts';
export { VfioDma, type VfioPfn } from './vfio-dma.ts';
export { checkExtension, VfioIommuType1, type VfioIommuType1Options } from './vfio-iommu-type1.ts';
export { VfioIommuType1Driver } from './vfio-iommu-type1-driver.ts';
