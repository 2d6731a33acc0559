import { type BusDevice, fail } from '@tsvirt/core-bus';
import type { KvmVcpu, KvmVm } from '@tsvirt/kvm-core';
import {
  CSR_HSTATUS,
  HSTATUS_VGEIN,
  HSTATUS_VGEIN_SHIFT,
  IMSIC_EIDELIVERY,
  IMSIC_EIE0,
  IMSIC_EIP0,
  IMSIC_EITHRESHOLD,
  IMSIC_MMIO_SETIPNUM_BE,
  IMSIC_MMIO_SETIPNUM_LE,
  ImsicFile,
  IRQ_VS_EXT,
} from '@tsvirt/riscv-hart';
import type { Aplic } from './aia-aplic.ts';
import type { AiaPostedRoute } from './aia-bypass.ts';
import {
  KVM_DEV_RISCV_AIA_GROUP_SHIFT_MIN,
  KVM_DEV_RISCV_AIA_MODE_AUTO,
  KVM_DEV_RISCV_AIA_MODE_EMUL,
  KVM_DEV_RISCV_IMSIC_SIZE,
  type KvmIrqRoutingEntry,
  type KvmMsi,
} from './aia-uapi.ts';
import { riscvVcpu, riscvVm } from './state.ts';

/** KVM_RISCV_AIA_UNDEF_ADDR: an address not set yet. */
export const KVM_RISCV_AIA_UNDEF_ADDR = -1n;
const IMSIC_MMIO_PAGE_SHIFT = 12n;

/** Which hart guest interrupt file a vCPU's IMSIC uses in HWACCEL/AUTO mode (its vsfile_hgei). */
export const AIA_VSFILE_HGEI = 1;

/**
 * struct kvm_aia: the VM's in-kernel AIA (arch/riscv/kvm/aia_device.c).
 * `nrHgei` and `maxIds` are what the host's harts offer
 * (kvm_riscv_aia_nr_hgei, kvm_riscv_aia_max_ids).
 */
export class KvmAia {
  /** KVM_CREATE_DEVICE made the irqchip in-kernel (irqchip_in_kernel()). */
  inKernel = false;
  /** CTRL_INIT succeeded (kvm_riscv_aia_initialized()). */
  initialized = false;
  /** KVM_DEV_RISCV_AIA_MODE_*. */
  mode: number;
  /** IMSIC identities (N). */
  nrIds: number;
  /** APLIC sources. */
  nrSources = 0;
  /** Group-index bits. */
  nrGroupBits = 0;
  /** Group-index shift. */
  nrGroupShift = KVM_DEV_RISCV_AIA_GROUP_SHIFT_MIN;
  /** Hart-index bits. */
  nrHartBits = 0;
  /** Guest-index bits. */
  nrGuestBits = 0;
  /** APLIC base, or KVM_RISCV_AIA_UNDEF_ADDR. */
  aplicAddr = KVM_RISCV_AIA_UNDEF_ADDR;
  /** The APLIC, once initialised with sources. */
  aplic: Aplic | undefined;
  /** KVM_SET_GSI_ROUTING's table (kvm->irq_routing), by GSI; undefined: the default one (GSI n = APLIC pin n). */
  routes: Map<number, KvmIrqRoutingEntry[]> | undefined;
  /** MSIs delivered into an IMSIC file through KVM_SIGNAL_MSI, routes, the APLIC or guest stores. */
  msisDelivered = 0;
  /** Posted routes by GSI: a bypass producer's interrupts written straight into a file (aia-bypass.ts). */
  readonly posted = new Map<number, AiaPostedRoute>();
  /** Interrupts delivered through posted routes. */
  postedDelivered = 0;

  constructor(
    /** Guest interrupt files each host hart has (0: only EMUL). */
    readonly nrHgei: number,
    /** kvm_riscv_aia_max_ids: the host file's N + 1. */
    readonly maxIds: number,
  ) {
    // kvm_riscv_aia_init_vm()
    this.mode = nrHgei > 0 ? KVM_DEV_RISCV_AIA_MODE_AUTO : KVM_DEV_RISCV_AIA_MODE_EMUL;
    this.nrIds = maxIds - 1;
  }
}

