import {
  type Arm64Exit,
  ESR_EC_DABT_LOW,
  ESR_EC_HVC64,
  ESR_EC_IABT_LOW,
  ESR_EC_SMC64,
  ESR_EC_SYS64,
  ESR_EC_WFX,
} from '@tsvirt/arm64-core';
import { fail } from '@tsvirt/core-bus';
import {
  KVM_EXIT_INTR,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  KVM_MP_STATE_SUSPENDED,
  KVM_REQ_TLB_FLUSH,
  KVM_SYSTEM_EVENT_WAKEUP,
  type KvmRun,
  type KvmVcpu,
  type KvmVm,
} from '@tsvirt/kvm-core';
import { injectAbort, injectUndefined } from './inject.ts';
import {
  decodeDabt,
  ESR_ELX_CM,
  ESR_ELX_FSC,
  ESR_ELX_FSC_ACCESS,
  ESR_ELX_FSC_FAULT,
  ESR_ELX_FSC_PERM,
  ESR_ELX_FSC_TYPE,
  ESR_ELX_S1PTW,
  ESR_ELX_WNR,
  mmioComplete,
  mmioStoreData,
} from './mmio.ts';
import { resetVcpu } from './reset.ts';
import { hpfarToIpa, PAGE_SIZE } from './stage2.ts';
import { type ArmVcpuState, armVcpu, armVm } from './state.ts';
import { PSR_MODE_EL0T, SCTLR_ELX_EE, SYS_SCTLR_EL1 } from './sysregs.ts';
import { skipVirtualTime, vtimerLevel, vtimerTicksLeft } from './timer.ts';
import { KVM_ARM_DEV_EL1_VTIMER } from './uapi.ts';

const hex = (v: bigint | number) => `0x${v.toString(16)}`;
const mmioBuf = new Uint8Array(8);

/** kvm_cpu_has_pending_timer() || the IRQ/FIQ lines: what wakes a vCPU halted in WFI (PSTATE masking does not matter). */
export function vcpuHasInterrupts(vcpu: KvmVcpu): boolean {
  const s = armVcpu(vcpu);
  return s.irqLine || s.fiqLine || vtimerLevel(s.cpu);
}

/** kvm_arch_vcpu_runnable(): powered on and not halted (or halted with something to wake it). */
export function vcpuRunnable(vcpu: KvmVcpu): boolean {
  const s = armVcpu(vcpu);
  if (s.psci.mpState === KVM_MP_STATE_STOPPED) return s.psci.resetState !== undefined;
  return !s.blocked || vcpuHasInterrupts(vcpu);
}

/**
 * Every powered vCPU of the VM is halted: move the virtual counters forward
 * to the earliest virtual timer deadline, as the host would sleep until its
 * hrtimer fires. false when nothing but user space can wake the VM.
 */
export function idleSkip(vm: KvmVm): boolean {
  let best: bigint | undefined;
  for (const v of vm.vcpus) {
    if (vcpuRunnable(v)) return true;
    const s = armVcpu(v);
    if (s.psci.mpState === KVM_MP_STATE_STOPPED) continue;
    const left = vtimerTicksLeft(s.cpu);
    if (left !== undefined && (best === undefined || left < best)) best = left;
  }
  if (best === undefined) return false;
  // Every vCPU shares the host's counter: all move together.
  for (const v of vm.vcpus) if (!skipVirtualTime(armVcpu(v).cpu, best)) return false;
  return true;
}

/** The guest's data endianness at the faulting EL: SCTLR_EL1.EE at EL1, .E0E at EL0 (kvm_vcpu_is_be()). */
function guestBigEndian(s: ArmVcpuState): boolean {
  const sctlr = s.cpu.getSysReg(SYS_SCTLR_EL1) ?? 0n;
  const bit = (s.cpu.pstate & 0xf) === PSR_MODE_EL0T ? 1n << 24n : SCTLR_ELX_EE;
  return (sctlr & bit) !== 0n;
}

