import { readFileSync } from 'node:fs';
import { VM_HUGEPAGE } from '@tsvirt/host-mm';
import { riscvVm } from '@tsvirt/kvm-riscv';
import { expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { EXIT_SHUTDOWN } from '../src/config-error.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { VmRunner } from '../src/vm-runner.ts';

it('guest RAM is advised MADV_HUGEPAGE, so the guest touching it maps whole 2 MiB G-stage blocks', async () => {
  const m = await Machine.create(parseArgs([]), DEFAULT_GUEST, readFileSync(DEFAULT_GUEST), () => {});
  expect((m.mm.findVma(m.ramHva)!.flags & VM_HUGEPAGE) !== 0).toBe(true);
  const runner = new VmRunner(m);
  runner.markInputEnded();
  const r = await runner.run();
  expect(r.status, r.reason).toBe(EXIT_SHUTDOWN);
  const stats = riscvVm(m.vm).mmu.stats;
  // Each first touch of a RAM block (the kernel image, its stack, the DTB) fills and maps it whole;
  // the 4 KiB mappings left are the GPU's BAR (a VM_PFNMAP device mmap, never huge).
  expect(stats.mapped2m).toBeGreaterThan(0);
  expect(r.stats.guestTouchedBytes).toBe(stats.mapped2m * (2 << 20));
});
