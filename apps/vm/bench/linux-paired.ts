import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { markdownTable } from '@tsvirt/bench-harness';
import { type LinuxGuest, linuxGuest } from '../test/linux-guest.ts';
import { LINUX_CPUS, ourLinux, qemuLinux } from './linux.ts';
import { FW_JUMP, haveQemu } from './qemu.ts';

// The Linux rows of bench/index.ts timed as alternating pairs: a QEMU boot
// and one of ours, PAIRS times over, each side first in every other pair.
// The machine is shared and its speed drifts by tens of percent within a
// minute (a bare loop read 1.1 to 3 ns per pass in one hour); rows timed a
// minute apart take that drift into their ratio, while each pair here is
// timed within about a second. The figure is the median of the pairs'
// ratios, with their range.

const PAIRS = process.env.BENCH_QUICK === '1' ? 1 : 7;

interface Paired {
  name: string;
  ours: number[];
  qemu: number[];
}

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One case: PAIRS alternating boots; `pick` chooses init (0) or power-off (1). */
async function paired(g: LinuxGuest, cpus: number, pick: 0 | 1, name: string): Promise<Paired> {
  const p: Paired = { name, ours: [], qemu: [] };
  // A pair first, not counted, as the harness warms each case up.
  await qemuLinux(g, cpus);
  await ourLinux(g, cpus);
  for (let k = 0; k < PAIRS; k++) {
    // Each side goes first in every other pair, so a steady drift does not favour either.
    if (k % 2 === 0) {
      p.qemu.push((await qemuLinux(g, cpus))[pick]);
      p.ours.push((await ourLinux(g, cpus))[pick]);
    } else {
      p.ours.push((await ourLinux(g, cpus))[pick]);
      p.qemu.push((await qemuLinux(g, cpus))[pick]);
    }
  }
  return p;
}

/** The rows: each case's medians and the median (and range) of its pairs' ratios. */
function pairedRows(rows: readonly Paired[]): string[][] {
  return rows.map((r) => {
    const ratios = r.ours.map((o, k) => o / r.qemu[k]!);
    return [
      r.name,
      `${median(r.ours).toFixed(0)} ms`,
      `${median(r.qemu).toFixed(0)} ms`,
      String(ratios.length),
      `${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
    ];
  });
}

export async function linuxPairedSuite(
  g: LinuxGuest,
  print: (line: string) => void = console.log,
): Promise<void> {
  if (!haveQemu() || !existsSync(FW_JUMP)) {
    print(`(paired Linux cases skipped: qemu-system-riscv64 or ${FW_JUMP} missing)`);
    return;
  }
  const rows = [
    await paired(g, LINUX_CPUS, 0, `Linux to init, ${LINUX_CPUS} harts`),
    await paired(g, 4, 1, 'Linux to power-off, 4 harts'),
  ];
  print(
    markdownTable(
      `apps/vm: the Linux rows as ${PAIRS} alternating pairs (QEMU TCG and tsvirt in this process, each first in turn; ratio of wall times)`,
      ['case', 'tsvirt median', 'QEMU TCG median', 'pairs', 'ratio: median (range)'],
      pairedRows(rows),
    ),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const g = linuxGuest();
  if (g !== undefined) await linuxPairedSuite(g);
}
