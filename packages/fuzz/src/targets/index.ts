import type { FuzzTargetFactory } from '../harness.ts';
import { iommuType1Fuzz } from './iommu-type1.ts';
import { mdevCoreFuzz } from './mdev-core.ts';

/** Every target `pnpm fuzz` runs, in its order. */
export const FUZZ_TARGETS: readonly FuzzTargetFactory[] = [iommuType1Fuzz, mdevCoreFuzz];
