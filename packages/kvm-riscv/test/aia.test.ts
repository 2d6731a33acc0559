import { EventFd, isKernelError } from '@tsvirt/core-bus';
import {
  type IrqBypassConsumer,
  type IrqBypassManager,
  type IrqBypassProducer,
  KVM_DEV_TYPE_RISCV_AIA,
  KVM_EXIT_MMIO,
  KVM_IRQ_LINE,
  type KvmDevice,
  type KvmVcpu,
} from '@tsvirt/kvm-core';
import * as A from '@tsvirt/test-utils/riscv-asm';
import { describe, expect, it } from 'vitest';
import {
  APLIC_DOMAINCFG,
  APLIC_DOMAINCFG_IE,
  APLIC_SETIENUM,
  APLIC_SOURCECFG_BASE,
  APLIC_SOURCECFG_SM_LEVEL_HIGH,
  APLIC_TARGET_BASE,
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
  KVM_DEV_RISCV_AIA_GRP_ADDR,
  KVM_DEV_RISCV_AIA_GRP_APLIC,
  KVM_DEV_RISCV_AIA_GRP_CONFIG,
  KVM_DEV_RISCV_AIA_GRP_CTRL,
  KVM_DEV_RISCV_AIA_GRP_IMSIC,
  KVM_DEV_RISCV_AIA_IMSIC_MKATTR,
  KVM_DEV_RISCV_AIA_MODE_AUTO,
  KVM_DEV_RISCV_AIA_MODE_EMUL,
  KVM_DEV_RISCV_AIA_MODE_HWACCEL,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_SET_GSI_ROUTING,
  KVM_SIGNAL_MSI,
  type KvmIrqRoutingEntry,
  registerRiscvAia,
  riscvVcpu,
  riscvVm,
} from '../src/index.ts';
import { MMIO, makeVm, RAM_GPA, type TestVm } from './support.ts';

const IMSIC_BASE = 0x2800_0000n;
const APLIC_BASE = 0x0d00_0000n;
const HANDLER = RAM_GPA + 0x800;

function errnoOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isKernelError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const u32 = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
};
const u64 = (v: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
};

function setCfg(dev: KvmDevice, attr: number, v: number): void {
  dev.setAttr({ flags: 0, group: KVM_DEV_RISCV_AIA_GRP_CONFIG, attr: BigInt(attr), addr: 0n, data: u32(v) });
}
function getCfg(dev: KvmDevice, attr: number): number {
  const data = new Uint8Array(4);
  dev.getAttr({ flags: 0, group: KVM_DEV_RISCV_AIA_GRP_CONFIG, attr: BigInt(attr), addr: 0n, data });
  return new DataView(data.buffer).getUint32(0, true);
}
function setAddr(dev: KvmDevice, attr: number, v: bigint): void {
  dev.setAttr({ flags: 0, group: KVM_DEV_RISCV_AIA_GRP_ADDR, attr: BigInt(attr), addr: 0n, data: u64(v) });
}
function init(dev: KvmDevice): void {
  dev.setAttr({
    flags: 0,
    group: KVM_DEV_RISCV_AIA_GRP_CTRL,
    attr: BigInt(KVM_DEV_RISCV_AIA_CTRL_INIT),
    addr: 0n,
  });
}
function aplicSet(dev: KvmDevice, off: number, v: number): void {
  dev.setAttr({ flags: 0, group: KVM_DEV_RISCV_AIA_GRP_APLIC, attr: BigInt(off), addr: 0n, data: u32(v) });
}
function imsicGet(dev: KvmDevice, vcpu: number, isel: number): bigint {
  const data = new Uint8Array(8);
  dev.getAttr({
    flags: 0,
    group: KVM_DEV_RISCV_AIA_GRP_IMSIC,
    attr: KVM_DEV_RISCV_AIA_IMSIC_MKATTR(vcpu, isel),
    addr: 0n,
    data,
  });
  return new DataView(data.buffer).getBigUint64(0, true);
}

/** A VM with the AIA device registered and `n` vCPUs. */
function aiaVm(n = 1, opts: Parameters<typeof makeVm>[1] = {}) {
  const t = makeVm(4 << 20, opts);
  registerRiscvAia(t.kvm);
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < n; i++) vcpus.push(t.vcpu(i));
  const dev = () => t.vm.createDevice({ type: KVM_DEV_TYPE_RISCV_AIA, fd: 0, flags: 0 })!;
  return { t, vcpus, dev };
}

/** The QEMU virt layout: IMSIC pages 4 KiB apart from 0x2800_0000, APLIC with 32 sources. */
function readyAia(n = 1, opts: Parameters<typeof makeVm>[1] = {}) {
  const r = aiaVm(n, opts);
  const d = r.dev();
  setCfg(d, KVM_DEV_RISCV_AIA_CONFIG_SRCS, 32);
  setCfg(d, KVM_DEV_RISCV_AIA_CONFIG_HART_BITS, n > 1 ? 32 - Math.clz32(n - 1) : 0);
  setAddr(d, KVM_DEV_RISCV_AIA_ADDR_APLIC, APLIC_BASE);
  for (let i = 0; i < n; i++) setAddr(d, KVM_DEV_RISCV_AIA_ADDR_IMSIC(i), IMSIC_BASE + BigInt(i) * 0x1000n);
  init(d);
  return { ...r, d };
}

