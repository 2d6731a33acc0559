// Runs guest programs on our hart (the mini VMM of the differential test)
// and prints each line that differs from QEMU's recorded output, for
// debugging a qemu-diff failure:
//   tsx scripts/diff-guest.ts [--svade] [--sv48x4] [program...]
import { readFileSync } from 'node:fs';
import {
  expectedOutput,
  GUEST_HARTS,
  GUEST_PROGRAMS,
  type GuestProgram,
  guestBinPath,
} from '../test/support/guests.ts';
import { runOnHart } from '../test/support/mini-vmm.ts';

const args = process.argv.slice(2);
const hardwareAd = !args.includes('--svade');
const gstage = args.includes('--sv48x4') ? 'sv48x4' : 'sv39x4';
const named = args.filter((a) => !a.startsWith('--'));
for (const n of named) {
  if (!(GUEST_PROGRAMS as readonly string[]).includes(n)) {
    console.error(`unknown program ${n}; known: ${GUEST_PROGRAMS.join(' ')}`);
    process.exit(2);
  }
}
const progs = (named.length ? named : GUEST_PROGRAMS) as readonly GuestProgram[];
let failed = false;
for (const name of progs) {
  const t0 = performance.now();
  const r = runOnHart(readFileSync(guestBinPath(name)), { hardwareAd, gstage, harts: GUEST_HARTS[name] });
  const ms = (performance.now() - t0).toFixed(0);
  const want = expectedOutput(name).split('\n');
  const got = (r.output ?? '').split('\n');
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] !== got[i])
      diffs.push(`  line ${i + 1}\n    qemu: ${want[i] ?? '<none>'}\n    ours: ${got[i] ?? '<none>'}`);
  }
  const status = r.error
    ? `stopped: ${r.error}`
    : diffs.length
      ? `${diffs.length} lines differ`
      : 'same as QEMU';
  console.log(`${name}: ${status} (${r.retired} instructions, ${ms} ms, exits ${JSON.stringify(r.exits)})`);
  for (const d of diffs.slice(0, 20)) console.log(d);
  if (r.error || diffs.length) failed = true;
}
process.exit(failed ? 1 : 0);
