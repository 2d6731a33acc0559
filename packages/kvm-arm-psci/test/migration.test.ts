import { describe, expect, it } from 'vitest';
import {
  KVM_ARM_PSCI_0_2,
  KVM_ARM_PSCI_1_0,
  KVM_REG_ARM_PSCI_VERSION,
  MIGRATION_RESTORE_TABLES,
  MIGRATION_ROWS,
  MIGRATION_TABLES,
  migrateRow,
  migrationEnd,
  NEW_FEATURE_HOST,
  NEW_ONE_REG_HOST,
  OLD_HOST,
  PsciVmm,
  type SelectionApproach,
  UPSTREAM_HOST,
} from '../src/index.ts';

// The review's two tables, one row per test: save on the row's source,
// restore on its destination, and assert the "works" column.
for (const approach of ['one-reg', 'vcpu-feature'] as SelectionApproach[]) {
  describe(`migration table, ${approach} approach`, () => {
    for (const row of MIGRATION_ROWS) {
      it(`${row}: ${MIGRATION_TABLES[approach][row] ? 'works' : 'does not work'}`, () => {
        expect(migrateRow(approach, row).works).toBe(MIGRATION_TABLES[approach][row]);
      });
      it(`${row}: the destination ${MIGRATION_RESTORE_TABLES[approach][row] ? 'accepts' : 'refuses'} the state`, () => {
        expect(migrateRow(approach, row).restored).toBe(MIGRATION_RESTORE_TABLES[approach][row]);
      });
    }
  });
}

describe('how each row works or fails', () => {
  it('the ends: old is the pre-patch kernel, new/compat the patched one', () => {
    expect(migrationEnd('one-reg', 'old')).toEqual({ host: OLD_HOST, compat: false });
    expect(migrationEnd('one-reg', 'compat')).toEqual({ host: NEW_ONE_REG_HOST, compat: true });
    expect(migrationEnd('vcpu-feature', 'new')).toEqual({ host: NEW_FEATURE_HOST, compat: false });
  });

  it('what the guest boots with at each end', () => {
    expect(new PsciVmm(migrationEnd('one-reg', 'old')).guestPsciVersion()).toBe(KVM_ARM_PSCI_0_2);
    for (const a of ['one-reg', 'vcpu-feature'] as const) {
      expect(new PsciVmm(migrationEnd(a, 'new')).guestPsciVersion()).toBe(KVM_ARM_PSCI_1_0);
      expect(new PsciVmm(migrationEnd(a, 'compat')).guestPsciVersion()).toBe(KVM_ARM_PSCI_0_2);
    }
  });

  it('one-reg new->new carries 1.0 in the register and keeps it', () => {
    expect(migrateRow('one-reg', 'new->new')).toMatchObject({
      restored: true,
      versionBefore: 0x10000,
      versionAfter: 0x10000,
    });
  });

  it('one-reg new->old and compat->old: the old kernel refuses the PSCI register (ENOENT)', () => {
    expect(migrateRow('one-reg', 'new->old')).toMatchObject({ restored: false, error: 'ENOENT' });
    // Even though the value (0.2) is exactly what the old host gives.
    expect(migrateRow('one-reg', 'compat->old')).toMatchObject({
      restored: false,
      error: 'ENOENT',
      versionBefore: 2,
    });
  });

  it('vcpu-feature compat->old: nothing new in the stream, the guest keeps 0.2', () => {
    expect(migrateRow('vcpu-feature', 'compat->old')).toMatchObject({
      restored: true,
      versionBefore: 2,
      versionAfter: 2,
    });
  });

  it('vcpu-feature new->old: accepted, but the 1.0 guest silently finds 0.2 firmware', () => {
    expect(migrateRow('vcpu-feature', 'new->old')).toMatchObject({
      restored: true,
      versionBefore: 0x10000,
      versionAfter: 2,
    });
  });

  it('old->new (both approaches): accepted, but the 0.2 guest silently finds 1.0 firmware', () => {
    for (const a of ['one-reg', 'vcpu-feature'] as const) {
      expect(migrateRow(a, 'old->new')).toMatchObject({
        restored: true,
        versionBefore: 2,
        versionAfter: 0x10000,
      });
    }
  });

  it('old->compat (both approaches): the compat machine pins 0.2 and the guest keeps it', () => {
    for (const a of ['one-reg', 'vcpu-feature'] as const) {
      expect(migrateRow(a, 'old->compat')).toMatchObject({
        restored: true,
        versionBefore: 2,
        versionAfter: 2,
      });
    }
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
