import { readFileSync } from 'node:fs';
import {
  Arm64Cpu,
  type Arm64CpuOptions,
  ESR_EC_DABT_LOW,
  ESR_EC_HVC64,
  ESR_EC_SMC64,
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
export const RAM_SIZE = 16 * 1024 * 1024;
export const LOAD_ADDR = 0x4008_0000;
export const UART_BASE = 0x0900_0000;
const S2_TABLES = 0x10_0000_0000;
const PSCI_SYSTEM_OFF = 0x8400_0008n;

export interface VmmResult {
  /** Everything the guest wrote to the PL011 data register. */
  console: string;
  /** Why the loop stopped. */
  stop: 'poweroff' | 'budget' | 'unhandled';
  /** The exit that was not handled, for 'unhandled'. */
  esr?: number;
  retired: number;
  cpu: Arm64Cpu;
}

/**
 * A KVM-like loop around one vCPU, enough for the bare-metal test programs:
 * RAM at 0x40000000 behind stage 2, a PL011 data register at 0x09000000
 * emulated from the stage-2 abort syndrome (as kvm_handle_mmio_return does),
 * PSCI SYSTEM_OFF over HVC, WFI skipped.
 */
export function runImage(
  image: Uint8Array,
  opts: { maxInsns?: number; cpu?: Arm64CpuOptions } = {},
): VmmResult {
  const mem = new TestPhysMemory([
    [RAM_BASE, RAM_SIZE],
    [S2_TABLES, 0x10_0000],
  ]);
  mem.write(LOAD_ADDR, image);
  const s2 = new Stage2Builder(mem, S2_TABLES);
  s2.identity(RAM_BASE, RAM_SIZE);
  const cpu = new Arm64Cpu(mem, opts.cpu);
  cpu.setSysReg(VTCR_EL2, VTCR_40BIT);
  cpu.setSysReg(VTTBR_EL2, s2.vttbr);
  cpu.setSysReg(HCR_EL2, HCR_VM | HCR_IMO | HCR_FMO | HCR_TSC);
  cpu.pc = BigInt(LOAD_ADDR);
  let out = '';
  let retired = 0;
  const max = opts.maxInsns ?? 50_000_000;
  while (retired < max) {
    const exit = cpu.run(Math.min(1_000_000, max - retired));
    retired += exit.retired;
    if (exit.kind === 'budget') continue;
    const ec = exit.esr >>> 26;
    if (ec === ESR_EC_DABT_LOW && (exit.esr & (1 << 24)) !== 0) {
      const ipa = Number(exit.hpfar >> 4n) * 4096 + Number(exit.far & 0xfffn);
      const rt = (exit.esr >>> 16) & 31;
      const write = (exit.esr & (1 << 6)) !== 0;
      if (ipa >= UART_BASE && ipa < UART_BASE + 0x1000) {
        if (write && ipa === UART_BASE) out += String.fromCharCode(Number(cpu.x[rt] & 0xffn));
        else if (!write && rt !== 31) cpu.x[rt] = 0n; // FR: transmit FIFO never full
        cpu.pc += 4n;
        continue;
      }
    }
    if (ec === ESR_EC_HVC64 && cpu.x[0] === PSCI_SYSTEM_OFF)
      return { console: out, stop: 'poweroff', retired, cpu };
    if (ec === ESR_EC_HVC64 || ec === ESR_EC_SMC64) {
      cpu.x[0] = 0xffff_ffff_ffff_ffffn; // PSCI NOT_SUPPORTED
      if (ec === ESR_EC_SMC64) cpu.pc += 4n;
      continue;
    }
    if (ec === ESR_EC_WFX) {
      cpu.pc += 4n;
      continue;
    }
    return { console: out, stop: 'unhandled', esr: exit.esr, retired, cpu };
  }
  return { console: out, stop: 'budget', retired, cpu };
}

export function guestBin(name: string): Uint8Array {
  return readFileSync(new URL(`../../guest/bin/${name}.bin`, import.meta.url));
}
