import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  judgeMigration,
  KVM_ARM_PSCI_0_1,
  KVM_ARM_PSCI_0_2,
  KVM_ARM_PSCI_1_0,
  KVM_REG_ARM_PSCI_VERSION,
  MIGRATION_ROWS,
  MIGRATION_TABLES,
  type MigrationRow,
  type MigrationWorks,
  migrateRow,
  migrationEnd,
  NEW_FEATURE_HOST,
  NEW_ONE_REG_HOST,
  OLD_HOST,
  PsciVmm,
  type SelectionApproach,
  UPSTREAM_HOST,
} from '../src/index.ts';

const V02 = KVM_ARM_PSCI_0_2;
const V10 = KVM_ARM_PSCI_1_0;

// The review's two tables, copied row for row: migration, userspace change,
// works; then what the guest reads before and after in this model, and the
// errno of a refused restore.
type Row = [MigrationRow, 'YES' | 'NO', MigrationWorks, number, number, string?];
const REVIEW: Record<SelectionApproach, Row[]> = {
  'one-reg': [
    ['new->new', 'NO', 'YES', V10, V10],
    ['old->new', 'NO', 'YES', V02, V10],
    ['new->old', 'NO', 'NO', V10, V10, 'ENOENT'],
    ['compat->old', 'YES', 'NO*', V02, V02, 'ENOENT'],
    ['old->compat', 'YES', 'YES', V02, V02],
  ],
  'vcpu-feature': [
    ['new->new', 'NO', 'YES', V10, V10],
    ['old->new', 'NO', 'YES', V02, V10],
    ['new->old', 'NO', 'YES*', V10, V02],
    ['compat->old', 'YES', 'YES', V02, V02],
    ['old->compat', 'YES', 'YES', V02, V02],
  ],
};

for (const approach of ['one-reg', 'vcpu-feature'] as SelectionApproach[]) {
  describe(`the review's ${approach} table`, () => {
    it('MIGRATION_TABLES has its rows, in its order, with its judgements', () => {
      expect(MIGRATION_ROWS).toEqual(REVIEW[approach].map((r) => r[0]));
      for (const [row, change, works] of REVIEW[approach])
        expect(MIGRATION_TABLES[approach][row]).toEqual({ userspaceChange: change === 'YES', works });
    });

    for (const [row, change, works, before, after, errno] of REVIEW[approach]) {
      it(`${row}: userspace change ${change}, works ${works}; the guest reads 0x${before.toString(16)} then 0x${after.toString(16)}`, () => {
        const o = migrateRow(approach, row);
        expect(o).toMatchObject({
          userspaceChange: change === 'YES',
          works,
          restored: works.startsWith('YES'),
          versionBefore: before,
          versionAfter: after,
        });
        expect(o.error).toBe(errno);
      });
    }
  });
}

describe("the README's tables", () => {
  // Rows as "| new->new | NO | `YES` | 1.0 -> 1.0 | ... |": the register table first.
  const rows = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
    .split('\n')
    .filter((l) => /^\| (new|old|compat)->/.test(l))
    .map((l) => l.split('|').map((c) => c.trim().replaceAll('`', '')));
  const version = (v: number) => `${v >> 16}.${v & 0xffff}`;

  it("has both tables, row for row, with the review's judgements and what migrateRow sees", () => {
    expect(rows).toHaveLength(10);
    for (const [t, approach] of (['one-reg', 'vcpu-feature'] as const).entries()) {
      for (const [i, [row, change, works]] of REVIEW[approach].entries()) {
        const cells = rows[t * 5 + i]!;
        const o = migrateRow(approach, row);
        expect(cells.slice(1, 5)).toEqual([
          row,
          change,
          works,
          `${version(o.versionBefore)} -> ${version(o.versionAfter)}`,
        ]);
      }
    }
  });
});

