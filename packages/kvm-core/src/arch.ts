import type { KvmMemorySlot } from './memslot.ts';
import type { KvmRun } from './run.ts';
import type { KvmEnableCap } from './structs.ts';
import type { KvmMrChange } from './uapi.ts';
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';

/**
 * What an architecture provides to the generic KVM (the kvm_arch_* hooks).
 * A hook refuses by throwing a KernelError, which the generic code passes to
 * the caller after undoing its own part. Per-VM and per-vCPU arch state lives
 * in `vm.arch` and `vcpu.arch`.
 */
export interface KvmArchOps {
  /** Architecture name. */
  readonly name: string;
  /** KVM_MAX_VCPUS for this arch (default 1024). */
  readonly maxVcpus?: number;
  /** KVM_MAX_VCPU_IDS (default maxVcpus). */
  readonly maxVcpuIds?: number;
  /** KVM_CAP_READONLY_MEM: KVM_MEM_READONLY is a valid flag (default true). */
  readonly readonlyMem?: boolean;

  /** kvm_vm_ioctl_check_extension(): the arch's answer for caps the generic code does not know. */
  checkExtension?(cap: number, vm: KvmVm | undefined): number;
  /** kvm_vm_ioctl_enable_cap(): arch caps; absent means EINVAL for every cap. */
  enableCap?(vm: KvmVm, cap: KvmEnableCap): void;

  /** kvm_arch_init_vm(): validate the KVM_CREATE_VM type and set up vm.arch. */
  vmInit(vm: KvmVm, type: number): void;
  /** kvm_arch_destroy_vm(): called after every vCPU has been destroyed. */
  vmDestroy(vm: KvmVm): void;

  /** kvm_arch_prepare_memory_region(): may refuse; nothing has changed yet. */
  prepareMemoryRegion(
    vm: KvmVm,
    old: KvmMemorySlot | undefined,
    next: KvmMemorySlot | undefined,
    change: KvmMrChange,
  ): void;
  /** kvm_arch_commit_memory_region(): the new slot set is live; must not fail. */
  commitMemoryRegion(
    vm: KvmVm,
    old: KvmMemorySlot | undefined,
    next: KvmMemorySlot | undefined,
    change: KvmMrChange,
  ): void;
  /** kvm_arch_flush_shadow_memslot(): drop every stage-2 mapping of a slot being deleted or moved. */
  flushShadowMemslot(vm: KvmVm, slot: KvmMemorySlot): void;
  /**
   * kvm_unmap_gfn_range(): the host mapping behind gfns [start, end) of
   * `slot` changed or went away (an MMU notifier invalidation); drop those
   * stage-2 mappings and flush the guest TLBs.
   */
  unmapGfnRange?(vm: KvmVm, slot: KvmMemorySlot, start: number, end: number): void;
  /** kvm_arch_flush_shadow_all(): drop every stage-2 mapping (VM teardown, exit_mmap). */
  flushShadowAll?(vm: KvmVm): void;
  /**
   * kvm_arch_mmu_enable_log_dirty_pt_masked(): write-protect the pages
   * baseGfn + gfnOffset + i for each bit i set in the 64-bit `mask`, so the
   * next guest write to them faults and is logged.
   */
  enableLogDirtyPtMasked(vm: KvmVm, slot: KvmMemorySlot, gfnOffset: number, mask: bigint): void;
  /** Write-protect a whole slot when logging is switched on (kvm_mmu_slot_apply_flags); else the masked hook is used 64 pages at a time. */
  writeProtectMemslot?(vm: KvmVm, slot: KvmMemorySlot): void;