/**
 * Guest: enable its IMSIC file through siselect/sireg (eidelivery, eie0 and
 * eie1 all ones), sie.SEIE and sstatus.SIE, then wfi forever. Its S external
 * handler claims with csrrw stopei and stores the claimed value to MMIO
 * (an exit user space sees), then returns to the wfi loop.
 */
function loadImsicGuest(t: TestVm, tail: number[] = [0x10500073, A.jal(0, -4)]): void {
  t.load(RAM_GPA, [
    ...A.li(1, BigInt(HANDLER + 1)),
    A.csrrw(0, 0x105, 1),
    A.addi(2, 0, 0x70),
    A.csrrw(0, 0x150, 2),
    A.addi(3, 0, 1),
    A.csrrw(0, 0x151, 3), // eidelivery = 1
    A.addi(2, 0, 0xc0),
    A.csrrw(0, 0x150, 2),
    A.addi(3, 0, -1),
    A.csrrw(0, 0x151, 3), // eie0 = ids 1..63
    A.addi(2, 0, 0x200),
    A.csrrs(0, 0x104, 2), // sie.SEIE
    A.csrrsi(0, 0x100, 2), // sstatus.SIE
    ...tail, // wfi forever, unless told
  ]);
  // Exceptions (vectored mode: at the base) report 0xdead0000 | scause to MMIO, so a test fails rather than spins.
  t.load(HANDLER, [
    A.csrrs(8, 0x142, 0),
    A.lui(9, 0xdead0),
    A.or(8, 8, 9),
    ...A.li(5, BigInt(MMIO)),
    A.sw(8, 5, 0),
    A.jal(0, 0),
  ]);
  t.load(HANDLER + 4 * 9, [
    A.csrrw(7, 0x15c, 0), // claim: x7 = stopei
    ...A.li(5, BigInt(MMIO)),
    A.sw(7, 5, 0),
    0x10200073, // sret
  ]);
}