/** struct kvm_vcpu_aia: the vCPU's IMSIC address, hart index and interrupt file. */
export class VcpuAia {
  /** The IMSIC page's guest physical address, or KVM_RISCV_AIA_UNDEF_ADDR. */
  imsicAddr = KVM_RISCV_AIA_UNDEF_ADDR;
  /** The hart index the APLIC targets this vCPU by. */
  hartIndex = 0;
  /** The vCPU's interrupt file: the hart's guest file (HWACCEL) or a software one (EMUL). */
  file: ImsicFile | undefined;
  /** The file is the hart's (VGEIN selects it): the guest reaches it without exits. */
  hardware = false;
}

/** aia_imsic_hart_index(): the hart index an IMSIC address encodes. */
export function aiaImsicHartIndex(aia: KvmAia, addr: bigint): number {
  let hart = 0n;
  let group = 0n;
  if (aia.nrHartBits)
    hart =
      (addr >> (BigInt(aia.nrGuestBits) + IMSIC_MMIO_PAGE_SHIFT)) & ((1n << BigInt(aia.nrHartBits)) - 1n);
  if (aia.nrGroupBits) group = (addr >> BigInt(aia.nrGroupShift)) & ((1n << BigInt(aia.nrGroupBits)) - 1n);
  return Number((group << BigInt(aia.nrHartBits)) | hart);
}

/** aia_imsic_ppn(): the base PPN every vCPU's IMSIC address must share. */
export function aiaImsicPpn(aia: KvmAia, addr: bigint): bigint {
  let mask = (1n << BigInt(aia.nrHartBits + aia.nrGuestBits + 12)) - 1n;
  if (aia.nrGroupBits) mask |= ((1n << BigInt(aia.nrGroupBits)) - 1n) << BigInt(aia.nrGroupShift);
  return (addr & ~mask) >> IMSIC_MMIO_PAGE_SHIFT;
}

/**
 * kvm_riscv_vcpu_aia_imsic_init() and the vsfile choice of
 * kvm_riscv_vcpu_aia_imsic_update(): HWACCEL/AUTO give the vCPU a guest
 * interrupt file of its hart and point hstatus.VGEIN at it; EMUL (or a host
 * without files) a software file whose signal drives hvip.VSEIP
 * (imsic_swfile_extirq_update()). The IMSIC page goes on the VM's MMIO bus
 * (imsic_mmio_write()), so the guest's own stores reach it in the kernel.
 */
