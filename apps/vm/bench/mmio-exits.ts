import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type CaseResult, formatTable } from '@tsvirt/bench-harness';
import { boot } from '../src/scripted-boot.ts';
import { bestOf, perEventRow, SAMPLES, type WindowSample } from './guest-window.ts';
import { FW_JUMP, haveQemu, runQemuScript } from './qemu.ts';

// An MMIO exit's round trip: guest/mmio-poll reads the UART's line status
// register 100,000 times between two console lines. On tsvirt each read is a
// G-stage fault that exits KVM_RUN to the VMM's UART model and back; QEMU
// TCG calls its UART model from the translated code, with no exit. The
// figure is the wall time between the two lines per read.

const POLL = fileURLToPath(new URL('../guest/mmio-poll/poll.bin', import.meta.url));
const steps = [
  { expect: 'mmiopoll: start', send: '' },
  { expect: 'mmiopoll: done', send: '' },
];

/** The reads the guest reports on its last line. */
function reads(output: string): number {
  const m = /mmiopoll: done n=(\d+)/.exec(output);
  if (!m) throw new Error('mmio-poll: no result line');
  return Number(m[1]);
}

async function ours(): Promise<WindowSample> {
  let t0 = 0;
  const r = await boot(['--kernel', POLL, '--cpus', '1'], steps, (i, t) => {
    if (i === 0) t0 = t;
  });
  // The guest powers off right after its last line: the run's end is when the reads ended.
  const t1 = performance.now();
  if (r.result.status !== 0) throw new Error(`mmio-poll: ${r.result.reason}`);
  return { ms: t1 - t0, n: reads(r.output) };
}

async function qemu(): Promise<WindowSample> {
  const at = await runQemuScript(POLL, steps, 60_000, { bios: FW_JUMP, smp: 1 });
  return { ms: at[1]! - at[0]!, n: 100_000 };
}

export async function mmioExitSuite(print: (line: string) => void = console.log): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const q = haveQemu() && existsSync(FW_JUMP) ? await bestOf(qemu) : undefined;
  if (q === undefined) print(`(QEMU MMIO case skipped: qemu-system-riscv64 or ${FW_JUMP} missing)`);
  else results.push(perEventRow('QEMU TCG: UART status reads (no exit)', 'read', q));
  const t = await bestOf(ours);
  results.push(perEventRow('tsvirt: UART status reads, each an MMIO exit to the VMM', 'read', t, q));
  print(
    formatTable(
      `apps/vm: MMIO exits, guest/mmio-poll reading the UART's LSR ${t.n} times (best of ${SAMPLES}; mean = wall time per read)`,
      results,
    ),
  );
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await mmioExitSuite();
