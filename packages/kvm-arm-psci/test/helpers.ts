import {
  ArmRegisterFile,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_EL1_32BIT,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  type KvmArmHostModel,
  type KvmArmVcpu,
  KvmArmVm,
  MPIDR_HWID_BITMASK,
  mpidrForVcpuId,
  UPSTREAM_HOST,
} from '../src/index.ts';

export interface TestVm {
  vm: KvmArmVm;
  vcpus: KvmArmVcpu[];
  cpus: ArmRegisterFile[];
}

export interface TestVmOptions {
  host?: KvmArmHostModel;
  nr?: number;
  /** PSCI_0_2 feature (default true). */
  psci02?: boolean;
  aarch32?: boolean;
  /** Secondary vCPUs start powered off (default true). */
  secondariesOff?: boolean;
  extraFeatures?: number;
}

/** A VM with `nr` initialized vCPUs on plain register files. */
export function makeVm(opts: TestVmOptions = {}): TestVm {
  const vm = new KvmArmVm(opts.host ?? UPSTREAM_HOST);
  const vcpus: KvmArmVcpu[] = [];
  const cpus: ArmRegisterFile[] = [];
  for (let i = 0; i < (opts.nr ?? 2); i++) {
    const cpu = new ArmRegisterFile(mpidrForVcpuId(i));
    const vcpu = vm.createVcpu(i, cpu);
    let f = opts.extraFeatures ?? 0;
    if (opts.psci02 ?? true) f |= 1 << KVM_ARM_VCPU_PSCI_0_2;
    if (opts.aarch32) f |= 1 << KVM_ARM_VCPU_EL1_32BIT;
    if (i > 0 && (opts.secondariesOff ?? true)) f |= 1 << KVM_ARM_VCPU_POWER_OFF;
    vcpu.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: [f, 0, 0, 0, 0, 0, 0] });
    vcpus.push(vcpu);
    cpus.push(cpu);
  }
  return { vm, vcpus, cpus };
}

export interface CallResult {
  /** x0 as a signed 64-bit value (PSCI return codes are negative). */
  ret: bigint;
  /** 1 = back to the guest, 0 = exit to user space. */
  resume: number;
}

/** The guest on `vcpu` makes an SMCCC call by HVC #0 with x0 = fn, x1..x3 = args. */
export function hvc(vcpu: KvmArmVcpu, fn: number | bigint, ...args: bigint[]): CallResult {
  const regs = vcpu.regs;
  regs.setX(0, BigInt(fn));
  for (let i = 0; i < 3; i++) regs.setX(i + 1, args[i] ?? 0n);
  const resume = vcpu.handleHvc(0);
  return { ret: BigInt.asIntN(64, regs.getX(0)), resume };
}

/** The same call by SMC #imm. */
export function smc(vcpu: KvmArmVcpu, imm: number, fn: number | bigint, ...args: bigint[]): CallResult {
  const regs = vcpu.regs;
  regs.setX(0, BigInt(fn));
  for (let i = 0; i < 3; i++) regs.setX(i + 1, args[i] ?? 0n);
  const resume = vcpu.handleSmc(imm);
  return { ret: BigInt.asIntN(64, regs.getX(0)), resume };
}

/** Everything the firmware registers and PSCI touch, for "nothing changed" checks. */
export function vmState(t: TestVm) {
  return {
    psciVersion: t.vm.psciVersion,
    stdBmap: t.vm.stdBmap,
    stdHypBmap: t.vm.stdHypBmap,
    vendorHypBmap: t.vm.vendorHypBmap,
    systemSuspendEnabled: t.vm.systemSuspendEnabled,
    vcpus: t.vcpus.map((v) => ({
      mp: v.mpState,
      reset: v.resetState,
      x: [0, 1, 2, 3].map((i) => v.regs.getX(i)),
      pc: v.regs.getPc(),
    })),
  };
}

/** The affinity fields of vCPU i's MPIDR: what a guest passes to CPU_ON (as Linux's cpu_logical_map). */
export const aff = (i: number): bigint => mpidrForVcpuId(i) & MPIDR_HWID_BITMASK;
