import { errnoOf } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  ArmRegisterFile,
  KVM_ARM_PREFERRED_TARGET,
  KVM_ARM_PSCI_0_1,
  KVM_ARM_PSCI_0_2,
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_EL1_32BIT,
  KVM_ARM_VCPU_FORCE_PSCI_0_2,
  KVM_ARM_VCPU_INIT,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_CAP_ARM_PSCI,
  KVM_CAP_ARM_PSCI_0_2,
  KVM_CAP_ARM_SYSTEM_SUSPEND,
  KVM_CHECK_EXTENSION,
  KVM_ENABLE_CAP,
  KVM_EXIT_INTR,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_GET_MP_STATE,
  KVM_GET_ONE_REG,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_MP_STATE_SUSPENDED,
  KVM_REG_ARM_PSCI_VERSION,
  KVM_RUN,
  KVM_SET_MP_STATE,
  KVM_SET_ONE_REG,
  KVM_SYSTEM_EVENT_SHUTDOWN,
  KVM_SYSTEM_EVENT_SUSPEND,
  KVM_SYSTEM_EVENT_WAKEUP,
  KvmArmVm,
  type KvmVcpuInit,
  mpidrForVcpuId,
  NEW_FEATURE_HOST,
  OLD_HOST,
  PSCI_0_2_FN_CPU_OFF,
  PSCI_0_2_FN_PSCI_VERSION,
  PSCI_0_2_FN_SYSTEM_OFF,
  PSCI_0_2_FN64_CPU_ON,
  PSCI_1_0_FN64_SYSTEM_SUSPEND,
  PSCI_RET_INTERNAL_FAILURE,
  PSCI_RET_NOT_SUPPORTED,
  ScriptedArmCpu,
} from '../src/index.ts';
import { aff, hvc, makeVm } from './helpers.ts';

const init = (features: number, target = KVM_ARM_TARGET_GENERIC_V8): KvmVcpuInit => ({
  target,
  features: [features, 0, 0, 0, 0, 0, 0],
});

describe('VM: caps and ioctls', () => {
  it('KVM_CHECK_EXTENSION: PSCI and PSCI_0_2 always, SYSTEM_SUSPEND where the host has it', () => {
    const vm = new KvmArmVm();
    expect(
      [KVM_CAP_ARM_PSCI, KVM_CAP_ARM_PSCI_0_2, KVM_CAP_ARM_SYSTEM_SUSPEND, 9999].map((c) =>
        vm.ioctl(KVM_CHECK_EXTENSION, c),
      ),
    ).toEqual([1, 1, 1, 0]);
    expect(new KvmArmVm(OLD_HOST).checkExtension(KVM_CAP_ARM_SYSTEM_SUSPEND)).toBe(0);
  });

  it('KVM_ENABLE_CAP: EINVAL for flags, unknown caps, and SYSTEM_SUSPEND on a host without it', () => {
    const vm = new KvmArmVm();
    expect(
      errnoOf(() => vm.ioctl(KVM_ENABLE_CAP, { cap: KVM_CAP_ARM_SYSTEM_SUSPEND, flags: 1, args: [] })),
    ).toBe('EINVAL');
    expect(errnoOf(() => vm.enableCap({ cap: KVM_CAP_ARM_PSCI, flags: 0, args: [] }))).toBe('EINVAL');
    expect(vm.systemSuspendEnabled).toBe(false);
    vm.ioctl(KVM_ENABLE_CAP, { cap: KVM_CAP_ARM_SYSTEM_SUSPEND, flags: 0, args: [] });
    expect(vm.systemSuspendEnabled).toBe(true);
    expect(
      errnoOf(() =>
        new KvmArmVm(OLD_HOST).enableCap({ cap: KVM_CAP_ARM_SYSTEM_SUSPEND, flags: 0, args: [] }),
      ),
    ).toBe('EINVAL');
  });

  it('KVM_ARM_PREFERRED_TARGET gives GENERIC_V8; unknown ioctls are ENOTTY', () => {
    const vm = new KvmArmVm();
    const i = init(0, 0);
    vm.ioctl(KVM_ARM_PREFERRED_TARGET, i);
    expect(i.target).toBe(KVM_ARM_TARGET_GENERIC_V8);
    expect(errnoOf(() => vm.ioctl(0xdead))).toBe('ENOTTY');
  });

  it('KVM_CREATE_VCPU: EEXIST for a duplicate id', () => {
    const vm = new KvmArmVm();
    vm.createVcpu(0, new ArmRegisterFile(mpidrForVcpuId(0)));
    expect(errnoOf(() => vm.createVcpu(0, new ArmRegisterFile(mpidrForVcpuId(0))))).toBe('EEXIST');
    expect(vm.vcpus).toHaveLength(1);
  });
});

