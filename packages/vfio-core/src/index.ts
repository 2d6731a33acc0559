export {
  type VfioMigrationOps,
  vfio_check_feature,
  vfio_ioctl_device_feature,
  vfio_mig_get_next_state,
} from './device-feature.ts';
export { vfio_device_mmap, vfio_pfnmap_vma } from './device-mmap.ts';
export * from './external.ts';
export { ioctl } from './ioctl.ts';
export * from './iommu-driver.ts';
export { IommuGroup, IommuGroups } from './iommu-group.ts';
export * from './kvm.ts';
export { VFIO_CORE, vfioCoreModule } from './module.ts';
export * from './uapi.ts';
export { VfioContainer, VfioContainerFile } from './vfio-container.ts';
export {
  VFIO_CONTAINER_PATH,
  VfioCore,
  type VfioIrqBypass,
  type VfioIrqBypassProducer,
} from './vfio-core.ts';
export { VfioDevice, VfioDeviceFile, type VfioDeviceOps, type VfioVma } from './vfio-device.ts';
export { VfioFile } from './vfio-file.ts';
export {
  VFIO_DRIVER_ALLOWED,
  VFIO_GROUP_NOTIFY_SET_KVM,
  VfioGroup,
  VfioGroupFile,
  type VfioGroupNotifier,
} from './vfio-group.ts';