  /** kvm_arch_vcpu_precreate(): may refuse before anything is allocated. */
  vcpuPrecreate?(vm: KvmVm, id: number): void;
  /** kvm_arch_vcpu_create(): set up vcpu.arch. */
  vcpuCreate(vcpu: KvmVcpu): void;
  /** kvm_arch_vcpu_destroy(). */
  vcpuDestroy(vcpu: KvmVcpu): void;
  /**
   * Finish the exit user space has just handled (the run struct still holds
   * it): load the data of a KVM_EXIT_MMIO read into the destination
   * register, take the return values of a KVM_EXIT_RISCV_SBI, and so on.
   * Called at the start of KVM_RUN whenever exit_reason is MMIO, IO,
   * RISCV_SBI or RISCV_CSR, before immediate_exit is honoured.
   */
  vcpuCompleteExit?(vcpu: KvmVcpu, run: KvmRun): void;
  /** kvm_arch_vcpu_ioctl_run(): run the guest until an exit, and fill `run`. */
  vcpuRun(vcpu: KvmVcpu, run: KvmRun): void;

  /** KVM_GET_ONE_REG: a bigint for registers of up to 8 bytes, bytes for wider ones. */
  getOneReg?(vcpu: KvmVcpu, id: bigint): bigint | Uint8Array;
  /** KVM_SET_ONE_REG (value shaped as for get). */
  setOneReg?(vcpu: KvmVcpu, id: bigint, value: bigint | Uint8Array): void;
  /** KVM_GET_REG_LIST: every register id the vCPU has, in the arch's order. */
  getRegList?(vcpu: KvmVcpu): bigint[];

  /** KVM_GET_MP_STATE (kvm_arch_vcpu_ioctl_get_mpstate); absent: EINVAL. */
  getMpState?(vcpu: KvmVcpu): number;
  /** KVM_SET_MP_STATE; refuse states the arch does not model with EINVAL. */
  setMpState?(vcpu: KvmVcpu, state: number): void;
  /**
   * kvm_arch_flush_remote_tlbs(): flush every vCPU's guest TLB now. Absent:
   * the generic code posts KVM_REQ_TLB_FLUSH to every vCPU, to be served
   * before its next guest entry (vcpu.checkRequest).
   */
  flushRemoteTlbs?(vm: KvmVm): void;

  /**
   * kvm_vm_ioctl_irq_line(): KVM_IRQ_LINE, where the arch drives its
   * irqchip's pins directly (RISC-V: an APLIC source); absent, KVM_IRQ_LINE
   * goes through setIrq.
   */
  irqLine?(vm: KvmVm, irq: number, level: number): void;
  /** kvm_set_irq(): drive interrupt line `irq` (a GSI) to `level` (0/1); used by KVM_IRQ_LINE and irqfd. */
  setIrq?(vm: KvmVm, irq: number, level: number): void;
  /** kvm_arch_intc_initialized(): irqfd assignment is EAGAIN while false (default true). */
  intcInitialized?(vm: KvmVm): boolean;
  /** KVM_INTERRUPT on a vCPU fd (RISC-V: KVM_INTERRUPT_SET/UNSET of the external interrupt). */
  vcpuInterrupt?(vcpu: KvmVcpu, irq: number): void;
  /**
   * kvm_arch_irq_bypass_add_producer(): a device interrupt (host irq) now
   * reaches guest interrupt `gsi` directly. Only plain numbers cross here:
   * the arch never sees VFIO types.
   */
  irqBypassAddProducer?(vm: KvmVm, hostIrq: number, gsi: number): void;
  /** kvm_arch_irq_bypass_del_producer(): undo the above; must not fail. */
  irqBypassDelProducer?(vm: KvmVm, hostIrq: number, gsi: number): void;

  /**
   * The VM's DMA stopped (or started) being cache-coherent as a whole
   * (kvm_arch_register/unregister_noncoherent_dma, called on the first
   * register and the last unregister only).
   */
  noncoherentDmaChanged?(vm: KvmVm, noncoherent: boolean): void;

  /** kvm_arch_vm_ioctl(): VM ioctls the generic code does not handle (else ENOTTY). */
  vmIoctl?(vm: KvmVm, cmd: number, arg: unknown): unknown;
  /** kvm_arch_vcpu_ioctl(): vCPU ioctls the generic code does not handle (else ENOTTY). */
  vcpuIoctl?(vcpu: KvmVcpu, cmd: number, arg: unknown): unknown;
}
