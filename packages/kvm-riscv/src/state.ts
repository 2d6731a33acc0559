import { fail } from '@tsvirt/core-bus';
import type { KvmVcpu, KvmVm } from '@tsvirt/kvm-core';
import type { KvmRiscvMmu } from '@tsvirt/kvm-riscv-mmu';
import type { Hart } from '@tsvirt/riscv-hart';
import { KvmAia, VcpuAia } from './aia.ts';
import type { MmioDecode } from './mmio.ts';

/** KVM_RISCV_SBI_EXT_STATUS_*: per-vCPU availability of each SBI extension. */
export const SBI_EXT_STATUS_UNINITIALIZED = 0;
export const SBI_EXT_STATUS_UNAVAILABLE = 1;
export const SBI_EXT_STATUS_ENABLED = 2;
export const SBI_EXT_STATUS_DISABLED = 3;

/** struct kvm_arch (RISC-V): the G-stage MMU, the timebase, the IRQ line hook. */
export class RiscvVmState {
  /** The VM's guest timebase in ticks (the host counter before htimedelta). */
  time = 0;
  /** Fractional ticks not yet added to `time`. */
  private frac = 0;
  /**
   * Where KVM_IRQ_LINE and irqfds deliver (gsi, level). RISC-V KVM without
   * an in-kernel AIA has no irqchip; a VMM with a user-space PLIC plugs its
   * input here so irqfd relays reach it.
   */
  irqLine: ((gsi: number, level: number) => void) | undefined;
  /** The in-kernel AIA (struct kvm_aia); in use once KVM_DEV_TYPE_RISCV_AIA is created. */
  readonly aia: KvmAia;

  constructor(
    /** The VM's G-stage MMU. */
    readonly mmu: KvmRiscvMmu,
    /** The VM's VMID. */
    readonly vmid: number,
    /** Timebase frequency in Hz (the guest's time CSR rate). */
    readonly timebaseFrequency: number,
    /** Guest instructions per timebase tick: the deterministic clock. */
    readonly insnsPerTick: number,
    /** The harts' guest interrupt files and their N + 1 (kvm_riscv_aia_nr_hgei, kvm_riscv_aia_max_ids). */
    aiaHw: { nrHgei: number; maxIds: number } = { nrHgei: 0, maxIds: 256 },
  ) {
    this.aia = new KvmAia(aiaHw.nrHgei, aiaHw.maxIds);
  }

  /** Advance the virtual clock by `retired` instructions. */
  advance(retired: number): void {
    const t = this.frac + retired / this.insnsPerTick;
    const whole = Math.floor(t);
    this.time += whole;
    this.frac = t - whole;
  }

  /** Jump the clock forward to `ticks` (every vCPU is idle until then). */
  skipTo(ticks: number): void {
    if (ticks > this.time) {
      this.time = ticks;
      this.frac = 0;
    }
  }
}

/** A KVM_EXIT_RISCV_SBI forwarded to user space, completed on the next KVM_RUN. */
export interface PendingSbi {
  /** The forwarded call is a legacy v0.1 one. */
  v01: boolean;
}

/** struct kvm_vcpu_arch (RISC-V). */
export class RiscvVcpuState {
  /** HSM: the vCPU is stopped (mp_state KVM_MP_STATE_STOPPED). */
  powerOff = false;
  /** Halted in wfi / retentive suspend until an enabled interrupt is pending. */
  blocked = false;
  /** Guest-visible HSM "suspended" while blocked through HART_SUSPEND. */
  suspended = false;
  /** vcpu->arch.ran_atleast_once: SBI extension registers freeze. */
  ranAtLeastOnce = false;
  /** The MMIO access waiting for KVM_RUN to complete it. */
  mmio: MmioDecode | undefined;
  /** An SBI call forwarded to user space, waiting for the next KVM_RUN. */
  sbi: PendingSbi | undefined;
  /** Instructions left of this vCPU's scheduling quantum. */
  budget: number;
  /**
   * An IPI to another vCPU was just sent: end this quantum now so the
   * targets run next (a directed yield, as kvm_vcpu_on_spin() yields to the
   * vCPU a spinner waits for). On one thread the sender would otherwise spin
   * out its quantum in csd_lock_wait() before any target could answer.
   */
  yieldToTargets = false;
  /** KVM_RISCV_SBI_EXT_STATUS_* by kvm_riscv_sbi_ext_id. */
  readonly sbiExtStatus: Uint8Array;
  /** struct kvm_riscv_timer.state. */
  timerOn = false;
  /** hart.instret when the guest was last entered (for the in-quantum clock). */
  entryInstret = 0;
  /** Guest instructions KVM or user space completed (MMIO, SBI, wfi): they trapped, so are not in instret. */
  completedInsns = 0;
  /** struct kvm_vcpu_aia: the vCPU's IMSIC. */
  readonly aia = new VcpuAia();

  constructor(
    /** The hart that runs the vCPU. */
    readonly hart: Hart,
    /** Instructions per scheduling quantum. */
    readonly quantum: number,
    sbiExtStatus: Uint8Array,
  ) {
    this.budget = quantum;
    this.sbiExtStatus = sbiExtStatus;
  }
}

/** The RISC-V state of a VM; EINVAL if the VM belongs to another arch. */
export function riscvVm(vm: KvmVm): RiscvVmState {
  const s = vm.arch;
  if (!(s instanceof RiscvVmState)) return fail('EINVAL', 'not a RISC-V VM');
  return s;
}

/** The RISC-V state of a vCPU; EINVAL if the vCPU belongs to another arch. */
export function riscvVcpu(vcpu: KvmVcpu): RiscvVcpuState {
  const s = vcpu.arch;
  if (!(s instanceof RiscvVcpuState)) return fail('EINVAL', 'not a RISC-V vCPU');
  return s;
}
