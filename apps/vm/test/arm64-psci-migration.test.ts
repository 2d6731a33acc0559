import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKernelError } from '@tsvirt/core-bus';
import { armVcpu } from '@tsvirt/kvm-arm';
import {
  judgeMigration,
  KVM_ARM_VCPU_FORCE_PSCI_0_2,
  MIGRATION_ROWS,
  MIGRATION_TABLES,
  type MigrationEnd,
  type MigrationEndKind,
  migrateRow,
  migrationEnd,
  type SelectionApproach,
} from '@tsvirt/kvm-arm-psci';
import { describe, expect, it } from 'vitest';
import { Arm64Machine } from '../src/arm64/machine.ts';
import { Arm64Runner } from '../src/arm64/runner.ts';
import { loadArm64Vm, saveArm64Vm } from '../src/arm64/vcpu-state.ts';

const guest = readFileSync(join(import.meta.dirname, '..', 'guest', 'arm64-psci', 'psci.bin'));

/** The arm64 board at one end of a row: its host kernel, and the compat machine type's PSCI pin. */
function boardAt(end: MigrationEnd, console: (b: number) => void): Arm64Machine {
  const sel = end.host.versionSelection;
  return Arm64Machine.create(
    {
      mem: 16 << 20,
      cpus: 2,
      bios: guest,
      mdev: [],
      quantum: 20_000,
      host: end.host,
      ...(end.compat && sel === 'one-reg' ? { psciVersion: 0x2n } : {}),
      ...(end.compat && sel === 'vcpu-feature' ? { extraFeatures: 1 << KVM_ARM_VCPU_FORCE_PSCI_0_2 } : {}),
    },
    console,
  );
}

const versions = (out: string) =>
  [...out.matchAll(/PSCI_VERSION: 0x([0-9a-f]{16})\n/g)].map((m) => Number.parseInt(m[1]!, 16));

/**
 * One row with the real guest: it boots on the source and reads its PSCI
 * version; the VMM pauses it (while it waits on the UART), saves RAM and
 * every vCPU's registers, and loads them into the destination board; the
 * guest, woken by a byte on the UART, reads the version again on the
 * destination, or on the source when the destination refused the state.
 */
async function migrateGuest(approach: SelectionApproach, row: (typeof MIGRATION_ROWS)[number]) {
  const [from, to] = row.split('->') as [MigrationEndKind, MigrationEndKind];
  let out = '';
  const console = (b: number) => {
    out += String.fromCharCode(b);
  };
  const source = boardAt(migrationEnd(approach, from), console);
  const srcRunner = new Arm64Runner(source);
  srcRunner.feed([0x6d]); // a byte waiting at start: the guest will wait for a second one
  expect((await srcRunner.run(() => out.includes('waiting\n'))).status).toBe(-1);
  const state = saveArm64Vm(source);
  const dest = boardAt(migrationEnd(approach, to), console);
  const destinationVersion = armVcpu(dest.vcpus[0]!).psci.psciVersion();
  let restored = true;
  let error: string | undefined;
  try {
    loadArm64Vm(dest, state);
  } catch (e) {
    if (!isKernelError(e)) throw e;
    restored = false;
    error = e.code;
  }
  const runner = restored ? new Arm64Runner(dest) : srcRunner;
  runner.feed([0x67]);
  runner.markInputEnded();
  const end = await runner.run();
  const [versionBefore, versionAfter] = versions(out) as [number, number];
  return { out, end, restored, error, versionBefore, versionAfter, destinationVersion };
}

describe("the review's migration rows with the arm64 PSCI guest", () => {
  for (const approach of ['one-reg', 'vcpu-feature'] as const) {
    for (const row of MIGRATION_ROWS) {
      it(`${approach} ${row}: ${MIGRATION_TABLES[approach][row].works}, as the review's table and kvm-arm-psci's model`, async () => {
        const r = await migrateGuest(approach, row);
        const model = migrateRow(approach, row);
        // The real guest sees what the abstract model's guest sees, before and after.
        expect({ before: r.versionBefore, after: r.versionAfter, restored: r.restored }).toEqual({
          before: model.versionBefore,
          after: model.versionAfter,
          restored: model.restored,
        });
        if (!r.restored) expect(r.error).toBe(model.error);
        expect(judgeMigration(r)).toBe(MIGRATION_TABLES[approach][row].works);
        // Wherever it ended up, the guest carried on: CPU_ON, cpu1, SYSTEM_OFF.
        expect(r.out).toContain('cpu1 up, x0=0x0000000000c0ffee\n');
        expect(r.end.status).toBe(0);
      }, 120_000);
    }
  }
});
