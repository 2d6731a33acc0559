export * from './iommu-driver.ts';
export * from './uapi.ts';
