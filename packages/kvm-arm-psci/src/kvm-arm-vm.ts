import { fail } from '@tsvirt/core-bus';
import type { KvmEnableCap } from '@tsvirt/kvm-core';
import { KVM_CHECK_EXTENSION, KVM_ENABLE_CAP } from '@tsvirt/kvm-core';
import {
  KVM_ARM_PREFERRED_TARGET,
  KVM_ARM_SMCCC_STD_FEATURES,
  KVM_ARM_SMCCC_STD_HYP_FEATURES,
  KVM_ARM_SMCCC_VENDOR_HYP_FEATURES,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_CAP_ARM_PSCI,
  KVM_CAP_ARM_PSCI_0_2,
  KVM_CAP_ARM_SYSTEM_SUSPEND,
} from './arm-uapi.ts';
import { type KvmArmHostModel, UPSTREAM_HOST } from './host-model.ts';
import { KvmArmVcpu } from './kvm-arm-vcpu.ts';
import type { KvmArmRun } from './kvm-run.ts';
import { MPIDR_HWID_BITMASK } from './psci.ts';
import type { ArmVcpuRegs } from './vcpu-regs.ts';

export type { KvmEnableCap } from '@tsvirt/kvm-core';

/** struct kvm_vcpu_init (KVM_ARM_VCPU_INIT, KVM_ARM_PREFERRED_TARGET). */
export interface KvmVcpuInit {
  /** Target CPU type (KVM_ARM_TARGET_*). */
  target: number;
  /** Seven u32 words of feature bits; only word 0 has any defined. */
  features: number[];
}

/**
 * The arm64 part of a VM (struct kvm_arch) that PSCI and the firmware
 * registers depend on: the VM-wide PSCI version, the SYSTEM_SUSPEND flag,
 * the hypercall service bitmaps and whether any vCPU has run, on a given
 * host kernel model.
 */
export class KvmArmVm {
  /** The VM's vCPUs. */
  readonly vcpus: KvmArmVcpu[] = [];
  /** kvm->arch.psci_version; 0 until user space sets it (then the latest applies). */
  psciVersion = 0;
  /** KVM_ARCH_FLAG_SYSTEM_SUSPEND_ENABLED. */
  systemSuspendEnabled = false;
  /** kvm->arch.smccc_feat: every service enabled by default. */
  stdBmap = KVM_ARM_SMCCC_STD_FEATURES;
  /** Enabled standard hypervisor-service calls (KVM_REG_ARM_STD_HYP_BMAP). */
  stdHypBmap = KVM_ARM_SMCCC_STD_HYP_FEATURES;
  /** Enabled vendor hypervisor-service calls (KVM_REG_ARM_VENDOR_HYP_BMAP). */
  vendorHypBmap = KVM_ARM_SMCCC_VENDOR_HYP_FEATURES;
  /** kvm_vm_has_ran_once(). */
  ranOnce = false;
  /** kvm->arch.vcpu_features once the first vCPU is initialized (POWER_OFF excluded). */
  vcpuFeatures: number | undefined;

  constructor(
    /** The host kernel being modelled. */
    readonly host: KvmArmHostModel = UPSTREAM_HOST,
  ) {}

  /** KVM_CHECK_EXTENSION for the PSCI-related caps (0 for anything else). */
  checkExtension(cap: number): number {
    switch (cap) {
      case KVM_CAP_ARM_PSCI:
      case KVM_CAP_ARM_PSCI_0_2:
        return 1;
      case KVM_CAP_ARM_SYSTEM_SUSPEND:
        return this.host.systemSuspend ? 1 : 0;
      default:
        return 0;
    }
  }

  /** KVM_ENABLE_CAP: only KVM_CAP_ARM_SYSTEM_SUSPEND here; flags must be 0. */
  enableCap(cap: KvmEnableCap): void {
    if (cap.flags !== 0) fail('EINVAL', 'flags must be 0', 'KVM_ENABLE_CAP');
    if (cap.cap === KVM_CAP_ARM_SYSTEM_SUSPEND && this.host.systemSuspend) {
      this.systemSuspendEnabled = true;
      return;
    }
    fail('EINVAL', `cap ${cap.cap} cannot be enabled`, 'KVM_ENABLE_CAP');
  }

  /** KVM_ARM_PREFERRED_TARGET. */
  preferredTarget(init: KvmVcpuInit): void {
    init.target = KVM_ARM_TARGET_GENERIC_V8;
    init.features = new Array(7).fill(0);
  }

  /** KVM_CREATE_VCPU with the CPU that backs it; ids are unique (EEXIST). */
  createVcpu(vcpuId: number, regs: ArmVcpuRegs, run?: KvmArmRun): KvmArmVcpu {
    if (!Number.isInteger(vcpuId) || vcpuId < 0) fail('EINVAL', `bad vcpu id ${vcpuId}`, 'KVM_CREATE_VCPU');
    if (this.vcpus.some((v) => v.vcpuId === vcpuId))
      fail('EEXIST', `vcpu ${vcpuId} exists`, 'KVM_CREATE_VCPU');
    const vcpu = new KvmArmVcpu(this, vcpuId, regs, run);
    this.vcpus.push(vcpu);
    return vcpu;
  }

  /** kvm_mpidr_to_vcpu(): the vCPU whose affinity fields equal mpidr's. */
  mpidrToVcpu(mpidr: bigint): KvmArmVcpu | undefined {
    const aff = mpidr & MPIDR_HWID_BITMASK;
    return this.vcpus.find((v) => v.mpidrAff === aff);
  }

  /** The VM ioctls of this package; ENOTTY for any other. */
  ioctl(cmd: number, arg?: unknown): number {
    switch (cmd) {
      case KVM_CHECK_EXTENSION:
        return this.checkExtension(arg as number);
      case KVM_ENABLE_CAP:
        this.enableCap(arg as KvmEnableCap);
        return 0;
      case KVM_ARM_PREFERRED_TARGET:
        this.preferredTarget(arg as KvmVcpuInit);
        return 0;
      default:
        fail('ENOTTY', `unknown VM ioctl 0x${cmd.toString(16)}`);
    }
  }
}
