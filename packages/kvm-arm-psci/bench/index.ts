import { runSuite } from '@tsvirt/bench-harness';
import {
  ArmRegisterFile,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KvmArmVm,
  mpidrForVcpuId,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN64_CPU_ON,
} from '../src/index.ts';

// The PSCI/SMCCC exit path as a guest drives it: one HVC through
// kvm_smccc_call_handler() and the PSCI dispatcher, per iteration 10,000
// calls; and the vCPU state a migration moves (save + restore of one vCPU).
const PER_ITER = 10_000;

function vm(nr: number) {
  const v = new KvmArmVm();
  const cpus = Array.from({ length: nr }, (_, i) => new ArmRegisterFile(mpidrForVcpuId(i)));
  const vcpus = cpus.map((c, i) => v.createVcpu(i, c));
  vcpus.forEach((vc, i) => {
    const f = (1 << KVM_ARM_VCPU_PSCI_0_2) | (i > 0 ? 1 << KVM_ARM_VCPU_POWER_OFF : 0);
    vc.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: [f, 0, 0, 0, 0, 0, 0] });
  });
  return { cpus, vcpus };
}

const one = vm(1);
const many = vm(64);
const mig = vm(2);
const blob = mig.vcpus[0]!.save();

await runSuite('kvm-arm-psci: SMCCC/PSCI calls and vCPU state', [
  {
    name: 'PSCI_VERSION (HVC)',
    fn: () => {
      const cpu = one.cpus[0]!;
      const vcpu = one.vcpus[0]!;
      for (let i = 0; i < PER_ITER; i++) {
        cpu.setX(0, BigInt(PSCI_0_2_FN_PSCI_VERSION));
        vcpu.handleHvc(0);
      }
    },
    work: { count: PER_ITER, unit: 'calls' },
  },
  {
    name: 'CPU_ON + CPU_OFF, 64 vCPUs',
    fn: () => {
      const cpu = many.cpus[0]!;
      for (let i = 0; i < PER_ITER / 2; i++) {
        const target = 1 + (i % 63);
        cpu.setX(0, BigInt(PSCI_0_2_FN64_CPU_ON));
        cpu.setX(1, BigInt(target));
        cpu.setX(2, 0x8_0000n);
        cpu.setX(3, 0n);
        many.vcpus[0]!.handleHvc(0);
        many.cpus[target]!.setX(0, BigInt(PSCI_0_2_FN_CPU_OFF));
        many.vcpus[target]!.handleHvc(0);
      }
    },
    work: { count: PER_ITER, unit: 'calls' },
    baseline: 'PSCI_VERSION (HVC)',
  },
  {
    name: 'vCPU save + restore (12 registers)',
    fn: () => {
      for (let i = 0; i < 1000; i++) {
        mig.vcpus[1]!.restore(blob);
        mig.vcpus[0]!.save();
      }
    },
    work: { count: 1000, unit: 'vCPUs' },
  },
]);