/**
 * kvm_handle_guest_abort() and io_mem_abort(): a stage-2 fault in RAM is
 * mapped and the guest resumes; outside RAM the access is emulated from the
 * syndrome by an in-kernel device or becomes KVM_EXIT_MMIO. Returns true on
 * an exit to user space. As upstream: an instruction fetch outside RAM
 * injects a prefetch abort, a stage-1 walk outside RAM a data abort, a cache
 * maintenance instruction on MMIO is skipped; a data abort without a valid
 * syndrome (ISV clear) fails KVM_RUN with ENOSYS; a fault status that is not
 * a translation, access-flag or permission fault fails it with EFAULT.
 */
function guestAbort(vcpu: KvmVcpu, s: ArmVcpuState, e: Arm64Exit, isIabt: boolean): boolean {
  const esr = e.esr >>> 0;
  const fsc = esr & ESR_ELX_FSC;
  const type = fsc & ESR_ELX_FSC_TYPE;
  if (type !== ESR_ELX_FSC_FAULT && type !== ESR_ELX_FSC_ACCESS && type !== ESR_ELX_FSC_PERM)
    fail('EFAULT', `unsupported stage-2 fault status ${hex(fsc)} (ESR_EL2 ${hex(esr)})`, 'KVM_RUN');
  const cpu = s.cpu;
  const vs = armVm(vcpu.vm);
  const pageIpa = hpfarToIpa(e.hpfar);
  if (pageIpa >= BigInt(vs.mmu.pgt.ipaSize)) {
    // Beyond the VM's IPA size: the guest gets an external abort.
    injectAbort(cpu, isIabt, e.far, esr);
    return false;
  }
  const s1ptw = (esr & ESR_ELX_S1PTW) !== 0;
  // kvm_is_write_fault(): a stage-1 walk may write (A/D bits); an instruction fetch never does.
  const write = !isIabt && (s1ptw || (esr & ESR_ELX_WNR) !== 0);
  if (vs.mmu.handleFault(Number(pageIpa), write) === 'mapped') return false;
  if (isIabt) {
    injectAbort(cpu, true, e.far, esr);
    return false;
  }
  if (s1ptw) {
    injectAbort(cpu, false, e.far, esr);
    return false;
  }
  if ((esr & ESR_ELX_CM) !== 0) {
    // A cache maintenance operation on a device: nothing to do, skip it.
    cpu.pc += 4n;
    return false;
  }
  const ipa = pageIpa | (e.far & BigInt(PAGE_SIZE - 1));
  const d = decodeDabt(esr, guestBigEndian(s));
  if (d === undefined)
    fail('ENOSYS', `data abort outside memslots with no valid syndrome at ipa ${hex(ipa)}`, 'KVM_RUN');
  const data = d.isWrite ? mmioStoreData(cpu, d, mmioBuf) : mmioBuf.subarray(0, d.len).fill(0);
  if (vcpu.emulateMmio(Number(ipa), data, d.isWrite)) {
    mmioComplete(cpu, d, data);
    return false;
  }
  vcpu.run.mmio.phys_addr = ipa;
  s.mmio = d;
  return true;
}

/** DC ISW / CSW / CISW (Op0 1, Op1 0, CRn 7, CRm 6/10/14, Op2 2) in an ESR_EL2 SYS64 ISS. */
function isSetWayOp(iss: number): boolean {
  const op0 = (iss >>> 20) & 3;
  const op2 = (iss >>> 17) & 7;
  const op1 = (iss >>> 14) & 7;
  const crn = (iss >>> 10) & 15;
  const crm = (iss >>> 1) & 15;
  return op0 === 1 && op1 === 0 && crn === 7 && op2 === 2 && (crm === 6 || crm === 10 || crm === 14);
}

/**
 * handle_exit() for an exception taken to EL2. Returns true when user space
 * must see the exit (run is filled).
 */
