import { fail } from '@tsvirt/core-bus';
import type { Kvm, KvmDevice, KvmDeviceAttr, KvmDeviceOps, KvmVm } from '@tsvirt/kvm-core';
import { KVM_DEV_TYPE_RISCV_AIA } from '@tsvirt/kvm-core';
import {
  aiaImsicHartIndex,
  aiaImsicPpn,
  aiaInjectMsiById,
  imsicAttrVcpu,
  imsicIselCheck,
  KVM_RISCV_AIA_UNDEF_ADDR,
  type KvmAia,
  vcpuAiaImsicCleanup,
  vcpuAiaImsicInit,
} from './aia.ts';
import { Aplic } from './aia-aplic.ts';
import {
  KVM_DEV_RISCV_AIA_ADDR_APLIC,
  KVM_DEV_RISCV_AIA_ADDR_IMSIC,
  KVM_DEV_RISCV_AIA_CONFIG_GROUP_BITS,
  KVM_DEV_RISCV_AIA_CONFIG_GROUP_SHIFT,
  KVM_DEV_RISCV_AIA_CONFIG_GUEST_BITS,
  KVM_DEV_RISCV_AIA_CONFIG_HART_BITS,
  KVM_DEV_RISCV_AIA_CONFIG_IDS,
  KVM_DEV_RISCV_AIA_CONFIG_MODE,
  KVM_DEV_RISCV_AIA_CONFIG_SRCS,
  KVM_DEV_RISCV_AIA_CTRL_INIT,
  KVM_DEV_RISCV_AIA_GROUP_BITS_MAX,
  KVM_DEV_RISCV_AIA_GROUP_SHIFT_MAX,
  KVM_DEV_RISCV_AIA_GROUP_SHIFT_MIN,
  KVM_DEV_RISCV_AIA_GRP_ADDR,
  KVM_DEV_RISCV_AIA_GRP_APLIC,
  KVM_DEV_RISCV_AIA_GRP_CONFIG,
  KVM_DEV_RISCV_AIA_GRP_CTRL,
  KVM_DEV_RISCV_AIA_GRP_IMSIC,
  KVM_DEV_RISCV_AIA_GUEST_BITS_MAX,
  KVM_DEV_RISCV_AIA_HART_BITS_MAX,
  KVM_DEV_RISCV_AIA_IDS_MAX,
  KVM_DEV_RISCV_AIA_IDS_MIN,
  KVM_DEV_RISCV_AIA_IMSIC_ISEL_BITS,
  KVM_DEV_RISCV_AIA_IMSIC_ISEL_MASK,
  KVM_DEV_RISCV_AIA_MODE_AUTO,
  KVM_DEV_RISCV_AIA_MODE_EMUL,
  KVM_DEV_RISCV_AIA_MODE_HWACCEL,
  KVM_DEV_RISCV_AIA_SRCS_MAX,
  KVM_DEV_RISCV_APLIC_ALIGN,
  KVM_DEV_RISCV_APLIC_SIZE,
  KVM_DEV_RISCV_IMSIC_ALIGN,
} from './aia-uapi.ts';
import { riscvVcpu, riscvVm } from './state.ts';

const SET = 'KVM_SET_DEVICE_ATTR';
const GET = 'KVM_GET_DEVICE_ATTR';

/** copy_from_user() of `size` bytes at the attribute's address: EFAULT when they are not there. */
function readUser(attr: KvmDeviceAttr, size: 4 | 8, syscall: string): bigint {
  const d = attr.data;
  if (!(d instanceof Uint8Array) || d.length < size)
    fail('EFAULT', `${size} bytes not readable at addr`, syscall);
  const dv = new DataView(d.buffer, d.byteOffset, size);
  return size === 4 ? BigInt(dv.getUint32(0, true)) : dv.getBigUint64(0, true);
}

/** copy_to_user(): EFAULT when the user buffer is missing or short. */
function writeUser(attr: KvmDeviceAttr, size: 4 | 8, v: bigint): void {
  const d = attr.data;
  if (!(d instanceof Uint8Array) || d.length < size)
    fail('EFAULT', `${size} bytes not writable at addr`, GET);
  const dv = new DataView(d.buffer, d.byteOffset, size);
  if (size === 4) dv.setUint32(0, Number(BigInt.asUintN(32, v)), true);
  else dv.setBigUint64(0, BigInt.asUintN(64, v), true);
}

