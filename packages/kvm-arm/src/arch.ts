import type { Arm64Vcpu, PhysMemory } from '@tsvirt/arm64-core';
import { fail } from '@tsvirt/core-bus';
import type { HostPhysMemory } from '@tsvirt/host-mm';
import {
  KVM_ARM_PREFERRED_TARGET,
  KVM_ARM_VCPU_INIT,
  type KvmArmHostModel,
  KvmArmVm,
  type KvmVcpuInit,
  mpidrForVcpuId,
  UPSTREAM_HOST,
} from '@tsvirt/kvm-arm-psci';
import {
  KVM_EXIT_MMIO,
  type KvmArchOps,
  type KvmEnableCap,
  type KvmMemorySlot,
  type KvmMrChange,
  type KvmRun,
  type KvmVcpu,
  type KvmVm,
} from '@tsvirt/kvm-core';
import { KvmArmMmu } from './mmu.ts';
import { armGetOneReg, armRegList, armSetOneReg } from './one-reg.ts';
import { loadEl2, PsciRegs } from './reset.ts';
import { ArmVcpuState, ArmVmState, armVcpu, armVm } from './state.ts';
import {
  KVM_ARM_IRQ_CPU_FIQ,
  KVM_ARM_IRQ_CPU_IRQ,
  KVM_ARM_IRQ_TYPE_CPU,
  KVM_ARM_IRQ_TYPE_PPI,
  KVM_ARM_IRQ_TYPE_SHIFT,
  KVM_ARM_IRQ_TYPE_SPI,
  KVM_ARM_IRQ_VCPU_SHIFT,
  KVM_ARM_IRQ_VCPU2_SHIFT,
  KVM_CAP_ARM_USER_IRQ,
  KVM_CAP_ARM_VM_IPA_SIZE,
  KVM_PHYS_SHIFT,
} from './uapi.ts';
import { completeMmio, runVcpu } from './vcpu-run.ts';

/** Builds the CPU behind a new vCPU: `mem` is host memory (after stage 2), the vCPU id for its name. */
export type Arm64CpuFactory = (mem: PhysMemory, vcpuId: number) => Arm64Vcpu;

/** How the arm64 arch runs VMs. */
export interface KvmArmOptions {
  /** The CPU model (e.g. @tsvirt/arm64-core's); required. */
  createCpu: Arm64CpuFactory;
  /** The host kernel modelled for PSCI and the firmware registers (kvm-arm-psci). Default UPSTREAM_HOST. */
  host?: KvmArmHostModel;
  /** Instructions a vCPU runs before KVM_RUN yields (KVM_EXIT_INTR). Default 50 000. */
  quantum?: number;
  /** Host memory, when the VM's owner mm is not given to Kvm. */
  phys?: HostPhysMemory;
}

/**
 * The arm64 KVM arch (arch/arm64/kvm): the kvm_arch_* hooks over an
 * Arm64Vcpu, a stage-2 MMU in host memory, and kvm-arm-psci for PSCI, the
 * SMCCC and the firmware registers. No in-kernel GIC: user space drives each
 * vCPU's IRQ/FIQ input with KVM_IRQ_LINE (KVM_ARM_IRQ_TYPE_CPU) and follows
 * the virtual timer's output (KVM_CAP_ARM_USER_IRQ).
 */
export class KvmArmArch implements KvmArchOps {
  /** Architecture name. */
  readonly name = 'arm64';
  readonly readonlyMem = true;
  private nextVmid = 1;
  private readonly host: KvmArmHostModel;
  private readonly quantum: number;

  constructor(private readonly opts: KvmArmOptions) {
    this.host = opts.host ?? UPSTREAM_HOST;
    this.quantum = opts.quantum ?? 50_000;
  }

  /** kvm_vm_ioctl_check_extension() (arm64): PSCI caps from kvm-arm-psci, the user-space irqchip, the IPA size. */
  checkExtension(cap: number, vm: KvmVm | undefined): number {
    if (cap === KVM_CAP_ARM_USER_IRQ) return 1;
    if (cap === KVM_CAP_ARM_VM_IPA_SIZE) return KVM_PHYS_SHIFT;
    const psci = vm?.arch instanceof ArmVmState ? vm.arch.psci : new KvmArmVm(this.host);
    return psci.checkExtension(cap);
  }

