import type { KvmDevice } from '@tsvirt/kvm-core';
import {
  APLIC_CLRIP_BASE,
  APLIC_DOMAINCFG,
  APLIC_SETIE_BASE,
  APLIC_SETIP_BASE,
  APLIC_SOURCECFG_BASE,
  APLIC_TARGET_BASE,
  KVM_DEV_RISCV_AIA_ADDR_APLIC,
  KVM_DEV_RISCV_AIA_ADDR_IMSIC,
  KVM_DEV_RISCV_AIA_CONFIG_IDS,
  KVM_DEV_RISCV_AIA_CONFIG_SRCS,
  KVM_DEV_RISCV_AIA_GRP_ADDR,
  KVM_DEV_RISCV_AIA_GRP_APLIC,
  KVM_DEV_RISCV_AIA_GRP_CONFIG,
  KVM_DEV_RISCV_AIA_GRP_IMSIC,
  KVM_DEV_RISCV_AIA_IMSIC_MKATTR,
} from '@tsvirt/kvm-riscv';
import { IMSIC_EIDELIVERY, IMSIC_EIE0, IMSIC_EIP0, IMSIC_EITHRESHOLD } from '@tsvirt/riscv-hart';
import type { Machine } from '../../machine.ts';
import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';
import { MigrationError, type Section } from '../stream.ts';

const CONFIG_NAMES = ['mode', 'ids', 'srcs', 'group_bits', 'group_shift', 'hart_bits', 'guest_bits'];

function getAttr(dev: KvmDevice, group: number, attr: bigint, size: 4 | 8): bigint {
  const data = new Uint8Array(size);
  dev.getAttr({ flags: 0, group, attr, addr: 0n, data });
  const dv = new DataView(data.buffer);
  return size === 4 ? BigInt(dv.getUint32(0, true)) : dv.getBigUint64(0, true);
}

function setAttr(dev: KvmDevice, group: number, attr: bigint, size: 4 | 8, v: bigint): void {
  const data = new Uint8Array(size);
  const dv = new DataView(data.buffer);
  if (size === 4) dv.setUint32(0, Number(v), true);
  else dv.setBigUint64(0, v, true);
  dev.setAttr({ flags: 0, group, attr, addr: 0n, data });
}

/** CONFIG (mode, ids, srcs, group/hart/guest bits) and ADDR (the APLIC, each vCPU's IMSIC page) as KVM reports them. */
function layout(m: Machine): { config: number[]; addrs: bigint[] } {
  const dev = m.aia!.dev;
  const config = CONFIG_NAMES.map((_, i) => Number(getAttr(dev, KVM_DEV_RISCV_AIA_GRP_CONFIG, BigInt(i), 4)));
  const addrs = [KVM_DEV_RISCV_AIA_ADDR_APLIC, ...m.vcpus.map((_, i) => KVM_DEV_RISCV_AIA_ADDR_IMSIC(i))].map(
    (a) => getAttr(dev, KVM_DEV_RISCV_AIA_GRP_ADDR, BigInt(a), 8),
  );
  return { config, addrs };
}

/** The APLIC's per-source registers, then its bit arrays (one u32 word per 32 sources, source 0 included). */
interface AplicRegs {
  domaincfg: number;
  sourcecfg: number[];
  target: number[];
  /** setip: pending. */
  pending: number[];
  /** in_clrip: the rectified input levels. */
  input: number[];
  /** setie: enabled. */
  enabled: number[];
}

/** The IMSIC registers of an interrupt file with `ids` identities (imsic_mrif_isel_check()'s RV64 set). */
function imsicIsels(ids: number): number[] {
  const words: number[] = [];
  for (let k = 0; k * 32 <= ids; k += 2) words.push(k);
  return [
    IMSIC_EIDELIVERY,
    IMSIC_EITHRESHOLD,
    ...words.map((k) => IMSIC_EIP0 + k),
    ...words.map((k) => IMSIC_EIE0 + k),
  ];
}

/**
 * --irqchip aia: KVM's in-kernel AIA (the "riscv_aplic"/"riscv_imsic"
 * state QEMU reads from KVM): its CONFIG and ADDR attributes, which the
 * destination (built with the same flags, its AIA created and initialised
 * at boot as the source's was) must report identically; the APLIC
 * registers (KVM_DEV_RISCV_AIA_GRP_APLIC); and each vCPU's IMSIC file
 * (KVM_DEV_RISCV_AIA_GRP_IMSIC: eidelivery, eithreshold, eip, eie). In
 * HWACCEL mode the file is the hart's guest interrupt file, which the cpu
 * sections also carry (with hstatus.VGEIN, the vCPU's binding to it);
 * writing it again here is what a VMM does and covers EMUL mode's software
 * files, which only KVM holds. Loaded after the vCPUs and the UART.
 */
