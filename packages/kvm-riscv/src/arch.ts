import { fail } from '@tsvirt/core-bus';
import type { HostPhysMemory } from '@tsvirt/host-mm';
import {
  KVM_CAP_VM_GPA_BITS,
  KVM_EXIT_MMIO,
  KVM_EXIT_RISCV_SBI,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_STOPPED,
  type KvmArchOps,
  type KvmMemorySlot,
  type KvmMrChange,
  type KvmRun,
  type KvmVcpu,
  type KvmVm,
} from '@tsvirt/kvm-core';
import { gstageGpaBits, HGATP_MODE_SV48X4, KvmRiscvMmu, VmidAllocator } from '@tsvirt/kvm-riscv-mmu';
import {
  CSR_HCOUNTEREN,
  CSR_HEDELEG,
  CSR_HENVCFG,
  CSR_HGATP,
  CSR_HIDELEG,
  CSR_HSTATUS,
  ENVCFG_STCE,
  EXC_BREAKPOINT,
  EXC_ECALL_U,
  EXC_INST_MISALIGNED,
  EXC_INST_PAGE_FAULT,
  EXC_LOAD_PAGE_FAULT,
  EXC_STORE_PAGE_FAULT,
  Hart,
  HSTATUS_VTW,
  IRQ_VS_EXT,
  type PhysMemory,
  PRV_S,
  ReservationSet,
  VS_INTERRUPTS,
  type WasmArena,
} from '@tsvirt/riscv-hart';
import { aiaBypassAddProducer, aiaBypassDelProducer } from './aia-bypass.ts';
import { KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI, type KvmIrqRouting, type KvmMsi } from './aia-uapi.ts';
import { aiaSetIrq, kvmSetGsiRouting, kvmSignalMsi } from './irq-routing.ts';
import { mmioComplete } from './mmio.ts';
import { riscvGetOneReg, riscvRegList, riscvSetOneReg } from './one-reg.ts';
import { KVM_INTERRUPT_SET, KVM_INTERRUPT_UNSET } from './onereg-uapi.ts';
import { initialSbiExtStatus, sbiComplete } from './sbi.ts';
import { RiscvVcpuState, RiscvVmState, riscvVcpu, riscvVm } from './state.ts';
import { vcpuPowerOff } from './vcpu-ops.ts';
import { runVcpu } from './vcpu-run.ts';

/** How the RISC-V arch runs VMs: G-stage mode, scheduling quantum, timebase, host memory and the JIT. */
export interface KvmRiscvOptions {
  /** hgatp mode for new VMs: HGATP_MODE_SV39X4 or HGATP_MODE_SV48X4 (default, the largest the hart has). */
  gstageMode?: number;
  /** Instructions a vCPU runs before KVM_RUN yields (KVM_EXIT_INTR) to the next. Default 50 000. */
  quantum?: number;
  /** The guest timebase (riscv_timebase), Hz. Default 10 MHz, as QEMU's virt board. */
  timebaseFrequency?: number;
  /** Guest instructions per timebase tick of the deterministic clock. Default 10 (a nominal 100 MIPS). */
  insnsPerTick?: number;
  /** Host memory, when the VM's owner mm is not given to Kvm. */
  phys?: HostPhysMemory;
  /** The harts' block compiler (riscv-hart HartOptions.jit). Default on. */
  jit?: boolean;
  /** Visits before a block head is compiled (HartOptions.jitThreshold). Default riscv-hart's (JIT_HOT, or WASM_HOT with an arena). */
  jitThreshold?: number;
  /**
   * The wasm arena that backs host memory (HostPhysMemoryOptions.allocChunk
   * = arena.chunk): the harts then compile blocks to WebAssembly
   * (HartOptions.arena). Without it, blocks are JavaScript.
   */
  arena?: WasmArena;
  /** Guest interrupt files per hart (GEILEN; the AIA's HWACCEL mode uses one per vCPU). Default 1; 0 leaves only EMUL. */
  aiaGuestFiles?: number;
  /** Identities (N) of each hart's guest interrupt file. Default 255, as QEMU's virt IMSIC. */
  imsicIds?: number;
}

