// Records each guest program's QEMU output into test/support/expected/, so
// the expected text is real QEMU output. Run: tsx scripts/record-qemu-expected.ts
import { writeFileSync } from 'node:fs';
import { requireDebianTool } from '@tsvirt/test-utils';
import { expectedPath, GUEST_HARTS, GUEST_PROGRAMS, guestBinPath } from '../test/support/guests.ts';
import { runUnderQemu } from '../test/support/qemu.ts';

const qemu = requireDebianTool('qemu-system-riscv64', 'qemu-system-misc');
if (!qemu) process.exit(1);
for (const name of GUEST_PROGRAMS) {
  const r = await runUnderQemu(guestBinPath(name), { qemu, harts: GUEST_HARTS[name] });
  if (r.output === undefined || r.timedOut || r.exitCode !== 0) {
    console.error(`${name}: no clean run (exit ${r.exitCode}, timedOut ${r.timedOut})\n${r.raw}`);
    process.exit(1);
  }
  writeFileSync(expectedPath(name), r.output);
  console.log(`${name}: ${r.output.split('\n').length - 1} lines`);
}