export const aiaSection: SectionHandler = {
  id: 'aia',
  version: 1,
  instances: (m) => (m.aia === undefined ? [] : [0]),
  save(m, w) {
    if (m.aia === undefined) return;
    const dev = m.aia.dev;
    const { config, addrs } = layout(m);
    const out = new ByteWriter();
    for (const c of config) out.u32(c);
    out.u32(addrs.length);
    for (const a of addrs) out.u64(a);
    const srcs = config[KVM_DEV_RISCV_AIA_CONFIG_SRCS]!;
    const aplic = (off: number) => Number(getAttr(dev, KVM_DEV_RISCV_AIA_GRP_APLIC, BigInt(off), 4));
    const words = Math.ceil((srcs + 1) / 32);
    out.u32(aplic(APLIC_DOMAINCFG));
    for (let i = 1; i <= srcs; i++) out.u32(aplic(APLIC_SOURCECFG_BASE + (i - 1) * 4));
    for (let i = 1; i <= srcs; i++) out.u32(aplic(APLIC_TARGET_BASE + (i - 1) * 4));
    for (const base of [APLIC_SETIP_BASE, APLIC_CLRIP_BASE, APLIC_SETIE_BASE])
      for (let k = 0; k < words; k++) out.u32(aplic(base + k * 4));
    const isels = imsicIsels(config[KVM_DEV_RISCV_AIA_CONFIG_IDS]!);
    for (const v of m.vcpus)
      for (const isel of isels)
        out.u64(getAttr(dev, KVM_DEV_RISCV_AIA_GRP_IMSIC, KVM_DEV_RISCV_AIA_IMSIC_MKATTR(v.vcpuId, isel), 8));
    w.section('aia', 0, 1, out.finish());
  },
  load(m, s) {
    const dev = m.aia!.dev;
    const r = new ByteReader(s.payload, "section 'aia'");
    const config = CONFIG_NAMES.map(() => r.u32());
    const here = layout(m);
    for (const [i, name] of CONFIG_NAMES.entries())
      if (config[i] !== here.config[i])
        throw new MigrationError(`section 'aia': ${name} ${config[i]} in the stream, ${here.config[i]} here`);
    const n = r.u32();
    if (n !== here.addrs.length)
      throw new MigrationError(`section 'aia': ${n} AIA addresses in the stream, ${here.addrs.length} here`);
    for (let i = 0; i < n; i++) {
      const a = r.u64();
      if (a !== here.addrs[i])
        throw new MigrationError(
          `section 'aia': ${i === 0 ? 'APLIC' : `vCPU ${i - 1}'s IMSIC`} at 0x${a.toString(16)} in the stream, 0x${here.addrs[i]!.toString(16)} here`,
        );
    }
    const srcs = config[KVM_DEV_RISCV_AIA_CONFIG_SRCS]!;
    const words = Math.ceil((srcs + 1) / 32);
    const regs: AplicRegs = {
      domaincfg: r.u32(),
      sourcecfg: Array.from({ length: srcs }, () => r.u32()),
      target: Array.from({ length: srcs }, () => r.u32()),
      pending: Array.from({ length: words }, () => r.u32()),
      input: Array.from({ length: words }, () => r.u32()),
      enabled: Array.from({ length: words }, () => r.u32()),
    };
    const isels = imsicIsels(config[KVM_DEV_RISCV_AIA_CONFIG_IDS]!);
    const files = m.vcpus.map(() => isels.map(() => r.u64()));
    r.end();
    // Checked: now the writes (KVM checks each value as the guest's own store would be).
    loadAplic(m, regs);
    for (const [vi, v] of m.vcpus.entries())
      for (const [k, isel] of isels.entries())
        setAttr(
          dev,
          KVM_DEV_RISCV_AIA_GRP_IMSIC,
          KVM_DEV_RISCV_AIA_IMSIC_MKATTR(v.vcpuId, isel),
          8,
          files[vi]![k]!,
        );
  },
};

/**
 * The APLIC of a destination that has not run (every source inactive):
 * first the wired inputs that were asserted are driven again with
 * KVM_IRQ_LINE (only the input latches while a source is inactive), then
 * sourcecfg and target, pending (a level source takes it only while its
 * input is asserted, as on the source), enabled, and domaincfg last: with
 * IE on, anything enabled and pending is sent, as the source's APLIC would
 * have at its next update.
 */
function loadAplic(m: Machine, regs: AplicRegs): void {
  const dev = m.aia!.dev;
  const aplic = (off: number, v: number) =>
    setAttr(dev, KVM_DEV_RISCV_AIA_GRP_APLIC, BigInt(off), 4, BigInt(v));
  const srcs = regs.sourcecfg.length;
  for (let i = 1; i <= srcs; i++) if ((regs.input[i >>> 5]! >>> (i & 31)) & 1) m.aia!.setLevel(i, true);
  for (let i = 1; i <= srcs; i++) aplic(APLIC_SOURCECFG_BASE + (i - 1) * 4, regs.sourcecfg[i - 1]!);
  for (let i = 1; i <= srcs; i++) aplic(APLIC_TARGET_BASE + (i - 1) * 4, regs.target[i - 1]!);
  for (let k = 0; k < regs.pending.length; k++) {
    aplic(APLIC_SETIP_BASE + k * 4, regs.pending[k]!);
    aplic(APLIC_SETIE_BASE + k * 4, regs.enabled[k]!);
  }
  aplic(APLIC_DOMAINCFG, regs.domaincfg);
}

/** The irqchip a stream's VM had, by its sections (QEMU: a device section the destination has no device for). */
export function streamIrqchip(sections: readonly Pick<Section, 'id'>[]): 'aia' | 'plic' | undefined {
  if (sections.some((s) => s.id === 'aia')) return 'aia';
  if (sections.some((s) => s.id === 'plic')) return 'plic';
  return undefined;
}

/** A stream from a VM with another --irqchip than `here`: refused in one line. */
export function checkIrqchip(sections: readonly Pick<Section, 'id'>[], here: 'aia' | 'plic'): void {
  const there = streamIrqchip(sections);
  if (there !== undefined && there !== here)
    throw new MigrationError(
      `the stream is from a VM with --irqchip ${there}, this VM has --irqchip ${here} (its '${there}' section has no device here)`,
    );
}
