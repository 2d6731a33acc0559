import { FdTable, fail } from '@tsvirt/core-bus';
import type { MmStruct } from '@tsvirt/host-mm';
import type { KvmArchOps } from './arch.ts';
import type { KvmDeviceOps } from './device.ts';
import type { IrqBypassManager } from './irq-bypass.ts';
import {
  KVM_API_VERSION,
  KVM_CAP_CHECK_EXTENSION_VM,
  KVM_CAP_DESTROY_MEMORY_REGION_WORKS,
  KVM_CAP_DEVICE_CTRL,
  KVM_CAP_ENABLE_CAP_VM,
  KVM_CAP_IMMEDIATE_EXIT,
  KVM_CAP_INTERNAL_ERROR_DATA,
  KVM_CAP_IOEVENTFD,
  KVM_CAP_IOEVENTFD_ANY_LENGTH,
  KVM_CAP_IOEVENTFD_NO_LENGTH,
  KVM_CAP_IRQFD,
  KVM_CAP_JOIN_MEMORY_REGIONS_WORKS,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_MAX_VCPUS,
  KVM_CAP_NR_MEMSLOTS,
  KVM_CAP_NR_VCPUS,
  KVM_CAP_ONE_REG,
  KVM_CAP_READONLY_MEM,
  KVM_CAP_SYNC_MMU,
  KVM_CAP_SYSTEM_EVENT_DATA,
  KVM_CAP_USER_MEMORY,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VM,
  KVM_DEV_TYPE_MAX,
  KVM_DIRTY_LOG_MANUAL_CAPS,
  KVM_GET_API_VERSION,
  KVM_GET_VCPU_MMAP_SIZE,
  KVM_MAX_VCPUS,
  KVM_USER_MEM_SLOTS,
  PAGE_SIZE,
} from './uapi.ts';
import { KvmVm } from './vm.ts';

/** What `/dev/kvm` is built from: the architecture, the descriptor table, the IRQ bypass manager and the mm. */
export interface KvmOptions {
  /** The architecture (kvm_init() by the arch module); may also come later through registerArch(). */
  arch?: KvmArchOps;
  /** The process's descriptor table: fds of VMs, vCPUs, devices, and the eventfds KVM_IRQFD names. */
  files?: FdTable;
  /** The IRQ bypass manager irqfds register with as consumers (kvm-vfio provides one). */
  irqBypass?: IrqBypassManager;
  /**
   * The address space of the process using /dev/kvm (current->mm): each VM
   * keeps it as vm.mm, checks memslot hvas against its TASK_SIZE and
   * registers an MMU notifier on it.
   */
  mm?: MmStruct;
}

/**
 * The /dev/kvm system (virt/kvm/kvm_main.c's module-level state): the
 * registered arch, the device-type table (kvm_device_ops_table), the VM list
 * and the capability answers.
 */
export class Kvm {
  /** The descriptor table VM, vCPU and device fds are installed in. */
  readonly files: FdTable;
  /** The host's IRQ bypass manager, if one is provided. */
  irqBypass: IrqBypassManager | undefined;
  /** The address space of the process using KVM. */
  mm: MmStruct | undefined;
  private archOps: KvmArchOps | undefined;
  private readonly deviceTable: (KvmDeviceOps | undefined)[] = new Array(KVM_DEV_TYPE_MAX).fill(undefined);
  private readonly vmList: KvmVm[] = [];

  constructor(opts: KvmOptions = {}) {
    this.archOps = opts.arch;
    this.files = opts.files ?? new FdTable();
    this.irqBypass = opts.irqBypass;
    this.mm = opts.mm;
  }

  /** The registered architecture, if any. */
  get arch(): KvmArchOps | undefined {
    return this.archOps;
  }

  /** kvm_init() by an arch module; EEXIST when one is registered. */
  registerArch(ops: KvmArchOps): void {
    if (this.archOps !== undefined) fail('EEXIST', `arch ${this.archOps.name} is already registered`);
    this.archOps = ops;
  }

  /** kvm_register_device_ops(): ENOSPC past KVM_DEV_TYPE_MAX, EEXIST for a taken type. */
  registerDeviceOps(type: number, ops: KvmDeviceOps): void {
    if (!Number.isInteger(type) || type < 0 || type >= KVM_DEV_TYPE_MAX)
      fail('ENOSPC', `device type ${type} is past KVM_DEV_TYPE_MAX`);
    if (this.deviceTable[type] !== undefined) fail('EEXIST', `device type ${type} is registered`);
    this.deviceTable[type] = ops;
  }