function handleTrap(vcpu: KvmVcpu, s: ArmVcpuState, e: Arm64Exit): boolean {
  const esr = e.esr >>> 0;
  const ec = esr >>> 26;
  const cpu = s.cpu;
  switch (ec) {
    case ESR_EC_WFX:
      // kvm_handle_wfx(): WFE just yields; WFI halts until an interrupt. Both are stepped over.
      cpu.pc += 4n;
      if ((esr & 1) === 0 && !vcpuHasInterrupts(vcpu)) s.blocked = true;
      return false;
    case ESR_EC_HVC64:
      // The PC already points past the HVC (its preferred return address).
      return s.psci.handleHvc(esr & 0xffff) === 0;
    case ESR_EC_SMC64:
      // handle_smc(): the PC points at the SMC; kvm-arm-psci steps over it.
      return s.psci.handleSmc(esr & 0xffff) === 0;
    case ESR_EC_SYS64:
      // access_dcsw(): set/way maintenance is meaningless in a VM; skip it.
      if (isSetWayOp(esr & 0x1ff_ffff)) {
        cpu.pc += 4n;
        return false;
      }
      injectUndefined(cpu, esr);
      return false;
    case ESR_EC_IABT_LOW:
      return guestAbort(vcpu, s, e, true);
    case ESR_EC_DABT_LOW:
      return guestAbort(vcpu, s, e, false);
    default:
      // kvm_handle_unknown_ec() and every class KVM does not handle: UNDEF for the guest.
      injectUndefined(cpu, esr);
      return false;
  }
}

/**
 * kvm_arch_vcpu_ioctl_run(): apply a pending CPU_ON, then run the CPU until
 * an exit user space must see. A quantum that ends, a halted or powered-off
 * vCPU, or a change of the virtual timer's output (KVM_CAP_ARM_USER_IRQ:
 * user space's GIC must follow it, kvm_timer_should_notify_user()) returns
 * KVM_EXIT_INTR: call again.
 */
export function runVcpu(vcpu: KvmVcpu, run: KvmRun): void {
  const s = armVcpu(vcpu);
  const psci = s.psci;
  if (!psci.initialized) fail('ENOEXEC', 'KVM_ARM_VCPU_INIT first', 'KVM_RUN');
  const cpu = s.cpu;
  psci.vm.ranOnce = true;
  for (;;) {
    if (vcpu.checkRequest(KVM_REQ_TLB_FLUSH)) cpu.flushTlb();
    const rs = psci.resetState;
    if (rs !== undefined) {
      // KVM_REQ_VCPU_RESET from CPU_ON: reset, then enter at the entry point with x0 = context id.
      psci.resetState = undefined;
      resetVcpu(s, rs.be);
      cpu.pc = rs.pc;
      cpu.x[0] = rs.r0;
      s.blocked = false;
    }
    if (psci.mpState === KVM_MP_STATE_STOPPED) {
      run.exit_reason = KVM_EXIT_INTR;
      return;
    }
    const level = vtimerLevel(cpu) ? KVM_ARM_DEV_EL1_VTIMER : 0;
    if (level !== s.deviceIrqLevel) {
      s.deviceIrqLevel = level;
      run.exit_reason = KVM_EXIT_INTR;
      return;
    }
    if (s.blocked || psci.mpState === KVM_MP_STATE_SUSPENDED) {
      if (!vcpuHasInterrupts(vcpu)) {
        run.exit_reason = KVM_EXIT_INTR;
        return;
      }
      s.blocked = false;
      if (psci.mpState === KVM_MP_STATE_SUSPENDED) {
        // kvm_arm_vcpu_suspend(): woken, user space is told so.
        psci.mpState = KVM_MP_STATE_RUNNABLE;
        run.system_event.type = KVM_SYSTEM_EVENT_WAKEUP;
        run.system_event.ndata = 0;
        run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
        return;
      }
    }
    if (s.budget <= 0) {
      s.budget = s.quantum;
      run.exit_reason = KVM_EXIT_INTR;
      return;
    }
    const e = cpu.run(s.budget);
    // A 'budget' exit used every step it was given, exceptions taken included
    // (arm64-core counts them as steps): a guest whose vector traps again
    // forever retires nothing, yet its slice is over.
    s.budget = e.kind === 'budget' ? 0 : s.budget - Math.max(1, e.retired);
    if (e.kind === 'trap' && handleTrap(vcpu, s, e)) return;
  }
}

/** Finish an MMIO load/store user space has emulated (kvm_handle_mmio_return()). */
export function completeMmio(vcpu: KvmVcpu, run: KvmRun): void {
  const s = armVcpu(vcpu);
  const d = s.mmio;
  if (d === undefined) return;
  s.mmio = undefined;
  mmioComplete(s.cpu, d, run.mmio.data);
}