  /** KVM_ENABLE_CAP: KVM_CAP_ARM_SYSTEM_SUSPEND (kvm-arm-psci); EINVAL for the rest. */
  enableCap(vm: KvmVm, cap: KvmEnableCap): void {
    armVm(vm).psci.enableCap(cap);
  }

  /**
   * kvm_arch_init_vm(): the type is the IPA size (KVM_VM_TYPE_ARM_IPA_SIZE),
   * 0 meaning the default 40 bits, the only size here (EINVAL otherwise).
   */
  vmInit(vm: KvmVm, type: number): void {
    const ipa = type & 0xff;
    if ((type & ~0xff) !== 0 || (ipa !== 0 && ipa !== KVM_PHYS_SHIFT))
      fail('EINVAL', `KVM_CREATE_VM type ${type}: the IPA size is ${KVM_PHYS_SHIFT} bits`, 'KVM_CREATE_VM');
    const phys = vm.mm?.phys ?? this.opts.phys;
    if (phys === undefined)
      fail('EINVAL', 'no host memory: give Kvm an mm or KvmArmArch a phys', 'KVM_CREATE_VM');
    vm.arch = new ArmVmState(new KvmArmMmu(vm, phys, this.nextVmid++ & 0xff), new KvmArmVm(this.host));
  }

  vmDestroy(vm: KvmVm): void {
    armVm(vm).mmu.destroy();
  }

  prepareMemoryRegion(
    vm: KvmVm,
    _old: KvmMemorySlot | undefined,
    next: KvmMemorySlot | undefined,
    change: KvmMrChange,
  ): void {
    armVm(vm).mmu.prepareMemoryRegion(next, change);
  }

  commitMemoryRegion(): void {}

  flushShadowMemslot(vm: KvmVm, slot: KvmMemorySlot): void {
    armVm(vm).mmu.flushShadowMemslot(slot);
  }

  unmapGfnRange(vm: KvmVm, _slot: KvmMemorySlot, start: number, end: number): void {
    armVm(vm).mmu.unmapGfnRange(start, end);
  }

  flushShadowAll(vm: KvmVm): void {
    armVm(vm).mmu.flushShadowAll();
  }

  enableLogDirtyPtMasked(vm: KvmVm, slot: KvmMemorySlot, gfnOffset: number, mask: bigint): void {
    armVm(vm).mmu.enableLogDirtyPtMasked(slot, gfnOffset, mask);
  }

  writeProtectMemslot(vm: KvmVm, slot: KvmMemorySlot): void {
    armVm(vm).mmu.writeProtectMemslot(slot);
  }

  /** kvm_arch_flush_remote_tlbs(): TLBI VMALLS12E1IS, every vCPU's CPU at once. */
  flushRemoteTlbs(vm: KvmVm): void {
    for (const v of vm.vcpus) armVcpu(v).cpu.flushTlb();
  }

  /**
   * kvm_arch_vcpu_create(): the CPU over host memory, its EL2 controls
   * (HCR_EL2, VTTBR_EL2/VTCR_EL2, VMPIDR_EL2 = reset_mpidr()), and the vCPU
   * as kvm-arm-psci sees it. KVM_ARM_VCPU_INIT comes before anything runs.
   */
  vcpuCreate(vcpu: KvmVcpu): void {
    const vs = armVm(vcpu.vm);
    const phys = vs.mmu.phys;
    const total = phys.totalFrames;
    const mem: PhysMemory = { frame: (pfn) => (pfn >= 0 && pfn < total ? phys.frame(pfn) : undefined) };
    const cpu = this.opts.createCpu(mem, vcpu.vcpuId);
    const mpidr = mpidrForVcpuId(vcpu.vcpuId);
    const regs = new PsciRegs(mpidr);
    const psci = vs.psci.createVcpu(vcpu.vcpuId, regs, vcpu.run);
    const s = new ArmVcpuState(cpu, psci, this.quantum);
    regs.state = s;
    loadEl2(s, vs.mmu.pgt.vttbr, mpidr);
    vcpu.arch = s;
  }

  vcpuDestroy(vcpu: KvmVcpu): void {
    const vs = armVm(vcpu.vm).psci;
    const i = vs.vcpus.indexOf(armVcpu(vcpu).psci);
    if (i >= 0) vs.vcpus.splice(i, 1);
  }

