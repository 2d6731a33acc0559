import { Hart, type HartOptions } from '../src/index.ts';
import type { WasmArena } from '../src/wasm-arena.ts';
import { FakeMem } from './fake-mem.ts';
import { testArena } from './support/tier.ts';

/** RAM at 0x8000_0000 (pfn 0x80000), 4 MiB unless told; both stages bare; the hart in VS at RAM start. */
export const RAM = 0x8000_0000;

export function bareHart(
  pages = 1024,
  opts: Partial<HartOptions> = {},
  arena: WasmArena | undefined = testArena(pages * 4096),
): { hart: Hart; mem: FakeMem } {
  const mem = new FakeMem(RAM / 4096, pages, arena);
  const hart = new Hart({ mem, ...(mem.arena ? { arena: mem.arena } : {}), ...opts });
  mem.onCode = () => hart.flushCodeCache();
  hart.pc = BigInt(RAM);
  return { hart, mem };
}

/** Load code at RAM (plus a final ecall), set registers, run until the first exit. */
export function runCode(insns: number[], regs: Record<number, bigint> = {}, budget = 100_000) {
  const { hart, mem } = bareHart();
  mem.code(RAM, [...insns, 0x00000073]);
  for (const [r, v] of Object.entries(regs)) hart.setX(Number(r), v);
  const exit = hart.run(budget);
  return { hart, mem, exit };
}

export const s64 = (v: bigint) => BigInt.asIntN(64, v);
export const u64 = (v: bigint) => BigInt.asUintN(64, v);
