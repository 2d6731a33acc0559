export { LocalMdevIommuGroups, type MdevIommuGroups } from './iommu-group.ts';
export { type MdevDriver, mdevBusType } from './mdev-bus.ts';
export { MdevCore, type MdevCoreOptions, type MdevRemoveOptions } from './mdev-core.ts';
export { MDEV_BUS_NAME, MdevDevice } from './mdev-device.ts';
export { MdevParent, type MdevParentInfo, type MdevParentResource } from './mdev-parent.ts';
export { MdevType, type MdevTypeInfo } from './mdev-type.ts';
export { mdevCoreModule } from './module.ts';
export type { MdevParentOps } from './parent-ops.ts';
export { type MdevMappingTarget, type MdevPhysMapping, MdevPhysMappings } from './phys-mapping.ts';
export {
  kstrtoul,
  MDEV_BUS_CLASS_PATH,
  MDEV_BUS_DEVICES_PATH,
  MdevSysfs,
  type MdevSysfsSnapshot,
  type MdevSysfsType,
} from './sysfs.ts';
export { MDEV_CORE } from './tokens.ts';
export { parseMdevUuid, UUID_STRING_LEN, uuidIsValid } from './uuid.ts';
