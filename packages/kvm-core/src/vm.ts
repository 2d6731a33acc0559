import { type FdTable, fail, type KernelFile } from '@tsvirt/core-bus';
import type { MmStruct } from '@tsvirt/host-mm';
import type { KvmArchOps } from './arch.ts';
import { KvmDevice } from './device.ts';
import { kvmClearDirtyLog, kvmGetDirtyLog } from './dirty-log.ts';
import { irqfdShutdown, kvmIoeventfd, kvmIrqfd } from './eventfds.ts';
import { kvmReadGuest, kvmWriteGuest } from './guest-access.ts';
import { KvmIoBus } from './io-bus.ts';
import type { KvmIrqfd } from './irqfd.ts';
import type { Kvm } from './kvm.ts';
import { kvmSetMemoryRegion } from './memory-region.ts';
import { type KvmMemorySlot, KvmMemslots } from './memslot.ts';
import { KvmMmuNotifier } from './mmu-notifier.ts';
import type {
  KvmClearDirtyLog,
  KvmCreateDevice,
  KvmDirtyLog,
  KvmEnableCap,
  KvmIoeventfd,
  KvmIrqfd as KvmIrqfdArgs,
  KvmIrqLevel,
  KvmUserspaceMemoryRegion,
} from './structs.ts';
import {
  KVM_ADDRESS_SPACE_NUM,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_CHECK_EXTENSION,
  KVM_CLEAR_DIRTY_LOG,
  KVM_CREATE_DEVICE,
  KVM_CREATE_DEVICE_TEST,
  KVM_CREATE_VCPU,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_CAPS,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_ENABLE_CAP,
  KVM_GET_DIRTY_LOG,
  KVM_IOEVENTFD,
  KVM_IRQ_LINE,
  KVM_IRQFD,
  KVM_MAX_VCPUS,
  KVM_REQ_TLB_FLUSH,
  KVM_SET_USER_MEMORY_REGION,
  PAGE_SHIFT,
} from './uapi.ts';
import { KvmVcpu } from './vcpu.ts';

/**
 * struct kvm and its fd (KVM_CREATE_VM): memslots, vCPUs, devices, irqfds,
 * ioeventfds and the I/O buses. The VM lives while anything holds it (its
 * own fd, each vCPU fd, each device fd, as kvm_get_kvm/kvm_put_kvm count);
 * the last release destroys it and frees everything (kvm_destroy_vm()).
 */
export class KvmVm implements KernelFile {
  /** The arch's per-VM state (struct kvm_arch). */
  arch: unknown;
  /** The descriptor KVM_CREATE_VM returned. */
  fd = -1;
  /** The VM's vCPUs, in creation order. */
  readonly vcpus: KvmVcpu[] = [];
  /** kvm->devices, newest first (list_add). */
  readonly devices: KvmDevice[] = [];
  /** Active irqfds (kvm->irqfds.items). */
  readonly irqfds: KvmIrqfd[] = [];
  /** KVM_MMIO_BUS: in-kernel MMIO devices and ioeventfds. */
  readonly mmioBus = new KvmIoBus('kvm-mmio');
  /** KVM_PIO_BUS: in-kernel port I/O devices and ioeventfds. */
  readonly pioBus = new KvmIoBus('kvm-pio');
  /** KVM_VIRTIO_CCW_NOTIFY_BUS: s390 virtio-ccw notifications. */
  readonly ccwBus = new KvmIoBus('kvm-virtio-ccw');
  /** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 options in force (kvm->manual_dirty_log_protect). */
  manualDirtyLogProtect = 0;
  /** Pages across all memslots (kvm->nr_memslot_pages). */
  nrMemslotPages = 0;
  /** Remote TLB flushes requested so far (the remote_tlb_flush statistic). */
  remoteTlbFlushes = 0;
  /** Registered non-coherent DMA users (kvm->arch.noncoherent_dma_count). */
  noncoherentDmaCount = 0;
  /** Set once the VM is destroyed: every further ioctl is EIO. */
  dead = false;
  /** The owner's address space (kvm->mm), if the Kvm was given one. */
  readonly mm: MmStruct | undefined;
  /** Bumped by every MMU-notifier invalidation (kvm->mmu_invalidate_seq); a fault that saw it change retries. */
  mmuInvalidateSeq = 0;
  /** The VM's MMU notifier on the owning mm. */
  readonly mmuNotifier: KvmMmuNotifier = new KvmMmuNotifier(this);
  private readonly addressSpaces: KvmMemslots[] = [];
  private users = 1;
  private createdVcpus = 0;
  private fdClosed = false;

