import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CaseResult, formatTable } from '@tsvirt/bench-harness';
import { boot } from '../src/scripted-boot.ts';
import { bestOf, perEventRow, SAMPLES, type WindowSample } from './guest-window.ts';

// The GPU's DMA completion interrupt, relayed or bypassed: the default guest
// built with IRQBENCH (guest/default/irqbench.bin) queues FENCE after FENCE,
// each waited for (wfi) until its completion interrupt arrives. With
// --irqchip plic each one is the GPU's INTx, relayed by the VMM (eventfd ->
// its PLIC -> KVM_INTERRUPT, and the guest's EOI back through the VMM to
// unmask); with --irqchip aia it is the GPU's MSI, posted by KVM straight
// into the vCPU's IMSIC file (the kvm-vfio bypass). Same guest, same
// workload, same run: interrupts per second (wall clock), the wall time per
// completion, and the guest-visible latency (rdtime, guest timebase ticks).

const IRQBENCH = fileURLToPath(new URL('../guest/default/irqbench.bin', import.meta.url));

interface Sample extends WindowSample {
  guestTicks: number;
  relayed: number;
  bypassed: number;
}

async function once(irqchip: 'plic' | 'aia'): Promise<Sample> {
  let t0 = 0;
  const r = await boot(
    ['--kernel', IRQBENCH, '--irqchip', irqchip, '--cpus', '1'],
    [
      { expect: 'irqbench: start', send: '' },
      { expect: 'irqbench: done', send: '' },
    ],
    (i, t) => {
      if (i === 0) t0 = t;
    },
  );
  // The guest powers off right after its last line: the run's end is when the workload ended.
  const t1 = performance.now();
  if (r.result.status !== 0) throw new Error(`irqbench --irqchip ${irqchip}: ${r.result.reason}`);
  const m = /irqbench: done n=(\d+) guest_ticks=(\d+)/.exec(r.output);
  if (!m) throw new Error(`irqbench --irqchip ${irqchip}: no result line`);
  return {
    ms: t1 - t0,
    n: Number(m[1]),
    guestTicks: Number(m[2]),
    relayed: r.result.stats.irqRelayed ?? 0,
    bypassed: r.result.stats.irqBypassed ?? 0,
  };
}

export async function irqchipSuite(print: (line: string) => void = console.log): Promise<CaseResult[]> {
  const plic = await bestOf(() => once('plic'));
  const aia = await bestOf(() => once('aia'));
  const results = [
    perEventRow('--irqchip plic: GPU INTx relayed by the VMM', 'irq', plic),
    perEventRow('--irqchip aia: GPU MSI posted into the IMSIC (bypass)', 'irq', aia, plic),
  ];
  print(
    formatTable(
      `apps/vm: DMA completion interrupts, ${plic.n} fences each awaited (best of ${SAMPLES}; mean = wall time per completion)`,
      results,
    ),
  );
  const tick = (s: Sample) => (s.guestTicks / s.n).toFixed(1);
  print(
    `guest-visible completion latency (rdtime ticks per fence, 10 MHz timebase): plic ${tick(plic)}, aia ${tick(aia)}`,
  );
  print(
    `device interrupts: plic ${plic.relayed} relayed / ${plic.bypassed} bypassed; aia ${aia.relayed} relayed / ${aia.bypassed} bypassed`,
  );
  print(`bypass vs relay: ${(results[1]!.rate! / results[0]!.rate!).toFixed(2)}x the interrupt rate`);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await irqchipSuite();