/** hedeleg as KVM sets it: the exceptions the guest handles itself. */
const KVM_HEDELEG =
  (1 << EXC_INST_MISALIGNED) |
  (1 << EXC_BREAKPOINT) |
  (1 << EXC_ECALL_U) |
  (1 << EXC_INST_PAGE_FAULT) |
  (1 << EXC_LOAD_PAGE_FAULT) |
  (1 << EXC_STORE_PAGE_FAULT);

/**
 * The RISC-V KVM arch (arch/riscv/kvm): the kvm_arch_* hooks over the
 * emulated hart and the G-stage MMU of @tsvirt/kvm-riscv-mmu.
 */
export class KvmRiscvArch implements KvmArchOps {
  /** Architecture name. */
  readonly name = 'riscv';
  readonly readonlyMem = true;
  /** VMID allocator shared by the VMs. */
  readonly vmids = new VmidAllocator();
  private readonly opts: Required<Omit<KvmRiscvOptions, 'phys' | 'jitThreshold' | 'arena'>> &
    Pick<KvmRiscvOptions, 'phys' | 'jitThreshold' | 'arena'>;
  private readonly reservations = new WeakMap<KvmVm, ReservationSet>();

  constructor(opts: KvmRiscvOptions = {}) {
    this.opts = {
      gstageMode: opts.gstageMode ?? HGATP_MODE_SV48X4,
      quantum: opts.quantum ?? 50_000,
      timebaseFrequency: opts.timebaseFrequency ?? 10_000_000,
      insnsPerTick: opts.insnsPerTick ?? 10,
      jit: opts.jit ?? true,
      ...(opts.jitThreshold === undefined ? {} : { jitThreshold: opts.jitThreshold }),
      ...(opts.arena === undefined ? {} : { arena: opts.arena }),
      aiaGuestFiles: opts.aiaGuestFiles ?? 1,
      imsicIds: opts.imsicIds ?? 255,
      ...(opts.phys ? { phys: opts.phys } : {}),
    };
  }

  /** kvm_vm_ioctl_check_extension() (RISC-V): KVM_CAP_VM_GPA_BITS is the G-stage's guest physical width. */
  checkExtension(cap: number): number {
    if (cap === KVM_CAP_VM_GPA_BITS) return gstageGpaBits(this.opts.gstageMode);
    return 0;
  }

  /** kvm_arch_init_vm(): type 0 only; allocates the G-stage root and a VMID. */
  vmInit(vm: KvmVm, type: number): void {
    if (type !== 0) fail('EINVAL', `KVM_CREATE_VM type ${type} (RISC-V takes 0)`, 'KVM_CREATE_VM');
    const phys = vm.mm?.phys ?? this.opts.phys;
    if (phys === undefined)
      fail('EINVAL', 'no host memory: give Kvm an mm or KvmRiscvArch a phys', 'KVM_CREATE_VM');
    const vmid = this.vmids.alloc();
    const mmu = new KvmRiscvMmu(vm, { phys, mode: this.opts.gstageMode, vmid });
    vm.arch = new RiscvVmState(mmu, vmid, this.opts.timebaseFrequency, this.opts.insnsPerTick, {
      nrHgei: this.opts.aiaGuestFiles,
      maxIds: this.opts.imsicIds + 1,
    });
    this.reservations.set(vm, new ReservationSet());
  }

  vmDestroy(vm: KvmVm): void {
    riscvVm(vm).mmu.destroy();
  }

  prepareMemoryRegion(
    vm: KvmVm,
    _old: KvmMemorySlot | undefined,
    next: KvmMemorySlot | undefined,
    change: KvmMrChange,
  ): void {
    riscvVm(vm).mmu.prepareMemoryRegion(next, change);
  }

  commitMemoryRegion(): void {}

  flushShadowMemslot(vm: KvmVm, slot: KvmMemorySlot): void {
    riscvVm(vm).mmu.flushShadowMemslot(slot);
  }

  unmapGfnRange(vm: KvmVm, _slot: KvmMemorySlot, start: number, end: number): void {
    riscvVm(vm).mmu.unmapGfnRange(start, end);
  }

  flushShadowAll(vm: KvmVm): void {
    riscvVm(vm).mmu.flushShadowAll();
  }

  enableLogDirtyPtMasked(vm: KvmVm, slot: KvmMemorySlot, gfnOffset: number, mask: bigint): void {
    riscvVm(vm).mmu.enableLogDirtyPtMasked(slot, gfnOffset, mask);
  }