/** aia_config(): EBUSY for a write after init, EINVAL for a value out of range, ENXIO for no such attribute. */
function aiaConfig(aia: KvmAia, type: bigint, nr: number, write: boolean): number {
  if (write && aia.initialized) fail('EBUSY', 'the AIA is initialised', SET);
  const bad = (what: string): never => fail('EINVAL', `${what} ${nr} out of range`, SET);
  switch (type) {
    case BigInt(KVM_DEV_RISCV_AIA_CONFIG_MODE):
      if (!write) return aia.mode;
      if (nr === KVM_DEV_RISCV_AIA_MODE_HWACCEL || nr === KVM_DEV_RISCV_AIA_MODE_AUTO) {
        // Only a host whose harts have guest interrupt files can accelerate.
        if (aia.nrHgei === 0) bad('mode (no guest interrupt files)');
      } else if (nr !== KVM_DEV_RISCV_AIA_MODE_EMUL) bad('mode');
      aia.mode = nr;
      return nr;
    case BigInt(KVM_DEV_RISCV_AIA_CONFIG_IDS):
      if (!write) return aia.nrIds;
      if (
        nr < KVM_DEV_RISCV_AIA_IDS_MIN ||
        nr >= KVM_DEV_RISCV_AIA_IDS_MAX ||
        (nr & KVM_DEV_RISCV_AIA_IDS_MIN) !== KVM_DEV_RISCV_AIA_IDS_MIN ||
        aia.maxIds <= nr
      )
        bad('ids');
      aia.nrIds = nr;
      return nr;
    case BigInt(KVM_DEV_RISCV_AIA_CONFIG_SRCS):
      if (!write) return aia.nrSources;
      if (nr >= KVM_DEV_RISCV_AIA_SRCS_MAX || nr >= aia.maxIds) bad('srcs');
      aia.nrSources = nr;
      return nr;
    case BigInt(KVM_DEV_RISCV_AIA_CONFIG_GROUP_BITS):
      if (!write) return aia.nrGroupBits;
      if (nr >= KVM_DEV_RISCV_AIA_GROUP_BITS_MAX) bad('group_bits');
      aia.nrGroupBits = nr;
      return nr;
    case BigInt(KVM_DEV_RISCV_AIA_CONFIG_GROUP_SHIFT):
      if (!write) return aia.nrGroupShift;
      if (nr < KVM_DEV_RISCV_AIA_GROUP_SHIFT_MIN || nr >= KVM_DEV_RISCV_AIA_GROUP_SHIFT_MAX)
        bad('group_shift');
      aia.nrGroupShift = nr;
      return nr;
    case BigInt(KVM_DEV_RISCV_AIA_CONFIG_HART_BITS):
      if (!write) return aia.nrHartBits;
      if (nr >= KVM_DEV_RISCV_AIA_HART_BITS_MAX) bad('hart_bits');
      aia.nrHartBits = nr;
      return nr;
    case BigInt(KVM_DEV_RISCV_AIA_CONFIG_GUEST_BITS):
      if (!write) return aia.nrGuestBits;
      if (nr >= KVM_DEV_RISCV_AIA_GUEST_BITS_MAX) bad('guest_bits');
      aia.nrGuestBits = nr;
      return nr;
    default:
      return fail('ENXIO', `no CONFIG attribute ${type}`, write ? SET : GET);
  }
}

/** The ADDR attribute's target: 'aplic', a vCPU index, or undefined (ENXIO) past the online vCPUs. */
function addrTarget(vm: KvmVm, type: bigint): 'aplic' | number | undefined {
  if (type === BigInt(KVM_DEV_RISCV_AIA_ADDR_APLIC)) return 'aplic';
  if (type < BigInt(KVM_DEV_RISCV_AIA_ADDR_IMSIC(vm.vcpus.length))) return Number(type) - 1;
  return undefined;
}

/** aia_aplic_addr() / aia_imsic_addr(): EBUSY after init, EINVAL if not 4 KiB aligned. */
function aiaAddr(vm: KvmVm, type: bigint, addr: bigint, write: boolean): bigint {
  const aia = riscvVm(vm).aia;
  const t = addrTarget(vm, type);
  if (t === undefined) fail('ENXIO', `no ADDR attribute ${type}`, write ? SET : GET);
  if (write) {
    if (aia.initialized) fail('EBUSY', 'the AIA is initialised', SET);
    const align = BigInt(t === 'aplic' ? KVM_DEV_RISCV_APLIC_ALIGN : KVM_DEV_RISCV_IMSIC_ALIGN);
    if (addr & (align - 1n)) fail('EINVAL', `address 0x${addr.toString(16)} is not 4 KiB aligned`, SET);
  }
  if (t === 'aplic') {
    if (write) aia.aplicAddr = addr;
    return aia.aplicAddr;
  }
  const va = riscvVcpu(vm.vcpus[t]!).aia;
  if (write) va.imsicAddr = addr;
  return va.imsicAddr;
}

