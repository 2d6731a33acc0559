import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CaseResult, formatTable } from '@tsvirt/bench-harness';
import { boot } from '../src/scripted-boot.ts';
import { FW_JUMP, haveQemu, runQemuScript } from './qemu.ts';

// An MMIO exit's round trip: guest/mmio-poll reads the UART's line status
// register 100,000 times between two console lines. On tsvirt each read is a
// G-stage fault that exits KVM_RUN to the VMM's UART model and back; QEMU
// TCG calls its UART model from the translated code, with no exit. The
// figure is the wall time between the two lines per read.

const POLL = fileURLToPath(new URL('../guest/mmio-poll/poll.bin', import.meta.url));
const SAMPLES = process.env.BENCH_QUICK === '1' ? 1 : 3;
const steps = [
  { expect: 'mmiopoll: start', send: '' },
  { expect: 'mmiopoll: done', send: '' },
];

interface Sample {
  ms: number;
  reads: number;
}

/** The reads the guest reports on its last line. */
function reads(output: string): number {
  const m = /mmiopoll: done n=(\d+)/.exec(output);
  if (!m) throw new Error('mmio-poll: no result line');
  return Number(m[1]);
}

async function ours(): Promise<Sample> {
  let t0 = 0;
  const r = await boot(['--kernel', POLL, '--cpus', '1'], steps, (i, t) => {
    if (i === 0) t0 = t;
  });
  // The guest powers off right after its last line: the run's end is when the reads ended.
  const t1 = performance.now();
  if (r.result.status !== 0) throw new Error(`mmio-poll: ${r.result.reason}`);
  return { ms: t1 - t0, reads: reads(r.output) };
}

async function qemu(): Promise<Sample> {
  const at = await runQemuScript(POLL, steps, 60_000, { bios: FW_JUMP, smp: 1 });
  return { ms: at[1]! - at[0]!, reads: 100_000 };
}

/** Best of SAMPLES runs (the machine is shared: the least disturbed run is the figure). */
async function best(run: () => Promise<Sample>): Promise<Sample> {
  let b: Sample | undefined;
  for (let i = 0; i < SAMPLES; i++) {
    const s = await run();
    if (b === undefined || s.ms < b.ms) b = s;
  }
  return b!;
}

function row(name: string, s: Sample, base?: Sample): CaseResult {
  const meanMs = s.ms / s.reads;
  return {
    name,
    hz: 1000 / meanMs,
    meanMs,
    rme: 0,
    samples: SAMPLES,
    rate: (s.reads * 1000) / s.ms,
    unit: 'read',
    vsBaseline: base === undefined ? undefined : meanMs / (base.ms / base.reads),
  };
}

export async function mmioExitSuite(print: (line: string) => void = console.log): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const q = haveQemu() && existsSync(FW_JUMP) ? await best(qemu) : undefined;
  if (q === undefined) print(`(QEMU MMIO case skipped: qemu-system-riscv64 or ${FW_JUMP} missing)`);
  else results.push(row('QEMU TCG: UART status reads (no exit)', q));
  const t = await best(ours);
  results.push(row('tsvirt: UART status reads, each an MMIO exit to the VMM', t, q));
  print(
    formatTable(
      `apps/vm: MMIO exits, guest/mmio-poll reading the UART's LSR ${t.reads} times (best of ${SAMPLES}; mean = wall time per read)`,
      results,
    ),
  );
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await mmioExitSuite();