export function vcpuAiaImsicInit(vcpu: KvmVcpu, aia: KvmAia): void {
  const s = riscvVcpu(vcpu);
  const va = s.aia;
  const hart = s.hart;
  const useHw = aia.mode !== KVM_DEV_RISCV_AIA_MODE_EMUL && hart.aia.files[AIA_VSFILE_HGEI] !== undefined;
  if (useHw) {
    va.file = hart.aia.files[AIA_VSFILE_HGEI]!;
    va.file.reset();
    va.hardware = true;
    const hs = hart.getCsr(CSR_HSTATUS) & ~BigInt(HSTATUS_VGEIN);
    hart.setCsr(CSR_HSTATUS, hs | (BigInt(AIA_VSFILE_HGEI) << BigInt(HSTATUS_VGEIN_SHIFT)));
  } else {
    const f = new ImsicFile(aia.maxIds - 1);
    f.onSignal = (level) => hart.setInterrupt(IRQ_VS_EXT, level);
    va.file = f;
    va.hardware = false;
  }
  const dev: BusDevice = {
    read: (_off, data) => data.fill(0),
    write: (off, data) => {
      if (data.length !== 4) return;
      const v = (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
      vcpuAiaImsicInject(vcpu, aia, 0, off, v);
    },
  };
  vcpu.vm.mmioBus.registerDevice(dev, Number(va.imsicAddr), KVM_DEV_RISCV_IMSIC_SIZE);
}

/** Undo vcpuAiaImsicInit() (kvm_riscv_vcpu_aia_imsic_cleanup()). */
export function vcpuAiaImsicCleanup(vcpu: KvmVcpu): void {
  const va = riscvVcpu(vcpu).aia;
  if (va.file === undefined) return;
  vcpu.vm.mmioBus.unregisterDevice(Number(va.imsicAddr));
  va.file = undefined;
  va.hardware = false;
}

/**
 * kvm_riscv_vcpu_aia_imsic_inject(): ENODEV unless guest index 0, a nonzero
 * identity and the seteipnum_le/_be offset; EINVAL for an identity past the
 * configured ids (nr_msis).
 */
export function vcpuAiaImsicInject(
  vcpu: KvmVcpu,
  aia: KvmAia,
  guest: number,
  offset: number,
  iid: number,
): void {
  const f = riscvVcpu(vcpu).aia.file;
  if (
    f === undefined ||
    iid === 0 ||
    guest !== 0 ||
    (offset !== IMSIC_MMIO_SETIPNUM_LE && offset !== IMSIC_MMIO_SETIPNUM_BE)
  )
    fail('ENODEV', `no IMSIC file for guest ${guest} offset 0x${offset.toString(16)} id ${iid}`);
  const id = offset === IMSIC_MMIO_SETIPNUM_BE ? bswap32(iid) : iid >>> 0;
  if (id > aia.nrIds) fail('EINVAL', `identity ${id} is past the ${aia.nrIds} ids`);
  f.setPending(id);
  aia.msisDelivered++;
}

/**
 * kvm_riscv_aia_inject_msi(): find the vCPU whose IMSIC page the address
 * names (the guest index cleared from the PPN) and set the identity in its
 * file. EBUSY before CTRL_INIT; an address no vCPU owns is dropped (0).
 */
export function aiaInjectMsi(vm: KvmVm, msi: KvmMsi): void {
  const aia = riscvVm(vm).aia;
  if (!aia.initialized) fail('EBUSY', 'the AIA is not initialised');
  const target = (BigInt(msi.address_hi >>> 0) << 32n) | BigInt(msi.address_lo >>> 0);
  let tppn = target >> IMSIC_MMIO_PAGE_SHIFT;
  const gmask = (1n << BigInt(aia.nrGuestBits)) - 1n;
  const g = Number(tppn & gmask);
  tppn &= ~gmask;
  for (const vcpu of vm.vcpus) {
    const va = riscvVcpu(vcpu).aia;
    if (va.imsicAddr >> IMSIC_MMIO_PAGE_SHIFT === tppn) {
      vcpuAiaImsicInject(vcpu, aia, g, Number(target & 0xfffn), msi.data >>> 0);
      return;
    }
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}

/** kvm_riscv_aia_inject_msi_by_id(): what the APLIC sends (hart index, guest index, identity). */
export function aiaInjectMsiById(vm: KvmVm, hartIndex: number, guest: number, iid: number): void {
  const aia = riscvVm(vm).aia;
  if (!aia.initialized) return;
  for (const vcpu of vm.vcpus) {
    if (riscvVcpu(vcpu).aia.hartIndex === hartIndex) {
      try {
        vcpuAiaImsicInject(vcpu, aia, guest, IMSIC_MMIO_SETIPNUM_LE, iid);
      } catch {
        // The APLIC's MSI write has nowhere to go: dropped, as a bus would.
      }
      return;
    }
  }
}

/**
 * imsic_mrif_isel_check(): ENOENT for a number that is not an IMSIC
 * register, EINVAL for an odd eip/eie (RV64) or one past the file's ids.
 */
export function imsicIselCheck(nrIds: number, isel: number): void {
  let num = 0;
  if (isel === IMSIC_EIDELIVERY || isel === IMSIC_EITHRESHOLD) return;
  if (isel >= IMSIC_EIP0 && isel < IMSIC_EIP0 + 64) num = isel - IMSIC_EIP0;
  else if (isel >= IMSIC_EIE0 && isel < IMSIC_EIE0 + 64) num = isel - IMSIC_EIE0;
  else fail('ENOENT', `iselect 0x${isel.toString(16)} is not an IMSIC register`);
  if (num & 1) fail('EINVAL', `eip/eie ${num} is odd (RV64)`);
  if (num / 2 >= (nrIds + 1) / 64) fail('EINVAL', `eip/eie ${num} is past the file's identities`);
}

/** The vCPU an IMSIC attribute names (kvm_get_vcpu_by_id()); ENODEV before init or for no such vCPU. */
export function imsicAttrVcpu(vm: KvmVm, vcpuId: number): KvmVcpu {
  if (!riscvVm(vm).aia.initialized) fail('ENODEV', 'the AIA is not initialised');
  const vcpu = vm.vcpuById(vcpuId);
  if (vcpu === undefined) fail('ENODEV', `no vcpu ${vcpuId}`);
  return vcpu;
}