  writeProtectMemslot(vm: KvmVm, slot: KvmMemorySlot): void {
    riscvVm(vm).mmu.writeProtectMemslot(slot);
  }

  /** kvm_arch_flush_remote_tlbs(): HFENCE.GVMA of the VM's VMID on every hart. */
  flushRemoteTlbs(vm: KvmVm): void {
    const vmid = riscvVm(vm).vmid;
    for (const v of vm.vcpus) riscvVcpu(v).hart.flushGStage(vmid);
  }

  /**
   * kvm_arch_vcpu_create() + kvm_riscv_reset_vcpu(): a hart in VS-mode at
   * pc 0 with KVM's delegation (hedeleg/hideleg), wfi trapping (VTW), Sstc
   * for the guest timer, every counter visible, and the VM's hgatp.
   */
  vcpuCreate(vcpu: KvmVcpu): void {
    const vs = riscvVm(vcpu.vm);
    const phys = vs.mmu.phys;
    const total = phys.totalFrames;
    const mem: PhysMemory = { frame: (pfn) => (pfn >= 0 && pfn < total ? phys.frame(pfn) : undefined) };
    const ipt = vs.insnsPerTick;
    let state: RiscvVcpuState | undefined;
    // The clock moves inside a quantum too: the VM's time plus this hart's
    // progress since it entered the guest (monotonic, and deterministic).
    const hart: Hart = new Hart({
      mem,
      jit: this.opts.jit,
      ...(this.opts.jitThreshold === undefined ? {} : { jitThreshold: this.opts.jitThreshold }),
      ...(this.opts.arena === undefined ? {} : { arena: this.opts.arena }),
      geilen: this.opts.aiaGuestFiles,
      imsicIds: this.opts.imsicIds,
      reservations: this.reservations.get(vcpu.vm)!,
      readTime: () =>
        BigInt(vs.time + Math.floor((hart.instret - (state?.entryInstret ?? hart.instret)) / ipt)),
    });
    hart.setCsr(CSR_HSTATUS, BigInt(HSTATUS_VTW));
    hart.setCsr(CSR_HEDELEG, BigInt(KVM_HEDELEG));
    hart.setCsr(CSR_HIDELEG, BigInt(VS_INTERRUPTS));
    hart.setCsr(CSR_HENVCFG, ENVCFG_STCE);
    hart.setCsr(CSR_HCOUNTEREN, 0xffff_ffffn);
    hart.setCsr(CSR_HGATP, vs.mmu.hgatp);
    const first = vcpu.vm.vcpus[0];
    if (first !== undefined) hart.htimedelta = riscvVcpu(first).hart.htimedelta;
    hart.setMode(PRV_S, 1);
    hart.pc = 0n;
    state = new RiscvVcpuState(hart, this.opts.quantum, initialSbiExtStatus());
    vcpu.arch = state;
  }

  vcpuDestroy(vcpu: KvmVcpu): void {
    vcpuPowerOff(vcpu);
  }

  /** Finish an MMIO load/store or a forwarded SBI call user space has handled. */
  vcpuCompleteExit(vcpu: KvmVcpu, run: KvmRun): void {
    const s = riscvVcpu(vcpu);
    if (run.exit_reason === KVM_EXIT_MMIO && s.mmio !== undefined) {
      const d = s.mmio;
      s.mmio = undefined;
      mmioComplete(s.hart, d, run.mmio.data);
      s.completedInsns++;
    } else if (run.exit_reason === KVM_EXIT_RISCV_SBI) {
      sbiComplete(s, run);
    }
  }

  vcpuRun(vcpu: KvmVcpu, run: KvmRun): void {
    runVcpu(vcpu, run);
  }

  getOneReg(vcpu: KvmVcpu, id: bigint): bigint {
    return riscvGetOneReg(vcpu, id);
  }

  setOneReg(vcpu: KvmVcpu, id: bigint, value: bigint | Uint8Array): void {
    riscvSetOneReg(vcpu, id, value);
  }

  getRegList(vcpu: KvmVcpu): bigint[] {
    return riscvRegList(vcpu);
  }

  getMpState(vcpu: KvmVcpu): number {
    return riscvVcpu(vcpu).powerOff ? KVM_MP_STATE_STOPPED : KVM_MP_STATE_RUNNABLE;
  }