describe('KVM_ARM_VCPU_INIT', () => {
  const fresh = (host = undefined as undefined | typeof OLD_HOST) => {
    const vm = new KvmArmVm(host);
    return vm.createVcpu(0, new ArmRegisterFile(mpidrForVcpuId(0)));
  };

  it('POWER_OFF starts the vCPU stopped; init resets the registers', () => {
    const v = fresh();
    (v.regs as ArmRegisterFile).setX(0, 5n);
    v.ioctl(KVM_ARM_VCPU_INIT, init((1 << KVM_ARM_VCPU_POWER_OFF) | (1 << KVM_ARM_VCPU_PSCI_0_2)));
    expect(v.mpState).toBe(KVM_MP_STATE_STOPPED);
    expect(v.regs.getX(0)).toBe(0n);
    expect(v.hasFeature(KVM_ARM_VCPU_POWER_OFF)).toBe(false);
  });

  it('EINVAL for another target; ENOENT for unknown feature bits or words; the vCPU stays uninitialized', () => {
    const v = fresh();
    expect(errnoOf(() => v.init(init(0, 2)))).toBe('EINVAL');
    expect(errnoOf(() => v.init(init(1 << 9)))).toBe('ENOENT');
    expect(
      errnoOf(() => v.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: [0, 1, 0, 0, 0, 0, 0] })),
    ).toBe('ENOENT');
    expect(v.initialized).toBe(false);
  });

  it('the force-0.2 bit (bit 4, KVM_VCPU_MAX_FEATURES 5) exists only on a vcpu-feature host', () => {
    const f = (1 << KVM_ARM_VCPU_PSCI_0_2) | (1 << KVM_ARM_VCPU_FORCE_PSCI_0_2);
    expect(KVM_ARM_VCPU_FORCE_PSCI_0_2).toBe(4);
    expect(errnoOf(() => fresh().init(init(f)))).toBe('ENOENT');
    expect(errnoOf(() => fresh(OLD_HOST).init(init(f)))).toBe('ENOENT');
    expect(errnoOf(() => fresh(NEW_FEATURE_HOST).init(init(1 << 5)))).toBe('ENOENT');
    const v = fresh(NEW_FEATURE_HOST);
    v.init(init(f));
    expect(hvc(v, PSCI_0_2_FN_PSCI_VERSION).ret).toBe(BigInt(KVM_ARM_PSCI_0_2));
    expect(errnoOf(() => v.getOneRegValue(KVM_REG_ARM_PSCI_VERSION))).toBe('ENOENT');
  });

  it("the force bit without PSCI_0_2 is accepted and changes nothing: the vCPU has 0.1 (the review's kvm_psci_version())", () => {
    const v = fresh(NEW_FEATURE_HOST);
    v.init(init(1 << KVM_ARM_VCPU_FORCE_PSCI_0_2));
    expect(v.hasFeature(KVM_ARM_VCPU_FORCE_PSCI_0_2)).toBe(true);
    expect(v.psciVersion()).toBe(KVM_ARM_PSCI_0_1);
    // A 0.1 vCPU does not answer the 0.2 ids.
    expect(hvc(v, PSCI_0_2_FN_PSCI_VERSION).ret).toBe(BigInt(PSCI_RET_NOT_SUPPORTED));
  });

  it("EINVAL when a vCPU asks for other features than the VM's first (POWER_OFF aside)", () => {
    const vm = new KvmArmVm();
    const a = vm.createVcpu(0, new ArmRegisterFile(mpidrForVcpuId(0)));
    const b = vm.createVcpu(1, new ArmRegisterFile(mpidrForVcpuId(1)));
    a.init(init(1 << KVM_ARM_VCPU_PSCI_0_2));
    expect(errnoOf(() => b.init(init((1 << KVM_ARM_VCPU_PSCI_0_2) | (1 << KVM_ARM_VCPU_EL1_32BIT))))).toBe(
      'EINVAL',
    );
    expect(b.initialized).toBe(false);
    b.init(init((1 << KVM_ARM_VCPU_PSCI_0_2) | (1 << KVM_ARM_VCPU_POWER_OFF)));
    expect(b.mpState).toBe(KVM_MP_STATE_STOPPED);
  });

  it('ONE_REG, REG_LIST and KVM_RUN before init are ENOEXEC', () => {
    const v = fresh();
    expect(errnoOf(() => v.ioctl(KVM_GET_ONE_REG, { id: KVM_REG_ARM_PSCI_VERSION, addr: 0n }))).toBe(
      'ENOEXEC',
    );
    expect(
      errnoOf(() => v.ioctl(KVM_SET_ONE_REG, { id: KVM_REG_ARM_PSCI_VERSION, addr: 0n, value: 2n })),
    ).toBe('ENOEXEC');
    expect(errnoOf(() => v.getRegList({ n: 99, reg: [] }))).toBe('ENOEXEC');
    expect(errnoOf(() => v.kvmRun())).toBe('ENOEXEC');
  });
});