  constructor(
    /** The /dev/kvm instance that created the VM. */
    readonly kvm: Kvm,
    /** The architecture's hooks. */
    readonly archOps: KvmArchOps,
    /** The machine type passed to KVM_CREATE_VM. */
    readonly type: number,
  ) {
    for (let i = 0; i < KVM_ADDRESS_SPACE_NUM; i++) this.addressSpaces.push(new KvmMemslots());
    this.mm = kvm.mm;
  }

  /** The descriptor table of the process that owns the VM. */
  get files(): FdTable {
    return this.kvm.files;
  }

  /** Address space 0's memslots (the fault path's set). */
  get memslots(): KvmMemslots {
    return this.addressSpaces[0]!;
  }

  /** The memslots of address space `asId`. */
  memslotsFor(asId: number): KvmMemslots {
    return this.addressSpaces[asId]!;
  }

  /** Every memslot of every address space. */
  allMemslots(): KvmMemorySlot[] {
    return this.addressSpaces.flatMap((s) => [...s.list()]);
  }

  /** Most vCPUs the VM may have. */
  get maxVcpus(): number {
    return this.archOps.maxVcpus ?? KVM_MAX_VCPUS;
  }

  /** One past the largest vCPU id allowed. */
  get maxVcpuIds(): number {
    return this.archOps.maxVcpuIds ?? this.maxVcpus;
  }

  /** KVM_DIRTY_LOG_INITIALLY_SET is in force. */
  get dirtyLogInitiallySet(): boolean {
    return (this.manualDirtyLogProtect & KVM_DIRTY_LOG_INITIALLY_SET) !== 0;
  }

  private live(syscall: string): void {
    if (this.dead) fail('EIO', 'the VM is dead', syscall);
    if (this.fdClosed) fail('EBADF', 'the VM fd is closed', syscall);
  }

  /** kvm_vm_ioctl(). */
  ioctl(cmd: number, arg?: unknown): unknown {
    switch (cmd) {
      case KVM_CREATE_VCPU:
        return this.createVcpu(arg as number).fd;
      case KVM_SET_USER_MEMORY_REGION:
        this.setUserMemoryRegion(arg as KvmUserspaceMemoryRegion);
        return 0;
      case KVM_GET_DIRTY_LOG:
        this.getDirtyLog(arg as KvmDirtyLog);
        return 0;
      case KVM_CLEAR_DIRTY_LOG:
        this.clearDirtyLog(arg as KvmClearDirtyLog);
        return 0;
      case KVM_ENABLE_CAP:
        this.enableCap(arg as KvmEnableCap);
        return 0;
      case KVM_CHECK_EXTENSION:
        this.live('KVM_CHECK_EXTENSION');
        return this.kvm.checkExtension(arg as number, this);
      case KVM_IRQFD:
        this.irqfd(arg as KvmIrqfdArgs);
        return 0;
      case KVM_IOEVENTFD:
        this.ioeventfd(arg as KvmIoeventfd);
        return 0;
      case KVM_CREATE_DEVICE:
        this.createDevice(arg as KvmCreateDevice);
        return 0;
      case KVM_IRQ_LINE:
        this.irqLine(arg as KvmIrqLevel);
        return 0;
      default:
        this.live('ioctl');
        if (this.archOps.vmIoctl === undefined) fail('ENOTTY', `unknown vm ioctl 0x${cmd.toString(16)}`);
        return this.archOps.vmIoctl(this, cmd, arg);
    }
  }

  // ---- memory ----

  /** KVM_SET_USER_MEMORY_REGION. */
  setUserMemoryRegion(mem: KvmUserspaceMemoryRegion): void {
    this.live('KVM_SET_USER_MEMORY_REGION');
    kvmSetMemoryRegion(this, mem);
  }

  /** gfn_to_memslot() in address space 0. */
  gfnToMemslot(gfn: number): KvmMemorySlot | undefined {
    return this.addressSpaces[0]!.lookup(gfn);
  }

  /** gfn_to_hva(): undefined (KVM_HVA_ERR_BAD) outside every slot or in one being changed. */
  gfnToHva(gfn: number): number | undefined {
    const s = this.addressSpaces[0]!.lookup(gfn);
    if (s === undefined || s.invalid) return undefined;
    return s.userspaceAddr + (gfn - s.baseGfn) * (1 << PAGE_SHIFT);
  }