/**
 * aia_init(): once (EBUSY after), with every created vCPU online (EBUSY),
 * no more sources than identities (EINVAL), the APLIC placed when there are
 * sources (EINVAL), and every vCPU's IMSIC placed on one common base PPN
 * (EINVAL). A failure leaves nothing initialised.
 */
function aiaInit(vm: KvmVm): void {
  const aia = riscvVm(vm).aia;
  if (aia.initialized) fail('EBUSY', 'the AIA is already initialised', SET);
  if (aia.nrIds < aia.nrSources) fail('EINVAL', `${aia.nrSources} sources but ${aia.nrIds} ids`, SET);
  if (aia.nrSources && aia.aplicAddr === KVM_RISCV_AIA_UNDEF_ADDR)
    fail('EINVAL', 'the APLIC has no address', SET);
  let base: bigint | undefined;
  for (const vcpu of vm.vcpus) {
    const va = riscvVcpu(vcpu).aia;
    if (va.imsicAddr === KVM_RISCV_AIA_UNDEF_ADDR)
      fail('EINVAL', `vcpu ${vcpu.vcpuId} has no IMSIC address`, SET);
    const ppn = aiaImsicPpn(aia, va.imsicAddr);
    base ??= ppn;
    if (ppn !== base) fail('EINVAL', `vcpu ${vcpu.vcpuId}'s IMSIC is off the common base`, SET);
  }
  // Every check passed: build the APLIC and the vCPUs' files.
  if (aia.nrSources) {
    const aplic = new Aplic(aia.nrSources, (h, g, id) => aiaInjectMsiById(vm, h, g, id));
    vm.mmioBus.registerDevice(aplic, Number(aia.aplicAddr), KVM_DEV_RISCV_APLIC_SIZE);
    aia.aplic = aplic;
  }
  const done: typeof vm.vcpus = [];
  try {
    for (const vcpu of vm.vcpus) {
      const va = riscvVcpu(vcpu).aia;
      va.hartIndex = aiaImsicHartIndex(aia, va.imsicAddr);
      vcpuAiaImsicInit(vcpu, aia);
      done.push(vcpu);
    }
  } catch (e) {
    // An IMSIC page overlapping another in-kernel device: undo (fail_cleanup_imsics).
    for (const v of done) vcpuAiaImsicCleanup(v);
    if (aia.aplic !== undefined) vm.mmioBus.unregisterDevice(Number(aia.aplicAddr));
    aia.aplic = undefined;
    (e as { syscall?: string }).syscall ??= SET;
    throw e;
  }
  aia.initialized = true;
}

/** kvm_riscv_aia_imsic_rw_attr(): an IMSIC register of a vCPU's file by iselect. */
function imsicRwAttr(vm: KvmVm, type: bigint, write: boolean, v: bigint): bigint {
  const syscall = write ? SET : GET;
  try {
    const vcpu = imsicAttrVcpu(vm, Number(type >> BigInt(KVM_DEV_RISCV_AIA_IMSIC_ISEL_BITS)));
    const isel = Number(type & BigInt(KVM_DEV_RISCV_AIA_IMSIC_ISEL_MASK));
    const f = riscvVcpu(vcpu).aia.file!;
    imsicIselCheck(f.nrIds, isel);
    if (write) f.write(isel, BigInt.asUintN(64, v));
    return f.read(isel);
  } catch (e) {
    (e as { syscall?: string }).syscall ??= syscall;
    throw e;
  }
}

/** An APLIC attribute: ENODEV before the APLIC exists (init with sources). */
function aplicOf(vm: KvmVm, syscall: string): Aplic {
  const a = riscvVm(vm).aia.aplic;
  if (a === undefined) fail('ENODEV', 'no APLIC (not initialised, or no sources)', syscall);
  return a;
}

function withSyscall<T>(syscall: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    (e as { syscall?: string }).syscall ??= syscall;
    throw e;
  }
}

/**
 * kvm_riscv_aia_device_ops: KVM_DEV_TYPE_RISCV_AIA (arch/riscv/kvm/aia_device.c).
 * Creating it makes the VM's irqchip in-kernel: EEXIST for a second one,
 * EBUSY once a vCPU has run.
 */