  /** KVM_SET_MP_STATE: RUNNABLE powers the vCPU on where it is, STOPPED off; others EINVAL. */
  setMpState(vcpu: KvmVcpu, state: number): void {
    const s = riscvVcpu(vcpu);
    if (state === KVM_MP_STATE_RUNNABLE) s.powerOff = false;
    else if (state === KVM_MP_STATE_STOPPED) vcpuPowerOff(vcpu);
    else fail('EINVAL', `mp_state ${state} is not RUNNABLE or STOPPED`, 'KVM_SET_MP_STATE');
  }

  /** KVM_INTERRUPT: KVM_INTERRUPT_SET / _UNSET drive VSEIP; any other number is EINVAL. */
  vcpuInterrupt(vcpu: KvmVcpu, irq: number): void {
    const v = irq | 0;
    if (v === KVM_INTERRUPT_SET) riscvVcpu(vcpu).hart.setInterrupt(IRQ_VS_EXT, true);
    else if (v === KVM_INTERRUPT_UNSET) riscvVcpu(vcpu).hart.setInterrupt(IRQ_VS_EXT, false);
    else fail('EINVAL', `KVM_INTERRUPT irq ${irq} is neither KVM_INTERRUPT_SET nor _UNSET`, 'KVM_INTERRUPT');
  }

  /**
   * KVM_IRQ_LINE / irqfd: into the in-kernel AIA once it exists (GSI
   * routing, irq-routing.ts), else to the VMM's user-space interrupt
   * controller when it plugged one in (riscvVm(vm).irqLine).
   */
  setIrq(vm: KvmVm, irq: number, level: number): void {
    const s = riscvVm(vm);
    if (s.aia.inKernel) aiaSetIrq(vm, irq, level);
    else s.irqLine?.(irq, level);
  }

  /** kvm_arch_irq_bypass_add_producer(): post an MSI-routed device interrupt into the target IMSIC file. */
  irqBypassAddProducer(vm: KvmVm, hostIrq: number, gsi: number): void {
    aiaBypassAddProducer(vm, hostIrq, gsi);
  }

  /** kvm_arch_irq_bypass_del_producer(). */
  irqBypassDelProducer(vm: KvmVm, hostIrq: number, gsi: number): void {
    aiaBypassDelProducer(vm, hostIrq, gsi);
  }

  /**
   * kvm_vm_ioctl_irq_line() -> kvm_riscv_aia_inject_irq(): with the
   * in-kernel AIA, the APLIC pin itself (not GSI routing): EBUSY before
   * CTRL_INIT, ENODEV for source 0 or past the sources. Without it, the
   * VMM's line (riscvVm(vm).irqLine), as setIrq.
   */
  irqLine(vm: KvmVm, irq: number, level: number): void {
    const s = riscvVm(vm);
    if (!s.aia.inKernel) {
      s.irqLine?.(irq, level);
      return;
    }
    if (!s.aia.initialized) fail('EBUSY', 'the AIA is not initialised', 'KVM_IRQ_LINE');
    const aplic = s.aia.aplic;
    if (aplic === undefined) fail('ENODEV', 'the AIA has no APLIC sources', 'KVM_IRQ_LINE');
    try {
      aplic.inject(irq, level !== 0);
    } catch (e) {
      (e as { syscall?: string }).syscall ??= 'KVM_IRQ_LINE';
      throw e;
    }
  }

  /** kvm_arch_intc_initialized(): an in-kernel AIA must be initialised before irqfds bind (EAGAIN). */
  intcInitialized(vm: KvmVm): boolean {
    const aia = riscvVm(vm).aia;
    return !aia.inKernel || aia.initialized;
  }

  /** kvm_arch_vm_ioctl(): KVM_SET_GSI_ROUTING and KVM_SIGNAL_MSI (generic upstream, here with the only irqchip). */
  vmIoctl(vm: KvmVm, cmd: number, arg: unknown): unknown {
    if (cmd === KVM_SET_GSI_ROUTING) {
      kvmSetGsiRouting(vm, arg as KvmIrqRouting);
      return 0;
    }
    if (cmd === KVM_SIGNAL_MSI) return kvmSignalMsi(vm, arg as KvmMsi);
    return fail('ENOTTY', `unknown vm ioctl 0x${cmd.toString(16)}`);
  }
}
