export * from './arm-uapi.ts';
export {
  type KvmArmHostModel,
  latestPsciVersion,
  NEW_FEATURE_HOST,
  NEW_ONE_REG_HOST,
  OLD_HOST,
  type PsciVersionSelection,
  UPSTREAM_HOST,
} from './host-model.ts';
export { kvmArmGetFwReg, kvmArmSetFwReg, kvmSmcccCallHandler } from './hypercalls.ts';
export {
  type ArmResetState,
  KvmArmVcpu,
  type KvmMpState,
  type KvmOneReg,
  type KvmRegList,
} from './kvm-arm-vcpu.ts';
export { KvmArmVm, type KvmEnableCap, type KvmVcpuInit } from './kvm-arm-vm.ts';
export { createKvmArmRun, type KvmArmRun, systemEventFlags } from './kvm-run.ts';
export * from './kvm-uapi.ts';
export {
  judgeMigration,
  MIGRATION_ROWS,
  MIGRATION_TABLES,
  type MigrationEnd,
  type MigrationEndKind,
  type MigrationOutcome,
  type MigrationRow,
  type MigrationTableRow,
  type MigrationWorks,
  migrateRow,
  migrationEnd,
  PsciVmm,
  type SelectionApproach,
} from './migration.ts';
export { checkAllowedFunction, kvmPsciCall, MPIDR_HWID_BITMASK, psciAffinityMask } from './psci.ts';
export * from './psci-uapi.ts';
export {
  type ArmGuestCpu,
  type ArmGuestTrap,
  ArmRegisterFile,
  type ArmVcpuRegs,
  mpidrForVcpuId,
  ScriptedArmCpu,
} from './vcpu-regs.ts';
