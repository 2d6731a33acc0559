import { executeDataImm, executeDataReg } from './a64-data.ts';
import { executeLoadStore } from './a64-ldst.ts';
import { executeSimd } from './a64-simd.ts';
import { executeBranchSystem } from './a64-system.ts';
import type { Arm64Cpu } from './cpu.ts';
import { undefinedInstruction } from './exceptions.ts';

/**
 * Execute one A64 instruction: the top-level decode on op0 = bits 28:25
 * (Arm ARM C4.1 "A64 instruction set encoding").
 */
export function executeA64(cpu: Arm64Cpu, insn: number): void {
  const op0 = (insn >>> 25) & 0xf;
  switch (op0) {
    case 0x8:
    case 0x9:
      executeDataImm(cpu, insn);
      return;
    case 0xa:
    case 0xb:
      executeBranchSystem(cpu, insn);
      return;
    case 0x5:
    case 0xd:
      executeDataReg(cpu, insn);
      return;
    case 0x7:
    case 0xf:
      executeSimd(cpu, insn);
      return;
    case 0x4:
    case 0x6:
    case 0xc:
    case 0xe:
      executeLoadStore(cpu, insn);
      return;
    default:
      // 0000 (UDF and reserved), 0001/0011 (unallocated), 0010 (SVE).
      throw undefinedInstruction();
  }
}
