import { Arm64Cpu, type Arm64CpuOptions, HCR_EL2, HCR_VM, VTCR_EL2, VTTBR_EL2 } from '../../src/index.ts';
import { TestPhysMemory } from './phys.ts';
import { Stage2Builder, VTCR_40BIT } from './stage2.ts';

export const CODE = 0x4000_0000;
export const DATA = 0x4010_0000;
export const S2_TABLES = 0x10_0000_0000;

export interface TestVm {
  cpu: Arm64Cpu;
  mem: TestPhysMemory;
  s2: Stage2Builder;
}

/**
 * One vCPU with 4 MiB of RAM at IPA 0x40000000 mapped by stage 2 (2 MiB
 * blocks) and `code` (instruction words) at its start, PC there, EL1h.
 */
export function testVm(
  code: number[],
  opts: { hcr?: bigint; cpu?: Arm64CpuOptions; stage2?: boolean } = {},
): TestVm {
  const mem = new TestPhysMemory([
    [CODE, 4 * 1024 * 1024],
    [S2_TABLES, 0x10_0000],
  ]);
  const words = new Uint8Array(code.length * 4);
  const dv = new DataView(words.buffer);
  for (const [i, w] of code.entries()) dv.setUint32(i * 4, w >>> 0, true);
  mem.write(CODE, words);
  const s2 = new Stage2Builder(mem, S2_TABLES);
  s2.identity(CODE, 4 * 1024 * 1024);
  const cpu = new Arm64Cpu(mem, opts.cpu);
  cpu.setSysReg(VTCR_EL2, VTCR_40BIT);
  cpu.setSysReg(VTTBR_EL2, s2.vttbr);
  cpu.setSysReg(HCR_EL2, opts.hcr ?? (opts.stage2 === false ? 0n : HCR_VM));
  cpu.pc = BigInt(CODE);
  return { cpu, mem, s2 };
}

/** ESR fields. */
export const ec = (esr: number | bigint): number => Number(BigInt(esr) >> 26n) & 0x3f;
export const iss = (esr: number | bigint): number => Number(BigInt(esr) & 0x1ff_ffffn);
