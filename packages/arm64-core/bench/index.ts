import { readFileSync } from 'node:fs';
import { runSuite } from '@tsvirt/bench-harness';
import type { Arm64Cpu } from '../src/index.ts';
import { runImage } from '../test/support/mini-vmm.ts';
import { CODE, DATA, testVm } from '../test/support/test-vm.ts';

const PER_ITER = 500_000;

// subs/add/eor/b.ne on X registers, then the same on W registers.
const hotLoopX = [0xf1000421, 0x8b010042, 0xca020063, 0x54ffffa1];
const hotLoopW = [0x71000421, 0x0b010042, 0x4a020063, 0x54ffffa1];
// add/and/ldr/add/str/b over a 64 KiB array (16 pages).
const memLoop = [0x91002108, 0x927d3108, 0xf8686925, 0x910004a5, 0xf8286925, 0x17fffffb];

function loop(code: number[]): Arm64Cpu {
  const { cpu } = testVm(code);
  cpu.x[1] = 1n << 40n;
  cpu.x[9] = BigInt(DATA);
  cpu.pc = BigInt(CODE);
  return cpu;
}

function runCase(name: string, make: () => Arm64Cpu) {
  let cpu: Arm64Cpu;
  return {
    name,
    setup: () => {
      cpu = make();
    },
    fn: () => {
      const e = cpu.run(PER_ITER);
      if (e.kind !== 'budget') throw new Error(`${name}: unexpected exit ${e.kind}`);
    },
    work: { count: PER_ITER, unit: 'instr' },
  };
}

await runSuite('arm64-core: MIPS (EL1, stage 2 on, stage 1 off), interpreter', [
  runCase('subs/add/eor/b.ne, X registers', () => loop(hotLoopX)),
  runCase('subs/add/eor/b.ne, W registers', () => loop(hotLoopW)),
  runCase('add/and/ldr/add/str/b over 64 KiB', () => loop(memLoop)),
]);

const int = readFileSync(new URL('../guest/bin/int.bin', import.meta.url));
await runSuite('arm64-core: the int guest program to SYSTEM_OFF', [
  {
    name: 'guest/bin/int.bin (1.25M instructions)',
    fn: () => {
      const r = runImage(int);
      if (r.stop !== 'poweroff') throw new Error(`int: ${r.stop}`);
    },
    work: { count: 1, unit: 'run' },
  },
]);