  /** kvm_unregister_device_ops(). */
  unregisterDeviceOps(type: number): void {
    if (type >= 0 && type < KVM_DEV_TYPE_MAX) this.deviceTable[type] = undefined;
  }

  /** The ops registered for a device type, if any. */
  deviceOps(type: number): KvmDeviceOps | undefined {
    return Number.isInteger(type) && type >= 0 && type < KVM_DEV_TYPE_MAX
      ? this.deviceTable[type]
      : undefined;
  }

  /** The live VMs (vm_list). */
  get vms(): readonly KvmVm[] {
    return this.vmList;
  }

  /**
   * KVM_CHECK_EXTENSION (kvm_vm_ioctl_check_extension_generic(), then the
   * arch): 0 for an unknown cap, never an error.
   */
  checkExtension(cap: number, vm?: KvmVm): number {
    const a = this.archOps;
    const maxVcpus = a?.maxVcpus ?? KVM_MAX_VCPUS;
    switch (cap) {
      case KVM_CAP_USER_MEMORY:
      case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
      case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
      case KVM_CAP_INTERNAL_ERROR_DATA:
      case KVM_CAP_IRQFD:
      case KVM_CAP_IOEVENTFD:
      case KVM_CAP_IOEVENTFD_NO_LENGTH:
      case KVM_CAP_IOEVENTFD_ANY_LENGTH:
      case KVM_CAP_CHECK_EXTENSION_VM:
      case KVM_CAP_ENABLE_CAP_VM:
      case KVM_CAP_DEVICE_CTRL:
      case KVM_CAP_IMMEDIATE_EXIT:
      case KVM_CAP_SYNC_MMU:
      case KVM_CAP_SYSTEM_EVENT_DATA:
        return 1;
      case KVM_CAP_ONE_REG:
        return a?.getOneReg !== undefined ? 1 : 0;
      case KVM_CAP_READONLY_MEM:
        return a?.readonlyMem === false ? 0 : 1;
      case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
        return KVM_DIRTY_LOG_MANUAL_CAPS;
      case KVM_CAP_NR_MEMSLOTS:
        return KVM_USER_MEM_SLOTS;
      case KVM_CAP_NR_VCPUS:
      case KVM_CAP_MAX_VCPUS:
        return maxVcpus;
      case KVM_CAP_MAX_VCPU_ID:
        return a?.maxVcpuIds ?? maxVcpus;
      default:
        return a?.checkExtension?.(cap, vm) ?? 0;
    }
  }

  /** KVM_CREATE_VM (kvm_create_vm()): the VM, its fd installed; ENODEV with no arch registered. */
  createVm(type = 0): KvmVm {
    const a = this.archOps;
    if (a === undefined) fail('ENODEV', 'no KVM arch is registered', 'KVM_CREATE_VM');
    const vm = new KvmVm(this, a, type);
    a.vmInit(vm, type);
    vm.mm?.registerMmuNotifier(vm.mmuNotifier);
    this.vmList.push(vm);
    vm.fd = this.files.install(vm);
    return vm;
  }

  /** kvm_dev_ioctl(). */
  ioctl(cmd: number, arg?: unknown): number {
    switch (cmd) {
      case KVM_GET_API_VERSION:
        if (arg !== undefined && arg !== 0) fail('EINVAL', 'takes no argument', 'KVM_GET_API_VERSION');
        return KVM_API_VERSION;
      case KVM_CREATE_VM:
        return this.createVm((arg as number | undefined) ?? 0).fd;
      case KVM_CHECK_EXTENSION:
        return this.checkExtension(arg as number);
      case KVM_GET_VCPU_MMAP_SIZE:
        if (arg !== undefined && arg !== 0) fail('EINVAL', 'takes no argument', 'KVM_GET_VCPU_MMAP_SIZE');
        return PAGE_SIZE;
      default:
        fail('ENOTTY', `unknown /dev/kvm ioctl 0x${cmd.toString(16)}`);
    }
  }

  /** Called by a VM at the end of kvm_destroy_vm(). */
  vmDestroyed(vm: KvmVm): void {
    const at = this.vmList.indexOf(vm);
    if (at >= 0) this.vmList.splice(at, 1);
  }
}
