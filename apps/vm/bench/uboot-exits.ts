import { readFileSync } from 'node:fs';
import { riscvVm } from '@tsvirt/kvm-riscv';
import { parseArgs } from '../src/cli.ts';
import { Machine } from '../src/machine.ts';
import { VmRunner } from '../src/vm-runner.ts';

// What surrounds the CPU on the bench's "U-Boot to autoboot prompt" row, per run:
// set-up time, time to the prompt, guest instructions, exits by kind, MMIO
// accesses by device and the time the device models took, and G-stage faults.
// Runs in one process, so runs after the first are warm (the bench warms up too).
//   tsx --conditions=@tsvirt/source bench/uboot-exits.ts   (RUNS=N, default 5)
const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const PROMPT = 'Hit any key to stop autoboot';

/** The board device at a guest physical address (src/board/layout.ts). */
function device(gpa: number): string {
  if (gpa >= 0x4000_0000) return 'pci-bar';
  if (gpa >= 0x3000_0000) return 'ecam';
  if (gpa >= 0x2000_0000) return 'flash';
  if (gpa >= 0x1000_0000) return 'uart';
  if (gpa >= 0x0c00_0000) return 'plic';
  return 'other';
}

async function once(): Promise<string> {
  const t0 = performance.now();
  let output = '';
  let promptAt = 0;
  let runner: VmRunner | undefined;
  const m = await Machine.create(
    parseArgs(['--kernel', UBOOT, '--cpus', '2']),
    UBOOT,
    readFileSync(UBOOT),
    (b) => {
      output += String.fromCharCode(b);
      if (promptAt === 0 && output.endsWith(PROMPT)) {
        promptAt = performance.now();
        runner?.requestQuit();
      }
    },
  );
  const created = performance.now();
  const accesses = new Map<string, number>();
  let deviceMs = 0;
  for (const op of ['read', 'write'] as const) {
    const dispatch = m.mmio[op].bind(m.mmio);
    m.mmio[op] = (gpa: number, data: Uint8Array) => {
      const t = performance.now();
      const key = `${device(gpa)} ${op}`;
      accesses.set(key, (accesses.get(key) ?? 0) + 1);
      const claimed = dispatch(gpa, data);
      deviceMs += performance.now() - t;
      return claimed;
    };
  }
  runner = new VmRunner(m);
  const r = await runner.run();
  const f = riscvVm(m.vm).mmu.stats;
  const list = (e: Iterable<[string, number]>) => [...e].map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    `set-up ${(created - t0).toFixed(1)} ms, prompt at ${(promptAt - t0).toFixed(1)} ms, ${r.stats.instructions} instructions`,
    `  exits: ${list(r.stats.exits)}; MMIO: ${list([...accesses].sort())}; device models ${deviceMs.toFixed(2)} ms`,
    `  G-stage faults: ${f.mapped4k} mapped 4 KiB, ${f.mapped2m} mapped 2 MiB, ${f.mmio} MMIO`,
  ].join('\n');
}

const runs = Number(process.env.RUNS ?? 5);
for (let i = 0; i < runs; i++) console.log(await once());