  /** mark_page_dirty(): set the page's bit when its slot logs; anything else is ignored. */
  markPageDirty(gfn: number): void {
    this.addressSpaces[0]!.lookup(gfn)?.markDirty(gfn);
  }

  /** kvm_read_guest(): EFAULT outside memslots or host mappings (needs the Kvm's mm). */
  readGuest(gpa: number, dst: Uint8Array): void {
    kvmReadGuest(this, gpa, dst);
  }

  /** kvm_write_guest(): EFAULT also for read-only slots; marks the pages dirty. */
  writeGuest(gpa: number, src: Uint8Array): void {
    kvmWriteGuest(this, gpa, src);
  }

  /** KVM_GET_DIRTY_LOG. */
  getDirtyLog(log: KvmDirtyLog): void {
    this.live('KVM_GET_DIRTY_LOG');
    kvmGetDirtyLog(this, log);
  }

  /** KVM_CLEAR_DIRTY_LOG. */
  clearDirtyLog(log: KvmClearDirtyLog): void {
    this.live('KVM_CLEAR_DIRTY_LOG');
    kvmClearDirtyLog(this, log);
  }

  /** KVM_ENABLE_CAP (kvm_vm_ioctl_enable_cap_generic()). */
  enableCap(cap: KvmEnableCap): void {
    const S = 'KVM_ENABLE_CAP';
    this.live(S);
    if (cap.cap === KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) {
      const a0 = cap.args[0] ?? 0n;
      // INITIALLY_SET only makes sense with ENABLE.
      const allowed =
        a0 & BigInt(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
          ? BigInt(KVM_DIRTY_LOG_MANUAL_CAPS)
          : BigInt(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
      if (cap.flags || a0 & ~allowed) fail('EINVAL', `bad options 0x${a0.toString(16)}`, S);
      this.manualDirtyLogProtect = Number(a0);
      return;
    }
    if (this.archOps.enableCap === undefined) fail('EINVAL', `cap ${cap.cap} cannot be enabled`, S);
    this.archOps.enableCap(this, cap);
  }

  // ---- vCPUs ----

  /** KVM_CREATE_VCPU (kvm_vm_ioctl_create_vcpu()). */
  createVcpu(id: number): KvmVcpu {
    const S = 'KVM_CREATE_VCPU';
    this.live(S);
    if (!Number.isInteger(id) || id < 0 || id >= this.maxVcpuIds)
      fail('EINVAL', `vcpu id ${id} is not below ${this.maxVcpuIds}`, S);
    if (this.createdVcpus >= this.maxVcpus) fail('EINVAL', `already ${this.maxVcpus} vcpus`, S);
    this.archOps.vcpuPrecreate?.(this, id);
    this.createdVcpus++;
    const vcpu = new KvmVcpu(this, id, this.vcpus.length);
    try {
      this.archOps.vcpuCreate(vcpu);
    } catch (e) {
      this.createdVcpus--;
      throw e;
    }
    // The duplicate check comes after the arch created it, which then undoes it.
    if (this.vcpus.some((v) => v.vcpuId === id)) {
      this.archOps.vcpuDestroy(vcpu);
      this.createdVcpus--;
      fail('EEXIST', `vcpu ${id} exists`, S);
    }
    this.vcpus.push(vcpu);
    this.users++;
    vcpu.fd = this.files.install(vcpu);
    return vcpu;
  }

  /** kvm_get_vcpu_by_id(). */
  vcpuById(id: number): KvmVcpu | undefined {
    return this.vcpus.find((v) => v.vcpuId === id);
  }

  /** kvm_make_all_cpus_request(). */
  makeAllCpusRequest(req: number): void {
    for (const v of this.vcpus) v.makeRequest(req);
  }

  /** kvm_flush_remote_tlbs(): through the arch if it flushes directly, else by request. */
  flushRemoteTlbs(): void {
    this.remoteTlbFlushes++;
    if (this.archOps.flushRemoteTlbs !== undefined) this.archOps.flushRemoteTlbs(this);
    else this.makeAllCpusRequest(KVM_REQ_TLB_FLUSH);
  }

  /** kvm_arch_register_noncoherent_dma(): kvm-vfio calls this per non-coherent group. */
  registerNoncoherentDma(): void {
    if (this.noncoherentDmaCount++ === 0) this.archOps.noncoherentDmaChanged?.(this, true);
  }

  /** kvm_arch_unregister_noncoherent_dma(). */
  unregisterNoncoherentDma(): void {
    if (this.noncoherentDmaCount === 0) return;
    if (--this.noncoherentDmaCount === 0) this.archOps.noncoherentDmaChanged?.(this, false);
  }

  /** Some assigned device does non-coherent DMA (kvm_arch_has_noncoherent_dma). */
  get noncoherentDma(): boolean {
    return this.noncoherentDmaCount > 0;
  }

  // ---- interrupts ----

  /** kvm_set_irq() through the arch; ignored on a dead VM. */
  setIrq(gsi: number, level: number): void {
    if (this.dead) return;
    this.archOps.setIrq?.(this, gsi, level);
  }

  /** KVM_IRQ_LINE: ENXIO where the arch has no in-kernel interrupt controller. */
  irqLine(l: KvmIrqLevel): void {
    this.live('KVM_IRQ_LINE');
    if (this.archOps.irqLine !== undefined) {
      this.archOps.irqLine(this, l.irq, l.level);
      return;
    }
    if (this.archOps.setIrq === undefined) fail('ENXIO', 'no in-kernel irqchip', 'KVM_IRQ_LINE');
    this.archOps.setIrq(this, l.irq, l.level);
  }

  /** KVM_IRQFD. */
  irqfd(args: KvmIrqfdArgs): void {
    this.live('KVM_IRQFD');
    kvmIrqfd(this, args);
  }

  /** KVM_IOEVENTFD. */
  ioeventfd(args: KvmIoeventfd): void {
    this.live('KVM_IOEVENTFD');
    kvmIoeventfd(this, args);
  }

  // ---- devices ----

  /** KVM_CREATE_DEVICE (kvm_ioctl_create_device()); cd.fd is written back. */
  createDevice(cd: KvmCreateDevice): KvmDevice | undefined {
    const S = 'KVM_CREATE_DEVICE';
    this.live(S);
    const ops = this.kvm.deviceOps(cd.type);
    if (ops === undefined) fail('ENODEV', `no device type ${cd.type}`, S);
    if (cd.flags & KVM_CREATE_DEVICE_TEST) return undefined;
    const dev = new KvmDevice(ops, this, cd.type);
    ops.create(dev, cd.type);
    this.devices.unshift(dev);
    ops.init?.(dev);
    this.users++;
    dev.fd = this.files.install(dev);
    cd.fd = dev.fd;
    return dev;
  }

  /** kvm_device_release(): a device with a release hook leaves the VM now; the fd's VM reference drops. */
  releaseDevice(dev: KvmDevice): void {
    if (dev.ops.release !== undefined) {
      const at = this.devices.indexOf(dev);
      if (at >= 0) this.devices.splice(at, 1);
      dev.ops.release(dev);
    }
    this.put();
  }

  // ---- lifetime ----

  /** kvm_get_kvm(): hold the VM alive (e.g. a device holding it beyond its fd). */
  get(): void {
    if (this.users === 0) fail('EIO', 'the VM is gone');
    this.users++;
  }

  /** kvm_put_kvm(): the last reference destroys the VM. */
  put(): void {
    if (this.users === 0) return;
    if (--this.users === 0) this.destroy();
  }

  /** Users holding the VM (kvm->users_count). */
  get refcount(): number {
    return this.users;
  }

  /** kvm_vm_release(): the VM fd closed. irqfds go now (kvm_irqfd_release), the rest with the last reference. */
  release(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    for (const i of [...this.irqfds]) irqfdShutdown(this, i);
    this.put();
  }

  /** kvm_destroy_vm(). */
  private destroy(): void {
    this.dead = true;
    for (const i of [...this.irqfds]) irqfdShutdown(this, i);
    for (const bus of [this.mmioBus, this.pioBus, this.ccwBus]) {
      for (const p of bus.allIoeventfds()) bus.removeIoeventfd(p);
      for (const r of [...bus.devices.list()]) bus.devices.remove(r.base);
    }
    // mmu_notifier_unregister() (its release flushes) then kvm_flush_shadow_all().
    this.mm?.unregisterMmuNotifier(this.mmuNotifier);
    this.archOps.flushShadowAll?.(this);
    for (const v of this.vcpus) {
      this.archOps.vcpuDestroy(v);
      v.destroyed = true;
    }
    this.vcpus.length = 0;
    this.archOps.vmDestroy(this);
    for (const d of [...this.devices]) d.ops.destroy(d);
    this.devices.length = 0;
    for (const slots of this.addressSpaces) for (const s of [...slots.list()]) slots.replace(s, undefined);
    this.nrMemslotPages = 0;
    this.kvm.vmDestroyed(this);
  }
}
