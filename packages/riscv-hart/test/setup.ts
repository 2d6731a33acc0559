import { Hart, type HartOptions } from '../src/index.ts';
import { FakeMem } from './fake-mem.ts';

/** RAM at 0x8000_0000 (pfn 0x80000), 4 MiB unless told; both stages bare; the hart in VS at RAM start. */
export const RAM = 0x8000_0000;

export function bareHart(pages = 1024, opts: Partial<HartOptions> = {}): { hart: Hart; mem: FakeMem } {
  const mem = new FakeMem(RAM / 4096, pages);
  const hart = new Hart({ mem, ...opts });
  hart.pc = BigInt(RAM);
  return { hart, mem };
}

/** Load code at RAM and run until the first exit (ecall by convention); returns the exit. */
export function runCode(insns: number[], budget = 100_000) {
  const { hart, mem } = bareHart();
  mem.code(RAM, [...insns, 0x00000073]);
  const exit = hart.run(budget);
  return { hart, mem, exit };
}
