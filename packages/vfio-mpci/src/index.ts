export {
  MpciIrqProducer,
  MpciIrqs,
  type MpciIrqType,
  vfioSetIrqsValidateAndPrepare,
} from './irqs.ts';
export { MpciMigration, MpciMigrationFile, type MpciMigrationOps } from './migration.ts';
export {
  defaultRemapPfnRange,
  defaultZapVmaPtes,
  type MpciMmapHost,
  type MpciVmOps,
  mpciVmPageProt,
  type RemapPfnRange,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_EXEC,
  VM_IO,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type ZapVmaPtes,
} from './mmap.ts';
export { VFIO_MPCI_DRIVER, vfioMpciModule } from './module.ts';
export { MpciDevice } from './mpci-device.ts';
export {
  mpciDevice,
  mpciIrqs,
  mpciVfioDevice,
  VfioMpciDriver,
  type VfioMpciDriverOptions,
} from './mpci-driver.ts';
export * from './pci-capabilities.ts';
export * from './pci-config.ts';
export * from './pci-config-space.ts';
export {
  getRegionInfo,
  type MpciRegion,
  type VfioRegionInfoCap,
  type VfioRegionInfoWithCaps,
} from './region-info.ts';
export {
  isMpciParentOps,
  type MpciMapAnswer,
  type MpciMapRequest,
  type MpciParentOps,
  type MpciPgprot,
  type MpciPgprotCache,
  type MpciRegionInfo,
  type MpciSetIrqs,
  type MpciSparseArea,
} from './vendor-ops.ts';
