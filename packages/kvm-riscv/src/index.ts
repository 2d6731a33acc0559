export * from './aia.ts';
export * from './aia-aplic.ts';
export * from './aia-bypass.ts';
export { registerRiscvAia, riscvAiaDeviceOps } from './aia-device.ts';
export * from './aia-uapi.ts';
export { KvmRiscvArch, type KvmRiscvOptions } from './arch.ts';
export { setExternalInterrupt } from './irq.ts';
export { aiaSetIrq, kvmSetGsiRouting, kvmSignalMsi } from './irq-routing.ts';
export { decodeMmio, type MmioDecode } from './mmio.ts';
export { createKvmRiscvModule, KVM_RISCV, kvmRiscvModule } from './module.ts';
export { riscvGetOneReg, riscvRegList, riscvSetOneReg } from './one-reg.ts';
export * from './onereg-uapi.ts';
export { RiscvVcpuScheduler } from './runner.ts';
export { SBI_EXTENSIONS } from './sbi.ts';
export type { SbiCall, SbiExtension, SbiResult } from './sbi-types.ts';
export * from './sbi-uapi.ts';
export {
  RISCV_VCPU_SNAPSHOT_MAGIC,
  RISCV_VCPU_SNAPSHOT_VERSION,
  restoreRiscvVcpu,
  saveRiscvVcpu,
} from './snapshot.ts';
export { type PendingSbi, RiscvVcpuState, RiscvVmState, riscvVcpu, riscvVm } from './state.ts';
export { idleSkip, runVcpu, vcpuInstructions, vcpuRunnable } from './vcpu-run.ts';