/** KVM_RUN until an MMIO exit (returns its 32-bit data) or `max` runs without one (undefined). */
function runToMmio(v: KvmVcpu, max = 50): number | undefined {
  for (let i = 0; i < max; i++) {
    v.kvmRun();
    if (v.run.exit_reason === KVM_EXIT_MMIO) {
      const d = v.run.mmio.data;
      return (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0;
    }
  }
  return undefined;
}

describe('KVM_DEV_TYPE_RISCV_AIA: attribute errno matrix (aia_device.c)', () => {
  it('create: a second AIA is EEXIST; after a vCPU ran, EBUSY', () => {
    const { dev } = aiaVm();
    dev();
    expect(errnoOf(dev)).toBe('EEXIST');
    const b = aiaVm();
    b.t.load(RAM_GPA, [0x10500073, A.jal(0, -4)]);
    b.vcpus[0]!.kvmRun();
    expect(errnoOf(b.dev)).toBe('EBUSY');
  });
  it('CONFIG defaults as kvm_riscv_aia_init_vm(): AUTO, ids = max - 1, group_shift 24', () => {
    const d = aiaVm().dev();
    expect(getCfg(d, KVM_DEV_RISCV_AIA_CONFIG_MODE)).toBe(KVM_DEV_RISCV_AIA_MODE_AUTO);
    expect(getCfg(d, KVM_DEV_RISCV_AIA_CONFIG_IDS)).toBe(255);
    expect(getCfg(d, KVM_DEV_RISCV_AIA_CONFIG_SRCS)).toBe(0);
    expect(getCfg(d, KVM_DEV_RISCV_AIA_CONFIG_GROUP_SHIFT)).toBe(24);
  });
  const bad: [string, number, number, string][] = [
    ['mode 3', KVM_DEV_RISCV_AIA_CONFIG_MODE, 3, 'EINVAL'],
    ['ids 62 (below IDS_MIN)', KVM_DEV_RISCV_AIA_CONFIG_IDS, 62, 'EINVAL'],
    ['ids 64 (not 64k - 1)', KVM_DEV_RISCV_AIA_CONFIG_IDS, 64, 'EINVAL'],
    ['ids 511 (not below the host max 256)', KVM_DEV_RISCV_AIA_CONFIG_IDS, 511, 'EINVAL'],
    ['ids 2111 (IDS_MAX)', KVM_DEV_RISCV_AIA_CONFIG_IDS, 2111, 'EINVAL'],
    ['srcs 256 (the host max ids)', KVM_DEV_RISCV_AIA_CONFIG_SRCS, 256, 'EINVAL'],
    ['group_bits 8', KVM_DEV_RISCV_AIA_CONFIG_GROUP_BITS, 8, 'EINVAL'],
    ['group_shift 23', KVM_DEV_RISCV_AIA_CONFIG_GROUP_SHIFT, 23, 'EINVAL'],
    ['group_shift 56', KVM_DEV_RISCV_AIA_CONFIG_GROUP_SHIFT, 56, 'EINVAL'],
    ['hart_bits 16', KVM_DEV_RISCV_AIA_CONFIG_HART_BITS, 16, 'EINVAL'],
    ['guest_bits 8', KVM_DEV_RISCV_AIA_CONFIG_GUEST_BITS, 8, 'EINVAL'],
    ['attribute 7', 7, 0, 'ENXIO'],
  ];
  for (const [name, attr, v, code] of bad) {
    it(`CONFIG ${name}: ${code}, the value unchanged`, () => {
      const d = aiaVm().dev();
      const before = attr <= 6 ? getCfg(d, attr) : 0;
      expect(errnoOf(() => setCfg(d, attr, v))).toBe(code);
      if (attr <= 6) expect(getCfg(d, attr)).toBe(before);
    });
  }
  it('CONFIG mode: EMUL, HWACCEL and AUTO are taken; HWACCEL/AUTO without guest files are EINVAL', () => {
    const d = aiaVm().dev();
    for (const m of [
      KVM_DEV_RISCV_AIA_MODE_EMUL,
      KVM_DEV_RISCV_AIA_MODE_HWACCEL,
      KVM_DEV_RISCV_AIA_MODE_AUTO,
    ]) {
      setCfg(d, KVM_DEV_RISCV_AIA_CONFIG_MODE, m);
      expect(getCfg(d, KVM_DEV_RISCV_AIA_CONFIG_MODE)).toBe(m);
    }
    const noFiles = aiaVm(1, { aiaGuestFiles: 0 }).dev();
    expect(getCfg(noFiles, KVM_DEV_RISCV_AIA_CONFIG_MODE)).toBe(KVM_DEV_RISCV_AIA_MODE_EMUL);
    expect(
      errnoOf(() => setCfg(noFiles, KVM_DEV_RISCV_AIA_CONFIG_MODE, KVM_DEV_RISCV_AIA_MODE_HWACCEL)),
    ).toBe('EINVAL');
    expect(errnoOf(() => setCfg(noFiles, KVM_DEV_RISCV_AIA_CONFIG_MODE, KVM_DEV_RISCV_AIA_MODE_AUTO))).toBe(
      'EINVAL',
    );
  });
  it('unreadable attribute data is EFAULT; unknown groups ENXIO; CTRL is not readable (ENXIO)', () => {
    const d = aiaVm().dev();
    const cfg = { flags: 0, group: KVM_DEV_RISCV_AIA_GRP_CONFIG, attr: 0n, addr: 0n };
    expect(errnoOf(() => d.setAttr(cfg))).toBe('EFAULT');
    expect(errnoOf(() => d.getAttr({ ...cfg, data: new Uint8Array(2) }))).toBe('EFAULT');
    expect(errnoOf(() => d.setAttr({ ...cfg, group: KVM_DEV_RISCV_AIA_GRP_ADDR, data: u32(0) }))).toBe(
      'EFAULT',
    );
    expect(errnoOf(() => d.setAttr({ ...cfg, group: 5, data: u64(0n) }))).toBe('ENXIO');
    expect(errnoOf(() => d.getAttr({ ...cfg, group: KVM_DEV_RISCV_AIA_GRP_CTRL, data: u64(0n) }))).toBe(
      'ENXIO',
    );
    expect(errnoOf(() => d.setAttr({ ...cfg, group: KVM_DEV_RISCV_AIA_GRP_CTRL, attr: 1n }))).toBe('ENXIO');
  });
  it('ADDR: misaligned is EINVAL; an IMSIC past the online vCPUs is ENXIO; has_attr agrees', () => {
    const d = aiaVm(2).dev();
    expect(errnoOf(() => setAddr(d, KVM_DEV_RISCV_AIA_ADDR_APLIC, APLIC_BASE + 0x800n))).toBe('EINVAL');
    expect(errnoOf(() => setAddr(d, KVM_DEV_RISCV_AIA_ADDR_IMSIC(1), IMSIC_BASE + 4n))).toBe('EINVAL');
    expect(errnoOf(() => setAddr(d, KVM_DEV_RISCV_AIA_ADDR_IMSIC(2), IMSIC_BASE))).toBe('ENXIO');
    const has = (attr: number) =>
      errnoOf(() => d.hasAttr({ flags: 0, group: KVM_DEV_RISCV_AIA_GRP_ADDR, attr: BigInt(attr), addr: 0n }));
    expect(has(KVM_DEV_RISCV_AIA_ADDR_IMSIC(1))).toBeUndefined();
    expect(has(KVM_DEV_RISCV_AIA_ADDR_IMSIC(2))).toBe('ENXIO');
  });
  it('APLIC and IMSIC attributes before CTRL_INIT are ENODEV', () => {
    const d = aiaVm().dev();
    expect(errnoOf(() => aplicSet(d, APLIC_DOMAINCFG, 0))).toBe('ENODEV');
    expect(errnoOf(() => imsicGet(d, 0, 0x70))).toBe('ENODEV');
  });
  it('CTRL_INIT refuses: no IMSIC address, sources without an APLIC, more sources than ids, IMSICs off one base', () => {
    const a = aiaVm(2).dev();
    setAddr(a, KVM_DEV_RISCV_AIA_ADDR_IMSIC(0), IMSIC_BASE);
    expect(errnoOf(() => init(a))).toBe('EINVAL');
    const b = aiaVm().dev();
    setAddr(b, KVM_DEV_RISCV_AIA_ADDR_IMSIC(0), IMSIC_BASE);
    setCfg(b, KVM_DEV_RISCV_AIA_CONFIG_SRCS, 10);
    expect(errnoOf(() => init(b))).toBe('EINVAL');
    const c = aiaVm().dev();
    setAddr(c, KVM_DEV_RISCV_AIA_ADDR_IMSIC(0), IMSIC_BASE);
    setAddr(c, KVM_DEV_RISCV_AIA_ADDR_APLIC, APLIC_BASE);
    setCfg(c, KVM_DEV_RISCV_AIA_CONFIG_IDS, 63);
    setCfg(c, KVM_DEV_RISCV_AIA_CONFIG_SRCS, 100);
    expect(errnoOf(() => init(c))).toBe('EINVAL');
    const { dev, t } = aiaVm(2);
    const e = dev();
    setAddr(e, KVM_DEV_RISCV_AIA_ADDR_IMSIC(0), IMSIC_BASE);
    setAddr(e, KVM_DEV_RISCV_AIA_ADDR_IMSIC(1), IMSIC_BASE + 0x1000n); // hart_bits 0: a different PPN
    expect(errnoOf(() => init(e))).toBe('EINVAL');
    // Nothing half-built: no IMSIC page on the bus, and the fix makes init work.
    expect(t.vm.mmioBus.devices.size).toBe(0);
    setCfg(e, KVM_DEV_RISCV_AIA_CONFIG_HART_BITS, 1);
    init(e);
    expect(t.vm.mmioBus.devices.size).toBe(2);
  });
  it('after CTRL_INIT: CONFIG and ADDR writes and a second init are EBUSY', () => {
    const { d } = readyAia();
    expect(errnoOf(() => setCfg(d, KVM_DEV_RISCV_AIA_CONFIG_SRCS, 1))).toBe('EBUSY');
    expect(errnoOf(() => setAddr(d, KVM_DEV_RISCV_AIA_ADDR_APLIC, APLIC_BASE))).toBe('EBUSY');
    expect(errnoOf(() => init(d))).toBe('EBUSY');
    expect(getCfg(d, KVM_DEV_RISCV_AIA_CONFIG_SRCS)).toBe(32);
  });
  it('IMSIC attributes: ENOENT for a non-IMSIC iselect, EINVAL for odd or out-of-range eip/eie, ENODEV for no vCPU', () => {
    const { d } = readyAia();
    const has = (vcpu: number, isel: number) =>
      errnoOf(() =>
        d.hasAttr({
          flags: 0,
          group: KVM_DEV_RISCV_AIA_GRP_IMSIC,
          attr: KVM_DEV_RISCV_AIA_IMSIC_MKATTR(vcpu, isel),
          addr: 0n,
        }),
      );
    expect(has(0, 0x70)).toBeUndefined();
    expect(has(0, 0x71)).toBe('ENOENT');
    expect(has(0, 0x81)).toBe('EINVAL');
    expect(has(0, 0x88)).toBe('EINVAL'); // eip8: ids 256..319, past N = 255
    expect(has(0, 0xc6)).toBeUndefined();
    expect(has(3, 0x70)).toBe('ENODEV');
    expect(errnoOf(() => imsicGet(d, 0, 0x71))).toBe('ENOENT');
  });
  it('APLIC attributes: EOPNOTSUPP misaligned, ENODEV for no register; domaincfg reads 0x80000004 | IE', () => {
    const { d } = readyAia();
    expect(errnoOf(() => aplicSet(d, 2, 0))).toBe('EOPNOTSUPP');
    expect(errnoOf(() => aplicSet(d, 0x4000, 0))).toBe('ENODEV');
    expect(errnoOf(() => aplicSet(d, APLIC_SOURCECFG_BASE + 32 * 4, 0))).toBe('ENODEV'); // source 33 of 32
    aplicSet(d, APLIC_DOMAINCFG, 0xffff_ffff);
    const data = new Uint8Array(4);
    d.getAttr({ flags: 0, group: KVM_DEV_RISCV_AIA_GRP_APLIC, attr: 0n, addr: 0n, data });
    expect(new DataView(data.buffer).getUint32(0, true)).toBe(0x8000_0104);
  });
});

describe('MSIs into the vCPU IMSIC file', () => {
  it('KVM_SIGNAL_MSI: the guest takes identity 5 as its S external interrupt and claims it through stopei', () => {
    const { t, vcpus } = readyAia();
    loadImsicGuest(t);
    const v = vcpus[0]!;
    expect(runToMmio(v, 5)).toBeUndefined(); // set up, halted in wfi
    expect(riscvVcpu(v).aia.hardware).toBe(true); // the hart's guest file, VGEIN = 1
    t.vm.ioctl(KVM_SIGNAL_MSI, { address_lo: Number(IMSIC_BASE), address_hi: 0, data: 5, flags: 0 });
    expect(runToMmio(v)).toBe((5 << 16) | 5);
    expect(riscvVcpu(v).hart.aia.files[1]!.topei()).toBe(0);
  });
  it('KVM_SIGNAL_MSI errno: EINVAL without an AIA or with bad flags, EBUSY before init, ENODEV/EINVAL from the IMSIC', () => {
    const plain = makeVm();
    plain.vcpu();
    const msi = { address_lo: Number(IMSIC_BASE), address_hi: 0, data: 5, flags: 0 };
    expect(errnoOf(() => plain.vm.ioctl(KVM_SIGNAL_MSI, msi))).toBe('EINVAL');
    const { dev, t } = aiaVm();
    dev();
    expect(errnoOf(() => t.vm.ioctl(KVM_SIGNAL_MSI, msi))).toBe('EBUSY');
    const r = readyAia();
    expect(errnoOf(() => r.t.vm.ioctl(KVM_SIGNAL_MSI, { ...msi, flags: 2 }))).toBe('EINVAL');
    expect(errnoOf(() => r.t.vm.ioctl(KVM_SIGNAL_MSI, { ...msi, data: 0 }))).toBe('ENODEV');
    expect(errnoOf(() => r.t.vm.ioctl(KVM_SIGNAL_MSI, { ...msi, address_lo: Number(IMSIC_BASE) + 8 }))).toBe(
      'ENODEV',
    );
    expect(errnoOf(() => r.t.vm.ioctl(KVM_SIGNAL_MSI, { ...msi, data: 256 }))).toBe('EINVAL');
    // An address no vCPU owns is dropped without error (kvm_riscv_aia_inject_msi()).
    expect(r.t.vm.ioctl(KVM_SIGNAL_MSI, { ...msi, address_lo: 0x3000_0000 })).toBe(0);
  });
  it('KVM_SET_GSI_ROUTING with an MSI entry and an irqfd: signalling the eventfd lands identity 7 in the guest', () => {
    const { t, vcpus } = readyAia();
    loadImsicGuest(t);
    const v = vcpus[0]!;
    runToMmio(v, 5);
    const msi: KvmIrqRoutingEntry = {
      gsi: 40,
      type: KVM_IRQ_ROUTING_MSI,
      flags: 0,
      msi: { address_lo: Number(IMSIC_BASE), address_hi: 0, data: 7 },
    };
    t.vm.ioctl(KVM_SET_GSI_ROUTING, { nr: 1, flags: 0, entries: [msi] });
    const ev = new EventFd();
    t.vm.irqfd({ fd: t.files.install(ev), gsi: 40, flags: 0 });
    ev.signal();
    expect(runToMmio(v)).toBe((7 << 16) | 7);
  });
  it('KVM_SET_GSI_ROUTING errno, and a refused table leaves the old one', () => {
    const plain = aiaVm();
    expect(errnoOf(() => plain.t.vm.ioctl(KVM_SET_GSI_ROUTING, { nr: 0, flags: 0, entries: [] }))).toBe(
      'EINVAL',
    );
    const { t } = readyAia();
    const set = (entries: KvmIrqRoutingEntry[], over: object = {}) =>
      errnoOf(() => t.vm.ioctl(KVM_SET_GSI_ROUTING, { nr: entries.length, flags: 0, entries, ...over }));
    const pin = (gsi: number, p: number, chip = 0): KvmIrqRoutingEntry => ({
      gsi,
      type: KVM_IRQ_ROUTING_IRQCHIP,
      flags: 0,
      irqchip: { irqchip: chip, pin: p },
    });
    expect(set([], { flags: 1 })).toBe('EINVAL');
    expect(set([], { nr: 4097 })).toBe('EINVAL');
    expect(set([{ gsi: 1, type: 3, flags: 0 }])).toBe('EINVAL');
    expect(set([pin(1, 1024)])).toBe('EINVAL');
    expect(set([pin(1, 1, 1)])).toBe('EINVAL');
    expect(set([pin(4096, 1)])).toBe('EINVAL');
    expect(set([pin(1, 1), pin(1, 2)])).toBe('EINVAL');
    expect(
      set([{ gsi: 2, type: KVM_IRQ_ROUTING_MSI, flags: 2, msi: { address_lo: 0, address_hi: 0, data: 1 } }]),
    ).toBe('EINVAL');
    expect(
      set([
        pin(1, 1),
        { gsi: 1, type: KVM_IRQ_ROUTING_MSI, flags: 0, msi: { address_lo: 0, address_hi: 0, data: 1 } },
      ]),
    ).toBeUndefined();
  });
  it('an irqfd on a VM whose AIA is not initialised is EAGAIN (kvm_arch_intc_initialized)', () => {
    const { dev, t } = aiaVm();
    dev();
    const ev = new EventFd();
    expect(errnoOf(() => t.vm.irqfd({ fd: t.files.install(ev), gsi: 1, flags: 0 }))).toBe('EAGAIN');
  });
  it('a guest store to its own IMSIC page (an IPI to itself) is handled in the kernel', () => {
    const { t, vcpus } = readyAia();
    // Store identity 9 to our own seteipnum_le, then wait.
    loadImsicGuest(t, [...A.li(6, IMSIC_BASE), A.addi(4, 0, 9), A.sw(4, 6, 0), 0x10500073, A.jal(0, -4)]);
    expect(runToMmio(vcpus[0]!)).toBe((9 << 16) | 9);
  });
});

describe('APLIC in MSI delivery mode: a wired source reaches the guest as an MSI', () => {
  it('KVM_IRQ_LINE on a level-high source with a target sends the EIID to the target hart', () => {
    const { t, vcpus, d } = readyAia(2);
    loadImsicGuest(t);
    const v1 = vcpus[1]!;
    riscvVcpu(v1).hart.pc = BigInt(RAM_GPA);
    runToMmio(v1, 5);
    aplicSet(d, APLIC_SOURCECFG_BASE + 9 * 4, APLIC_SOURCECFG_SM_LEVEL_HIGH); // source 10
    aplicSet(d, APLIC_TARGET_BASE + 9 * 4, (1 << 18) | 33); // hart index 1, EIID 33
    aplicSet(d, APLIC_SETIENUM, 10);
    aplicSet(d, APLIC_DOMAINCFG, APLIC_DOMAINCFG_IE);
    t.vm.ioctl(KVM_IRQ_LINE, { irq: 10, level: 1 });
    expect(runToMmio(v1)).toBe((33 << 16) | 33);
    // Still asserted, but already sent: no second MSI until the line moves.
    expect(runToMmio(v1, 3)).toBeUndefined();
    t.vm.ioctl(KVM_IRQ_LINE, { irq: 10, level: 0 });
    t.vm.ioctl(KVM_IRQ_LINE, { irq: 10, level: 1 });
    expect(runToMmio(v1)).toBe((33 << 16) | 33);
    expect(riscvVcpu(vcpus[0]!).hart.aia.files[1]!.read(0x80)).toBe(0n); // hart 0 got nothing
  });
  it('EMUL mode: a software file drives hvip.VSEIP; the IMSIC attribute reads it', () => {
    const r = aiaVm();
    const d = r.dev();
    setCfg(d, KVM_DEV_RISCV_AIA_CONFIG_MODE, KVM_DEV_RISCV_AIA_MODE_EMUL);
    setAddr(d, KVM_DEV_RISCV_AIA_ADDR_IMSIC(0), IMSIC_BASE);
    init(d);
    const v = r.vcpus[0]!;
    const s = riscvVcpu(v);
    expect(s.aia.hardware).toBe(false);
    d.setAttr({
      flags: 0,
      group: KVM_DEV_RISCV_AIA_GRP_IMSIC,
      attr: KVM_DEV_RISCV_AIA_IMSIC_MKATTR(0, 0x70),
      addr: 0n,
      data: u64(1n),
    });
    d.setAttr({
      flags: 0,
      group: KVM_DEV_RISCV_AIA_GRP_IMSIC,
      attr: KVM_DEV_RISCV_AIA_IMSIC_MKATTR(0, 0xc0),
      addr: 0n,
      data: u64(1n << 12n),
    });
    r.t.vm.ioctl(KVM_SIGNAL_MSI, { address_lo: Number(IMSIC_BASE), address_hi: 0, data: 12, flags: 0 });
    expect(imsicGet(d, 0, 0x80)).toBe(1n << 12n);
    expect(s.hart.hvip & (1 << 10)).toBe(1 << 10);
  });
});

/** A bypass manager with irqbypass.c's connect/disconnect order, enough to pair one producer and one consumer. */
class MiniBypass implements IrqBypassManager {
  consumer: IrqBypassConsumer | undefined;
  producer: IrqBypassProducer | undefined;
  registerConsumer(c: IrqBypassConsumer): void {
    this.consumer = c;
    if (this.producer?.token === c.token) this.connect();
  }
  unregisterConsumer(c: IrqBypassConsumer): void {
    if (this.producer?.token === c.token) this.disconnect();
    this.consumer = undefined;
  }
  registerProducer(p: IrqBypassProducer): void {
    this.producer = p;
    if (this.consumer?.token === p.token) this.connect();
  }
  unregisterProducer(p: IrqBypassProducer): void {
    if (this.consumer?.token === p.token) this.disconnect();
    this.producer = undefined;
  }
  private connect(): void {
    this.producer!.addConsumer?.(this.consumer!);
    this.consumer!.addProducer(this.producer!);
  }
  private disconnect(): void {
    this.consumer!.delProducer(this.producer!);
    this.producer!.delConsumer?.(this.consumer!);
  }
}

/** A VFIO MSI vector as a producer: fire() hands the interrupt to a connected consumer, else signals the eventfd. */
class MsiProducer implements IrqBypassProducer {
  consumer: (IrqBypassConsumer & { inject?(): void }) | undefined;
  constructor(
    readonly token: EventFd,
    readonly irq: number,
  ) {}
  addConsumer(c: IrqBypassConsumer): void {
    this.consumer = c;
  }
  delConsumer(): void {
    this.consumer = undefined;
  }
  fire(): void {
    if (this.consumer?.inject !== undefined) this.consumer.inject();
    else this.token.signal();
  }
}

describe('irqbypass: a device MSI posted into the guest interrupt file', () => {
  function setup() {
    const r = readyAia();
    const mgr = new MiniBypass();
    r.t.kvm.irqBypass = mgr;
    loadImsicGuest(r.t);
    const v = r.vcpus[0]!;
    runToMmio(v, 5);
    const route = (data: number): KvmIrqRoutingEntry => ({
      gsi: 40,
      type: KVM_IRQ_ROUTING_MSI,
      flags: 0,
      msi: { address_lo: Number(IMSIC_BASE), address_hi: 0, data },
    });
    r.t.vm.ioctl(KVM_SET_GSI_ROUTING, { nr: 1, flags: 0, entries: [route(11)] });
    const ev = new EventFd();
    r.t.vm.irqfd({ fd: r.t.files.install(ev), gsi: 40, flags: 0 });
    const prod = new MsiProducer(ev, 77);
    return { ...r, mgr, v, ev, prod, route };
  }
  it('connect posts the route: fire() writes the file, the eventfd is never signalled', () => {
    const { t, mgr, v, ev, prod } = setup();
    mgr.registerProducer(prod);
    const aia = riscvVm(t.vm).aia;
    expect(aia.posted.get(40)).toMatchObject({ hostIrq: 77, id: 11 });
    prod.fire();
    expect(ev.value).toBe(0n);
    expect(aia.postedDelivered).toBe(1);
    expect(aia.msisDelivered).toBe(0);
    expect(runToMmio(v)).toBe((11 << 16) | 11);
  });
  it('a new routing table re-resolves the posted route; disconnect falls back to the irqfd path', () => {
    const { t, mgr, v, prod, route } = setup();
    mgr.registerProducer(prod);
    t.vm.ioctl(KVM_SET_GSI_ROUTING, { nr: 1, flags: 0, entries: [route(12)] });
    const aia = riscvVm(t.vm).aia;
    expect(aia.posted.get(40)?.id).toBe(12);
    mgr.unregisterProducer(prod);
    expect(aia.posted.size).toBe(0);
    prod.fire(); // eventfd -> irqfd -> GSI route -> IMSIC
    expect(aia.msisDelivered).toBe(1);
    expect(aia.postedDelivered).toBe(0);
    expect(runToMmio(v)).toBe((12 << 16) | 12);
  });
  it('a route that is not an MSI to a vCPU file is not posted; closing the VM fd unposts (irqfd teardown)', () => {
    const { t, mgr, prod } = setup();
    t.vm.ioctl(KVM_SET_GSI_ROUTING, {
      nr: 1,
      flags: 0,
      entries: [{ gsi: 40, type: KVM_IRQ_ROUTING_IRQCHIP, flags: 0, irqchip: { irqchip: 0, pin: 3 } }],
    });
    mgr.registerProducer(prod);
    const aia = riscvVm(t.vm).aia;
    expect(aia.posted.size).toBe(0);
    t.vm.ioctl(KVM_SET_GSI_ROUTING, {
      nr: 1,
      flags: 0,
      entries: [
        {
          gsi: 40,
          type: KVM_IRQ_ROUTING_MSI,
          flags: 0,
          msi: { address_lo: Number(IMSIC_BASE), address_hi: 0, data: 3 },
        },
      ],
    });
    expect(aia.posted.size).toBe(0); // routing changes only re-resolve what is posted
    mgr.unregisterProducer(prod);
    mgr.registerProducer(prod);
    expect(aia.posted.size).toBe(1);
    t.vm.release();
    expect(aia.posted.size).toBe(0);
    expect(mgr.consumer).toBeUndefined();
  });
});

describe('KVM emulates the AIA CSRs a guest file cannot answer (vcpu_insn.c csr_funcs)', () => {
  it('EMUL mode: sireg/stopei trap and KVM answers from the software file; the guest claims identity 6', () => {
    const r = aiaVm();
    const d = r.dev();
    setCfg(d, KVM_DEV_RISCV_AIA_CONFIG_MODE, KVM_DEV_RISCV_AIA_MODE_EMUL);
    setAddr(d, KVM_DEV_RISCV_AIA_ADDR_IMSIC(0), IMSIC_BASE);
    init(d);
    loadImsicGuest(r.t);
    const v = r.vcpus[0]!;
    expect(runToMmio(v, 5)).toBeUndefined();
    expect(imsicGet(d, 0, 0x70)).toBe(1n); // the guest's eidelivery write, emulated
    expect(imsicGet(d, 0, 0xc0)).toBe(0xffff_ffff_ffff_fffen); // eie0 (identity 0 read-only zero)
    r.t.vm.ioctl(KVM_SIGNAL_MSI, { address_lo: Number(IMSIC_BASE), address_hi: 0, data: 6, flags: 0 });
    expect(runToMmio(v)).toBe((6 << 16) | 6);
    expect(imsicGet(d, 0, 0x80)).toBe(0n); // claimed
  });
  it('the major-interrupt priorities (siselect 0x30) read zero and ignore writes', () => {
    const { t, vcpus } = readyAia();
    t.load(RAM_GPA, [
      A.addi(2, 0, 0x30),
      A.csrrw(0, 0x150, 2),
      A.addi(3, 0, 0x55),
      A.csrrw(4, 0x151, 3), // x4 = iprio0 (0), write ignored
      A.csrrs(5, 0x151, 0), // x5 = iprio0 again
      ...A.li(6, BigInt(MMIO)),
      A.sw(5, 6, 0),
    ]);
    const v = vcpus[0]!;
    expect(runToMmio(v)).toBe(0);
    expect(riscvVcpu(v).hart.getX(4)).toBe(0n);
  });
});

describe('KVM_IRQ_LINE with the in-kernel AIA (kvm_riscv_aia_inject_irq)', () => {
  it('EBUSY before CTRL_INIT; ENODEV for source 0 or past the sources', () => {
    const { dev, t } = aiaVm();
    dev();
    expect(errnoOf(() => t.vm.ioctl(KVM_IRQ_LINE, { irq: 1, level: 1 }))).toBe('EBUSY');
    const r = readyAia();
    expect(errnoOf(() => r.t.vm.ioctl(KVM_IRQ_LINE, { irq: 0, level: 1 }))).toBe('ENODEV');
    expect(errnoOf(() => r.t.vm.ioctl(KVM_IRQ_LINE, { irq: 33, level: 1 }))).toBe('ENODEV');
    expect(r.t.vm.ioctl(KVM_IRQ_LINE, { irq: 32, level: 1 })).toBe(0);
  });
  it('drives the APLIC pin itself, whatever the GSI routing table says', () => {
    const { t, vcpus, d } = readyAia();
    loadImsicGuest(t);
    const v = vcpus[0]!;
    runToMmio(v, 5);
    // A table with only an MSI route: GSI 5 is no pin, but KVM_IRQ_LINE 5 is APLIC source 5.
    t.vm.ioctl(KVM_SET_GSI_ROUTING, {
      nr: 1,
      flags: 0,
      entries: [
        {
          gsi: 5,
          type: KVM_IRQ_ROUTING_MSI,
          flags: 0,
          msi: { address_lo: 0x3000_0000, address_hi: 0, data: 1 },
        },
      ],
    });
    aplicSet(d, APLIC_SOURCECFG_BASE + 4 * 4, APLIC_SOURCECFG_SM_LEVEL_HIGH);
    aplicSet(d, APLIC_TARGET_BASE + 4 * 4, 20);
    aplicSet(d, APLIC_SETIENUM, 5);
    aplicSet(d, APLIC_DOMAINCFG, APLIC_DOMAINCFG_IE);
    t.vm.ioctl(KVM_IRQ_LINE, { irq: 5, level: 1 });
    expect(runToMmio(v)).toBe((20 << 16) | 20);
  });
});

describe('AIA state through the APLIC and IMSIC attributes (what a VMM saves and restores)', () => {
  /** Every IMSIC register of vCPU 0's file, by iselect. */
  const IMSIC_REGS = [0x70, 0x72, 0x80, 0x82, 0x84, 0x86, 0xc0, 0xc2, 0xc4, 0xc6];
  /** The APLIC registers a VMM saves: domaincfg, sourcecfg/target of every source, the enable words. */
  const aplicRegs = (n: number) => [
    ...Array.from({ length: n }, (_, i) => APLIC_SOURCECFG_BASE + 4 * i),
    ...Array.from({ length: n }, (_, i) => APLIC_TARGET_BASE + 4 * i),
    0x1e00,
    0x1e04,
    APLIC_DOMAINCFG,
  ];
  function aplicGet(d: KvmDevice, off: number): number {
    const data = new Uint8Array(4);
    d.getAttr({ flags: 0, group: KVM_DEV_RISCV_AIA_GRP_APLIC, attr: BigInt(off), addr: 0n, data });
    return new DataView(data.buffer).getUint32(0, true);
  }
  it('a pending identity and the APLIC routing move to a new VM, whose guest then takes them', () => {
    const src = readyAia();
    aplicSet(src.d, APLIC_SOURCECFG_BASE + 9 * 4, APLIC_SOURCECFG_SM_LEVEL_HIGH);
    aplicSet(src.d, APLIC_TARGET_BASE + 9 * 4, 21);
    aplicSet(src.d, APLIC_SETIENUM, 10);
    aplicSet(src.d, APLIC_DOMAINCFG, APLIC_DOMAINCFG_IE);
    const f = riscvVcpu(src.vcpus[0]!).hart.aia.files[1]!;
    f.write(0x70, 1n);
    f.write(0xc0, (1n << 64n) - 2n);
    f.setPending(17); // pending when the source stops
    const imsic = IMSIC_REGS.map((isel) => imsicGet(src.d, 0, isel));
    const aplic = aplicRegs(32).map((off) => aplicGet(src.d, off));

    const dst = readyAia();
    for (const [i, off] of aplicRegs(32).entries()) aplicSet(dst.d, off, aplic[i]!);
    for (const [i, isel] of IMSIC_REGS.entries())
      dst.d.setAttr({
        flags: 0,
        group: KVM_DEV_RISCV_AIA_GRP_IMSIC,
        attr: KVM_DEV_RISCV_AIA_IMSIC_MKATTR(0, isel),
        addr: 0n,
        data: u64(imsic[i]!),
      });
    expect(IMSIC_REGS.map((isel) => imsicGet(dst.d, 0, isel))).toEqual(imsic);
    expect(aplicRegs(32).map((off) => aplicGet(dst.d, off))).toEqual(aplic);
    // The destination guest: its handler claims 17 first, then the UART's 21 once source 10 is raised.
    loadImsicGuest(dst.t);
    const v = dst.vcpus[0]!;
    expect(runToMmio(v)).toBe((17 << 16) | 17);
    dst.t.vm.ioctl(KVM_IRQ_LINE, { irq: 10, level: 1 });
    expect(runToMmio(v)).toBe((21 << 16) | 21);
  });
});
