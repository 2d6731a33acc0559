import { readFileSync } from 'node:fs';
import {
  Arm64Cpu,
  type Arm64CpuOptions,
  type Arm64Exit,
  ESR_EC_DABT_LOW,
  ESR_EC_HVC64,
  ESR_EC_SMC64,
  ESR_EC_SYS64,
  ESR_EC_WFX,
  HCR_EL2,
  HCR_FMO,
  HCR_IMO,
  HCR_TSC,
  HCR_VM,
  VTCR_EL2,
  VTTBR_EL2,
} from '../../src/index.ts';
import { TestPhysMemory } from './phys.ts';
import { Stage2Builder, VTCR_40BIT } from './stage2.ts';

export const RAM_BASE = 0x4000_0000;
export const LOAD_ADDR = 0x4008_0000;
export const UART_BASE = 0x0900_0000;
const S2_TABLES = 0x10_0000_0000;
const PSCI_SYSTEM_OFF = 0x8400_0008n;
const PSCI_SYSTEM_RESET = 0x8400_0009n;

export interface VmmResult {
  /** Everything the guest wrote to the PL011 data register. */
  console: string;
  /** Why the loop stopped. */
  stop: 'poweroff' | 'reset' | 'budget' | 'unhandled' | 'stopWhen';
  /** The exit that was not handled, for 'unhandled'. */
  exit?: Arm64Exit;
  retired: number;
  cpu: Arm64Cpu;
  /** MMIO accesses the VMM ignored (no device there), by IPA page. */
  ignoredMmio: Set<number>;
}

export interface VmOptions {
  images: { addr: number; bytes: Uint8Array; readOnly?: boolean }[];
  entry: number;
  /** x0 at entry (the DTB address for U-Boot/Linux). */
  x0?: bigint;
  ramSize?: number;
  /** A read-only region of stage 2 (flash), mapped from IPA 0. */
  flashSize?: number;
  maxInsns?: number;
  cpu?: Arm64CpuOptions;
  /** Bytes the PL011 receive FIFO holds (typed at the console). */
  input?: string;
  /** Stop once the console satisfies this. */
  stopWhen?: (console: string) => boolean;
}

/**
 * A KVM-like loop around one vCPU, enough for the bare-metal test programs
 * and U-Boot: RAM at 0x40000000 and optional flash at 0 behind stage 2, a
 * PL011 at 0x09000000 emulated from the stage-2 abort syndrome (as
 * kvm_handle_mmio_return does), other MMIO reading as zero, PSCI
 * SYSTEM_OFF/RESET over HVC, WFI skipped.
 */
export function runVm(o: VmOptions): VmmResult {
  const ramSize = o.ramSize ?? 16 * 1024 * 1024;
  const flashSize = o.flashSize ?? 0;
  const mem = new TestPhysMemory([
    [RAM_BASE, ramSize],
    [S2_TABLES, 0x10_0000],
    ...(flashSize ? [[0, flashSize] as [number, number]] : []),
  ]);
  for (const img of o.images) mem.write(img.addr, img.bytes);
  const s2 = new Stage2Builder(mem, S2_TABLES);
  s2.identity(RAM_BASE, ramSize);
  for (let a = 0; a < flashSize; a += 2 ** 21) s2.mapBlock(a, a, false);
  const cpu = new Arm64Cpu(mem, o.cpu);
  cpu.setSysReg(VTCR_EL2, VTCR_40BIT);
  cpu.setSysReg(VTTBR_EL2, s2.vttbr);
  cpu.setSysReg(HCR_EL2, HCR_VM | HCR_IMO | HCR_FMO | HCR_TSC);
  cpu.pc = BigInt(o.entry);
  cpu.x[0] = o.x0 ?? 0n;
  let out = '';
  let input = o.input ?? '';
  let retired = 0;
  const ignoredMmio = new Set<number>();
  const max = o.maxInsns ?? 50_000_000;
  const done = (stop: VmmResult['stop'], exit?: Arm64Exit): VmmResult => ({
    console: out,
    stop,
    exit,
    retired,
    cpu,
    ignoredMmio,
  });
  while (retired < max) {
    const exit = cpu.run(Math.min(200_000, max - retired));
    retired += exit.retired;
    if (o.stopWhen?.(out)) return done('stopWhen');
    if (exit.kind === 'budget') continue;
    const ec = exit.esr >>> 26;
    if (ec === ESR_EC_DABT_LOW && (exit.esr & (1 << 24)) !== 0) {
      const ipa = Number(exit.hpfar >> 4n) * 4096 + Number(exit.far & 0xfffn);
      const rt = (exit.esr >>> 16) & 31;
      const write = (exit.esr & (1 << 6)) !== 0;
      let value = 0n;
      if (ipa >= UART_BASE && ipa < UART_BASE + 0x1000) {
        const off = ipa - UART_BASE;
        if (write && off === 0) out += String.fromCharCode(Number(cpu.x[rt] & 0xffn));
        if (!write && off === 0 && input.length > 0) {
          value = BigInt(input.charCodeAt(0));
          input = input.slice(1);
        }
        // FR: TXFE, and RXFE while nothing is typed.
        if (!write && off === 0x18) value = input.length > 0 ? 0x80n : 0x90n;
      } else ignoredMmio.add(Math.floor(ipa / 4096));
      if (!write && rt !== 31) cpu.x[rt] = value;
      cpu.pc += 4n;
      continue;
    }
    if (ec === ESR_EC_HVC64 && cpu.x[0] === PSCI_SYSTEM_OFF) return done('poweroff', exit);
    if (ec === ESR_EC_HVC64 && cpu.x[0] === PSCI_SYSTEM_RESET) return done('reset', exit);
    if (ec === ESR_EC_HVC64 || ec === ESR_EC_SMC64) {
      cpu.x[0] = 0xffff_ffff_ffff_ffffn; // PSCI NOT_SUPPORTED
      if (ec === ESR_EC_SMC64) cpu.pc += 4n;
      continue;
    }
    if (ec === ESR_EC_WFX || ec === ESR_EC_SYS64) {
      cpu.pc += 4n;
      continue;
    }
    return done('unhandled', exit);
  }
  return done('budget');
}

/** A bare-metal test program: loaded at 0x40080000, entered at EL1. */
export function runImage(
  image: Uint8Array,
  opts: { maxInsns?: number; cpu?: Arm64CpuOptions } = {},
): VmmResult {
  return runVm({ images: [{ addr: LOAD_ADDR, bytes: image }], entry: LOAD_ADDR, ...opts });
}

export function guestBin(name: string): Uint8Array {
  return readFileSync(new URL(`../../guest/bin/${name}.bin`, import.meta.url));
}
