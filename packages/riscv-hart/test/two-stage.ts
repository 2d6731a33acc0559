import { Hart, type HartOptions } from '../src/index.ts';
import type { WasmArena } from '../src/wasm-arena.ts';
import { FakeMem } from './fake-mem.ts';
import { PageTableBuilder, PTE_A, PTE_D, PTE_U, RWX } from './pt.ts';

/**
 * A guest with both stages on: host RAM at HPA 0x8000_0000 (8 MiB); the guest
 * sees GPA 0x4000_0000 + n mapped to HPA 0x8000_0000 + n for the first 4 MiB
 * (G-stage Sv39x4, VMID 1, tables in the upper host half), and runs at VA
 * 0xffff_ffc0_0000_0000 + n -> GPA 0x4000_0000 + n (VS-stage Sv39 or Sv48,
 * tables in guest RAM at GPA 0x4030_0000..).
 */
export const HPA = 0x8000_0000;
export const GPA = 0x4000_0000;
export const VA = -(2 ** 38); // 0xffff_ffc0_0000_0000
export const GUEST_BYTES = 4 << 20;

export function twoStageHart(
  opts: {
    vs?: 8 | 9;
    vsFlags?: number;
    gFlags?: number;
    hart?: Partial<HartOptions>;
    /** The arena for the memory (default: testArena()'s, by TSVIRT_HART_TIER). */
    arena?: WasmArena;
  } = {},
) {
  const mem = 'arena' in opts ? new FakeMem(HPA / 4096, 2048, opts.arena) : new FakeMem(HPA / 4096, 2048);
  const g = new PageTableBuilder(mem, HPA + GUEST_BYTES);
  const gRoot = g.alloc(4); // 16 KiB x4 root
  for (let off = 0; off < GUEST_BYTES; off += 4096)
    g.map(gRoot, GPA + off, HPA + off, opts.gFlags ?? RWX | PTE_U | PTE_A | PTE_D, 3, true);
  const vsLevels = opts.vs === 9 ? 4 : 3;
  const vs = new PageTableBuilder(mem, GPA + 0x30_0000, (a) => a - GPA + HPA);
  const vsRoot = vs.alloc();
  for (let off = 0; off < 0x30_0000; off += 4096)
    vs.map(vsRoot, VA + off, GPA + off, opts.vsFlags ?? RWX | PTE_A | PTE_D, vsLevels);
  const hart = new Hart({ mem, ...(mem.arena ? { arena: mem.arena } : {}), ...opts.hart });
  mem.onCode = () => hart.flushCodeCache();
  hart.setCsr(0x680, (8n << 60n) | (1n << 44n) | BigInt(gRoot / 4096));
  hart.setCsr(0x280, (BigInt(opts.vs ?? 8) << 60n) | BigInt(vsRoot / 4096));
  hart.pc = BigInt.asUintN(64, BigInt(VA));
  /** Host address of a guest VA in the mapped window. */
  const host = (va: number) => va - VA + HPA;
  return { hart, mem, g, gRoot, vs, vsRoot, host };
}