describe('MP state', () => {
  it('KVM_GET/SET_MP_STATE: RUNNABLE, STOPPED, SUSPENDED; anything else EINVAL, unchanged', () => {
    const v = makeVm().vcpus[1]!;
    const s = { mp_state: -1 };
    v.ioctl(KVM_GET_MP_STATE, s);
    expect(s.mp_state).toBe(KVM_MP_STATE_STOPPED);
    v.ioctl(KVM_SET_MP_STATE, { mp_state: KVM_MP_STATE_RUNNABLE });
    expect(v.mpState).toBe(KVM_MP_STATE_RUNNABLE);
    for (const bad of [1, 3, 6, 11])
      expect(errnoOf(() => v.ioctl(KVM_SET_MP_STATE, { mp_state: bad }))).toBe('EINVAL');
    expect(v.mpState).toBe(KVM_MP_STATE_RUNNABLE);
  });
});

describe('KVM_RUN with a guest CPU', () => {
  const boot = () => {
    const vm = new KvmArmVm();
    const cpus = [0, 1].map((i) => new ScriptedArmCpu(mpidrForVcpuId(i)));
    const vcpus = cpus.map((c, i) => vm.createVcpu(i, c));
    vcpus[0]!.init(init(1 << KVM_ARM_VCPU_PSCI_0_2));
    vcpus[1]!.init(init((1 << KVM_ARM_VCPU_PSCI_0_2) | (1 << KVM_ARM_VCPU_POWER_OFF)));
    return { vm, cpus, vcpus };
  };

  it('a secondary brought up by CPU_ON enters at the entry point with x0 = context id', () => {
    const { cpus, vcpus } = boot();
    cpus[0]!.call(PSCI_0_2_FN64_CPU_ON, [aff(1), 0x8008_0000n, 0x42n]);
    // A stopped vCPU would sleep in KVM_RUN: EINTR.
    expect(errnoOf(() => vcpus[1]!.ioctl(KVM_RUN))).toBe('EINTR');
    expect(vcpus[1]!.run.exit_reason).toBe(KVM_EXIT_INTR);
    expect(errnoOf(() => vcpus[0]!.kvmRun())).toBe('EINTR'); // script done: the CPU stops for the host
    let seen: [bigint, bigint] | undefined;
    cpus[1]!.push((c) => {
      seen = [c.getPc(), c.getX(0)];
      return { kind: 'host' };
    });
    expect(errnoOf(() => vcpus[1]!.kvmRun())).toBe('EINTR');
    expect(seen).toEqual([0x8008_0000n, 0x42n]);
    expect(cpus[1]!.resetCount).toBe(2);
    expect(cpus[1]!.bigEndian).toBe(false);
  });

  it("a big-endian caller's CPU_ON makes the secondary start big-endian", () => {
    const { cpus, vcpus } = boot();
    cpus[0]!.bigEndian = true;
    cpus[0]!.call(PSCI_0_2_FN64_CPU_ON, [aff(1), 0x9000n, 0n]);
    expect(errnoOf(() => vcpus[0]!.kvmRun())).toBe('EINTR');
    expect(errnoOf(() => vcpus[1]!.kvmRun())).toBe('EINTR');
    expect([cpus[1]!.bigEndian, cpus[1]!.getPc()]).toEqual([true, 0x9000n]);
  });

  it('runs calls in the kernel until SYSTEM_OFF exits; KVM_RUN again finds the vCPU stopped', () => {
    const { cpus, vcpus } = boot();
    cpus[0]!
      .call(PSCI_0_2_FN_PSCI_VERSION)
      .push(() => ({ kind: 'wfi' }))
      .call(PSCI_0_2_FN_SYSTEM_OFF);
    const run = vcpus[0]!.kvmRun();
    expect([run.exit_reason, run.system_event.type]).toEqual([
      KVM_EXIT_SYSTEM_EVENT,
      KVM_SYSTEM_EVENT_SHUTDOWN,
    ]);
    expect(cpus[0]!.wfiCount).toBe(1);
    expect(cpus[0]!.pending).toBe(0);
    expect(errnoOf(() => vcpus[0]!.kvmRun())).toBe('EINTR');
    // User space that insists on resuming the guest: it reads INTERNAL_FAILURE.
    vcpus[0]!.setMpState({ mp_state: KVM_MP_STATE_RUNNABLE });
    let x0 = 0n;
    cpus[0]!.push((c) => {
      x0 = c.getX(0);
      return { kind: 'host' };
    });
    expect(errnoOf(() => vcpus[0]!.kvmRun())).toBe('EINTR');
    expect(BigInt.asIntN(64, x0)).toBe(BigInt(PSCI_RET_INTERNAL_FAILURE));
  });

  it('first KVM_RUN marks the VM as having run; immediate_exit is EINTR', () => {
    const { vm, vcpus } = boot();
    vcpus[0]!.run.immediate_exit = 1;
    expect(errnoOf(() => vcpus[0]!.kvmRun())).toBe('EINTR');
    expect(vm.ranOnce).toBe(true);
  });

  it('SYSTEM_SUSPEND: user space sets SUSPENDED, the next KVM_RUN reports WAKEUP', () => {
    const { vm, cpus, vcpus } = boot();
    vm.enableCap({ cap: KVM_CAP_ARM_SYSTEM_SUSPEND, flags: 0, args: [] });
    cpus[0]!.call(PSCI_1_0_FN64_SYSTEM_SUSPEND, [0x9000n, 7n]);
    expect(vcpus[0]!.kvmRun().system_event.type).toBe(KVM_SYSTEM_EVENT_SUSPEND);
    vcpus[0]!.setMpState({ mp_state: KVM_MP_STATE_SUSPENDED });
    const run = vcpus[0]!.kvmRun();
    expect([run.exit_reason, run.system_event.type]).toEqual([
      KVM_EXIT_SYSTEM_EVENT,
      KVM_SYSTEM_EVENT_WAKEUP,
    ]);
    expect(vcpus[0]!.mpState).toBe(KVM_MP_STATE_RUNNABLE);
  });

  it('CPU_OFF in the guest ends in EINTR (the vCPU sleeps) with the vCPU stopped', () => {
    const { cpus, vcpus } = boot();
    cpus[0]!.call(PSCI_0_2_FN_CPU_OFF).call(PSCI_0_2_FN_PSCI_VERSION);
    expect(errnoOf(() => vcpus[0]!.kvmRun())).toBe('EINTR');
    expect(vcpus[0]!.mpState).toBe(KVM_MP_STATE_STOPPED);
    expect(cpus[0]!.pending).toBe(1);
  });

  it('a register file without enterGuest cannot KVM_RUN (ENOEXEC); unknown vCPU ioctls are ENOTTY', () => {
    const t = makeVm();
    expect(errnoOf(() => t.vcpus[0]!.kvmRun())).toBe('ENOEXEC');
    expect(errnoOf(() => t.vcpus[0]!.ioctl(0x1234))).toBe('ENOTTY');
  });
});

describe('run page', () => {
  it("a caller-supplied run page (as kvm-core's KvmRun, with more exit kinds) receives the exit", () => {
    const vm = new KvmArmVm();
    const page = {
      immediate_exit: 0,
      exit_reason: 0,
      mmio: { phys_addr: 0n, data: new Uint8Array(8), len: 0, is_write: 0 },
      system_event: { type: 0, ndata: 0, data: new Array<bigint>(16).fill(0n) },
    };
    const v = vm.createVcpu(0, new ArmRegisterFile(mpidrForVcpuId(0)), page);
    v.init(init(1 << KVM_ARM_VCPU_PSCI_0_2));
    expect(hvc(v, PSCI_0_2_FN_SYSTEM_OFF).resume).toBe(0);
    expect(v.run).toBe(page);
    expect([page.exit_reason, page.system_event.type, page.system_event.ndata]).toEqual([
      KVM_EXIT_SYSTEM_EVENT,
      KVM_SYSTEM_EVENT_SHUTDOWN,
      1,
    ]);
  });
});