export const riscvAiaDeviceOps: KvmDeviceOps = {
  name: 'kvm-riscv-aia',
  create(dev: KvmDevice): void {
    const vm = dev.vm;
    const aia = riscvVm(vm).aia;
    if (aia.inKernel) fail('EEXIST', 'the VM already has an in-kernel irqchip', 'KVM_CREATE_DEVICE');
    if (vm.vcpus.some((v) => riscvVcpu(v).ranAtLeastOnce))
      fail('EBUSY', 'a vcpu has already run', 'KVM_CREATE_DEVICE');
    aia.inKernel = true;
  },
  destroy(dev: KvmDevice): void {
    const aia = riscvVm(dev.vm).aia;
    aia.aplic = undefined;
  },
  setAttr(dev: KvmDevice, attr: KvmDeviceAttr): void {
    const vm = dev.vm;
    const aia = riscvVm(vm).aia;
    switch (attr.group) {
      case KVM_DEV_RISCV_AIA_GRP_CONFIG:
        aiaConfig(aia, attr.attr, Number(readUser(attr, 4, SET)), true);
        return;
      case KVM_DEV_RISCV_AIA_GRP_ADDR:
        aiaAddr(vm, attr.attr, readUser(attr, 8, SET), true);
        return;
      case KVM_DEV_RISCV_AIA_GRP_CTRL:
        if (attr.attr !== BigInt(KVM_DEV_RISCV_AIA_CTRL_INIT))
          fail('ENXIO', `no CTRL attribute ${attr.attr}`, SET);
        aiaInit(vm);
        return;
      case KVM_DEV_RISCV_AIA_GRP_APLIC: {
        const v = Number(readUser(attr, 4, SET));
        withSyscall(SET, () => aplicOf(vm, SET).writeOffset(Number(attr.attr), v));
        return;
      }
      case KVM_DEV_RISCV_AIA_GRP_IMSIC:
        imsicRwAttr(vm, attr.attr, true, readUser(attr, 8, SET));
        return;
      default:
        fail('ENXIO', `no attribute group ${attr.group}`, SET);
    }
  },
  getAttr(dev: KvmDevice, attr: KvmDeviceAttr): void {
    const vm = dev.vm;
    const aia = riscvVm(vm).aia;
    switch (attr.group) {
      case KVM_DEV_RISCV_AIA_GRP_CONFIG:
        readUser(attr, 4, GET);
        writeUser(attr, 4, BigInt(aiaConfig(aia, attr.attr, 0, false)));
        return;
      case KVM_DEV_RISCV_AIA_GRP_ADDR:
        readUser(attr, 8, GET);
        writeUser(attr, 8, aiaAddr(vm, attr.attr, 0n, false));
        return;
      case KVM_DEV_RISCV_AIA_GRP_APLIC: {
        readUser(attr, 4, GET);
        const v = withSyscall(GET, () => aplicOf(vm, GET).readOffset(Number(attr.attr)));
        writeUser(attr, 4, BigInt(v));
        return;
      }
      case KVM_DEV_RISCV_AIA_GRP_IMSIC: {
        readUser(attr, 8, GET);
        writeUser(attr, 8, imsicRwAttr(vm, attr.attr, false, 0n));
        return;
      }
      default:
        fail('ENXIO', `no readable attribute group ${attr.group}`, GET);
    }
  },
  hasAttr(dev: KvmDevice, attr: KvmDeviceAttr): void {
    const S = 'KVM_HAS_DEVICE_ATTR';
    const vm = dev.vm;
    switch (attr.group) {
      case KVM_DEV_RISCV_AIA_GRP_CONFIG:
        if (attr.attr >= 0n && attr.attr <= BigInt(KVM_DEV_RISCV_AIA_CONFIG_GUEST_BITS)) return;
        break;
      case KVM_DEV_RISCV_AIA_GRP_ADDR:
        if (addrTarget(vm, attr.attr) !== undefined) return;
        break;
      case KVM_DEV_RISCV_AIA_GRP_CTRL:
        if (attr.attr === BigInt(KVM_DEV_RISCV_AIA_CTRL_INIT)) return;
        break;
      case KVM_DEV_RISCV_AIA_GRP_APLIC:
        withSyscall(S, () => aplicOf(vm, S).readOffset(Number(attr.attr)));
        return;
      case KVM_DEV_RISCV_AIA_GRP_IMSIC:
        withSyscall(S, () => {
          const vcpu = imsicAttrVcpu(vm, Number(attr.attr >> BigInt(KVM_DEV_RISCV_AIA_IMSIC_ISEL_BITS)));
          imsicIselCheck(
            riscvVcpu(vcpu).aia.file!.nrIds,
            Number(attr.attr & BigInt(KVM_DEV_RISCV_AIA_IMSIC_ISEL_MASK)),
          );
        });
        return;
    }
    fail('ENXIO', `no attribute ${attr.group}/${attr.attr}`, S);
  },
};

/** kvm_riscv_aia_init(): register the AIA device type with /dev/kvm (done by the kvm-riscv module). */
export function registerRiscvAia(kvm: Kvm): void {
  kvm.registerDeviceOps(KVM_DEV_TYPE_RISCV_AIA, riscvAiaDeviceOps);
}