  /** Finish the MMIO load/store user space has handled. */
  vcpuCompleteExit(vcpu: KvmVcpu, run: KvmRun): void {
    if (run.exit_reason === KVM_EXIT_MMIO) completeMmio(vcpu, run);
  }

  vcpuRun(vcpu: KvmVcpu, run: KvmRun): void {
    runVcpu(vcpu, run);
  }

  getOneReg(vcpu: KvmVcpu, id: bigint): bigint | Uint8Array {
    return armGetOneReg(vcpu, id);
  }

  setOneReg(vcpu: KvmVcpu, id: bigint, value: bigint | Uint8Array): void {
    armSetOneReg(vcpu, id, value);
  }

  getRegList(vcpu: KvmVcpu): bigint[] {
    return armRegList(vcpu);
  }

  getMpState(vcpu: KvmVcpu): number {
    return armVcpu(vcpu).psci.mpState;
  }

  /** KVM_SET_MP_STATE: RUNNABLE, STOPPED and SUSPENDED (kvm-arm-psci's check). */
  setMpState(vcpu: KvmVcpu, state: number): void {
    armVcpu(vcpu).psci.setMpState({ mp_state: state });
  }

  /**
   * kvm_vm_ioctl_irq_line() without an in-kernel GIC: KVM_ARM_IRQ_TYPE_CPU
   * drives a vCPU's IRQ (0) or FIQ (1) input, as HCR_EL2.VI/VF
   * (vcpu_interrupt_line()). SPI and PPI need an in-kernel GIC (ENXIO); an
   * unknown vCPU, line or type is EINVAL.
   */
  setIrq(vm: KvmVm, irq: number, level: number): void {
    const op = 'KVM_IRQ_LINE';
    const type = (irq >>> KVM_ARM_IRQ_TYPE_SHIFT) & 0xf;
    const idx = ((irq >>> KVM_ARM_IRQ_VCPU_SHIFT) & 0xff) | (((irq >>> KVM_ARM_IRQ_VCPU2_SHIFT) & 0xf) << 8);
    const num = irq & 0xffff;
    if (type === KVM_ARM_IRQ_TYPE_SPI || type === KVM_ARM_IRQ_TYPE_PPI)
      fail('ENXIO', "no in-kernel GIC: SPIs and PPIs are user space's", op);
    if (type !== KVM_ARM_IRQ_TYPE_CPU) fail('EINVAL', `irq type ${type}`, op);
    const vcpu = vm.vcpus[idx];
    if (vcpu === undefined) fail('EINVAL', `no vCPU ${idx}`, op);
    if (num > KVM_ARM_IRQ_CPU_FIQ) fail('EINVAL', `CPU line ${num} is neither IRQ nor FIQ`, op);
    const s = armVcpu(vcpu);
    const on = level !== 0;
    if (num === KVM_ARM_IRQ_CPU_IRQ) {
      s.irqLine = on;
      s.cpu.setVirtualIrq(on);
    } else {
      s.fiqLine = on;
      s.cpu.setVirtualFiq(on);
    }
  }

  /** No in-kernel irqchip: irqfds cannot be assigned (EAGAIN), as on arm64 without a vGIC. */
  intcInitialized(): boolean {
    return false;
  }

  /** KVM_ARM_PREFERRED_TARGET (kvm-arm-psci); ENOTTY for other VM ioctls. */
  vmIoctl(vm: KvmVm, cmd: number, arg: unknown): unknown {
    if (cmd === KVM_ARM_PREFERRED_TARGET) {
      armVm(vm).psci.preferredTarget(arg as KvmVcpuInit);
      return 0;
    }
    return fail('ENOTTY', `unknown VM ioctl 0x${cmd.toString(16)}`);
  }

  /**
   * KVM_ARM_VCPU_INIT (kvm-arm-psci's checks of target and features, then
   * the reset); ENOTTY for other vCPU ioctls.
   */
  vcpuIoctl(vcpu: KvmVcpu, cmd: number, arg: unknown): unknown {
    if (cmd === KVM_ARM_VCPU_INIT) {
      armVcpu(vcpu).psci.init(arg as KvmVcpuInit);
      return 0;
    }
    return fail('ENOTTY', `unknown vCPU ioctl 0x${cmd.toString(16)}`);
  }
}
