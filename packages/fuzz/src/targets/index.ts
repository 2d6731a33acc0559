import type { FuzzTargetFactory } from '../harness.ts';
import { iommuType1Fuzz } from './iommu-type1.ts';
import { kvmCoreFuzz } from './kvm-core.ts';
import { kvmRiscvMmuFuzz } from './kvm-riscv-mmu.ts';
import { mdevCoreFuzz } from './mdev-core.ts';
import { vfioMpciFuzz } from './vfio-mpci.ts';

/** Every target `pnpm fuzz` runs, in its order. */
export const FUZZ_TARGETS: readonly FuzzTargetFactory[] = [
  iommuType1Fuzz,
  mdevCoreFuzz,
  vfioMpciFuzz,
  kvmCoreFuzz,
  kvmRiscvMmuFuzz,
];