describe('how the review judges an outcome', () => {
  const j = (restored: boolean, versionBefore: number, destinationVersion: number, versionAfter: number) =>
    judgeMigration({ restored, versionBefore, destinationVersion, versionAfter });

  it('accepted: YES when the version stays or rises from 0.2 on, YES* when it falls', () => {
    expect(j(true, V10, V10, V10)).toBe('YES');
    expect(j(true, V02, V10, V10)).toBe('YES');
    expect(j(true, V10, V02, V02)).toBe('YES*');
    // 0.1 and 0.2 share no function ids: a 0.1 guest is not fine on 0.2.
    expect(j(true, KVM_ARM_PSCI_0_1, V02, V02)).toBe('YES*');
  });

  it('refused: NO when the destination would have lowered the version, NO* when it would have been fine', () => {
    expect(j(false, V10, V02, V10)).toBe('NO');
    expect(j(false, V02, V02, V02)).toBe('NO*');
    expect(j(false, V02, V10, V02)).toBe('NO*');
  });

  it('a refused row leaves the guest on the source, which still answers its version', () => {
    const o = migrateRow('one-reg', 'new->old');
    expect(o).toMatchObject({ destinationVersion: V02, versionAfter: V10 });
  });
});

describe('the ends of each row', () => {
  it('old is the pre-patch kernel, new/compat the patched one', () => {
    expect(migrationEnd('one-reg', 'old')).toEqual({ host: OLD_HOST, compat: false });
    expect(migrationEnd('one-reg', 'compat')).toEqual({ host: NEW_ONE_REG_HOST, compat: true });
    expect(migrationEnd('vcpu-feature', 'new')).toEqual({ host: NEW_FEATURE_HOST, compat: false });
  });

  it('what the guest boots with at each end; only compat on a new kernel uses the new API', () => {
    const old = new PsciVmm(migrationEnd('one-reg', 'old'));
    expect([old.guestPsciVersion(), old.selectsPsciVersion]).toEqual([V02, false]);
    // A compat machine on the old kernel has nothing to select, and gets 0.2 anyway.
    const compatOnOld = new PsciVmm({ host: OLD_HOST, compat: true });
    expect([compatOnOld.guestPsciVersion(), compatOnOld.selectsPsciVersion]).toEqual([V02, false]);
    for (const a of ['one-reg', 'vcpu-feature'] as const) {
      const n = new PsciVmm(migrationEnd(a, 'new'));
      const c = new PsciVmm(migrationEnd(a, 'compat'));
      expect([n.guestPsciVersion(), n.selectsPsciVersion]).toEqual([V10, false]);
      expect([c.guestPsciVersion(), c.selectsPsciVersion]).toEqual([V02, true]);
    }
  });

  it('the feature bitmap travels as configuration, not in the stream: a destination without the compat machine gives 1.0', () => {
    const compat = new PsciVmm(migrationEnd('vcpu-feature', 'compat'));
    const dst = new PsciVmm(migrationEnd('vcpu-feature', 'new'));
    dst.restore(compat.save());
    expect(dst.guestPsciVersion()).toBe(V10);
  });

  it('a refused restore leaves the destination exactly as it was, across all vCPUs', () => {
    const src = new PsciVmm({ host: NEW_ONE_REG_HOST, compat: false }, 3);
    src.cpus[0]!.setX(1, 0x1111n);
    const dst = new PsciVmm({ host: OLD_HOST, compat: false }, 3);
    dst.cpus[0]!.setX(1, 0x2222n);
    const before = dst.save();
    expect(() => dst.restore(src.save())).toThrow(/ENOENT/);
    expect(dst.save()).toEqual(before);
    expect(dst.cpus[0]!.getX(1)).toBe(0x2222n);
  });

  it("today's upstream host cannot go back to the seed kernel: 1.1 is EINVAL there, and pinned to 1.0 the workaround registers are ENOENT", () => {
    const src = new PsciVmm({ host: UPSTREAM_HOST, compat: false });
    const dst = new PsciVmm({ host: NEW_ONE_REG_HOST, compat: false });
    expect(() => dst.restore(src.save())).toThrow(/EINVAL/);
    src.vcpus[0]!.setOneRegValue(KVM_REG_ARM_PSCI_VERSION, BigInt(KVM_ARM_PSCI_1_0));
    expect(() => dst.restore(src.save())).toThrow(/ENOENT/);
    // The other way is fine: the seed kernel's only register is known upstream.
    const back = new PsciVmm({ host: UPSTREAM_HOST, compat: false });
    back.restore(dst.save());
    expect(back.guestPsciVersion()).toBe(KVM_ARM_PSCI_1_0);
  });
});
