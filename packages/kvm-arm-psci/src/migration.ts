import { type ErrnoCode, isKernelError } from '@tsvirt/core-bus';
import {
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_FORCE_PSCI_0_2,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_REG_ARM_PSCI_VERSION,
} from './arm-uapi.ts';
import { type KvmArmHostModel, NEW_FEATURE_HOST, NEW_ONE_REG_HOST, OLD_HOST } from './host-model.ts';
import type { KvmArmVcpu } from './kvm-arm-vcpu.ts';
import { KvmArmVm } from './kvm-arm-vm.ts';
import { KVM_ARM_PSCI_0_2, PSCI_0_2_FN_PSCI_VERSION } from './psci-uapi.ts';
import { ArmRegisterFile, mpidrForVcpuId } from './vcpu-regs.ts';

// The review of "Add PSCI version selection API" (v3 08/18) compared two
// ways to let user space keep a guest on the PSCI version it booted with
// across a migration, in two tables with the rows below and the columns
// "migration", "userspace change" and "works". This file models both ends
// of each row: a host kernel ("old" or "new") and the VMM on it, which is
// either plain or "compat" (a machine type that must look like the old
// host: it pins PSCI 0.2, by the register or by the feature bit).

/** How user space pins the PSCI version: the firmware register (ONE_REG) or a vCPU feature bit. */
export type SelectionApproach = 'one-reg' | 'vcpu-feature';
/** One end of a migration row: an old host, a new host, or a new host running a compat machine type. */
export type MigrationEndKind = 'old' | 'new' | 'compat';
/** A row of the review's tables: source end -> destination end. */
export type MigrationRow = 'new->new' | 'old->new' | 'new->old' | 'compat->old' | 'old->compat';
/** Every row of the review's tables, in order. */
export const MIGRATION_ROWS: readonly MigrationRow[] = [
  'new->new',
  'old->new',
  'new->old',
  'compat->old',
  'old->compat',
];

/**
 * The review's "works" column as it writes it; an asterisk marks a
 * behaviour the review does not want:
 * - 'YES': the guest runs on the destination, safely;
 * - 'YES*': it migrates, but it is not safe for the guest kernel;
 * - 'NO': the destination refuses the state (the guest stays on the source);
 * - 'NO*': refused, although the user space change was there to make it work (a bug).
 */
export type MigrationWorks = 'YES' | 'YES*' | 'NO' | 'NO*';

/** One row of a review table (the "migration" column is its key). */
export interface MigrationTableRow {
  /** The "userspace change" column: the row needs a VMM that knows the new API (the compat machine type). */
  userspaceChange: boolean;
  /** The "works" column. */
  works: MigrationWorks;
}

/** One end of a migration: the host kernel and whether the VMM runs a compat machine. */
export interface MigrationEnd {
  /** The host kernel at this end. */
  host: KvmArmHostModel;
  /** The VMM runs a compat machine type that pins PSCI 0.2. */
  compat: boolean;
}

/**
 * The host and VMM at one end of a row. On the old kernel a compat machine
 * has nothing to select and nothing to do (the kernel gives 0.2 anyway),
 * so "old" is the same end with or without the user space change.
 */
export function migrationEnd(approach: SelectionApproach, kind: MigrationEndKind): MigrationEnd {
  if (kind === 'old') return { host: OLD_HOST, compat: false };
  return { host: approach === 'one-reg' ? NEW_ONE_REG_HOST : NEW_FEATURE_HOST, compat: kind === 'compat' };
}

/**
 * The smallest VMM that matters here: it creates the vCPUs with PSCI 0.2
 * (secondaries powered off), applies its machine type's PSCI choice, and
 * migrates vCPU state as KVM_GET_REG_LIST + ONE_REG + MP_STATE.
 */
export class PsciVmm {
  /** The VM. */
  readonly vm: KvmArmVm;
  /** Its vCPUs. */
  readonly vcpus: KvmArmVcpu[] = [];
  /** The register files behind the vCPUs. */
  readonly cpus: ArmRegisterFile[] = [];
  /** This VMM pinned the PSCI version through the new API (register or feature bit): a user space change. */
  readonly selectsPsciVersion: boolean;

  constructor(
    /** Which host and machine type this VMM is. */
    readonly end: MigrationEnd,
    nrVcpus = 2,
  ) {
    const { host, compat } = end;
    this.selectsPsciVersion = compat && host.versionSelection !== 'none';
    this.vm = new KvmArmVm(host);
    for (let i = 0; i < nrVcpus; i++) {
      const cpu = new ArmRegisterFile(mpidrForVcpuId(i));
      const vcpu = this.vm.createVcpu(i, cpu);
      let f = 1 << KVM_ARM_VCPU_PSCI_0_2;
      if (i > 0) f |= 1 << KVM_ARM_VCPU_POWER_OFF;
      if (compat && host.versionSelection === 'vcpu-feature') f |= 1 << KVM_ARM_VCPU_FORCE_PSCI_0_2;
      vcpu.init({ target: KVM_ARM_TARGET_GENERIC_V8, features: [f, 0, 0, 0, 0, 0, 0] });
      this.cpus.push(cpu);
      this.vcpus.push(vcpu);
    }
    if (compat && host.versionSelection === 'one-reg') {
      this.vcpus[0]!.setOneReg({ id: KVM_REG_ARM_PSCI_VERSION, addr: 0n, value: BigInt(KVM_ARM_PSCI_0_2) });
    }
  }

  /** The guest on vCPU 0 calls PSCI_VERSION (HVC #0) and reads x0. */
  guestPsciVersion(): number {
    const cpu = this.cpus[0]!;
    const saved = [0, 1, 2, 3].map((i) => cpu.getX(i));
    cpu.setX(0, BigInt(PSCI_0_2_FN_PSCI_VERSION));
    this.vcpus[0]!.handleHvc(0);
    const v = Number(cpu.getX(0));
    for (const [i, x] of saved.entries()) cpu.setX(i, x);
    return v;
  }

  /** Save every vCPU's state. */
  save(): Uint8Array[] {
    return this.vcpus.map((v) => v.save());
  }

  /** Restore every vCPU; if one refuses, the ones already restored are put back too. */
  restore(blobs: readonly Uint8Array[]): void {
    if (blobs.length !== this.vcpus.length)
      throw new RangeError(`${blobs.length} vCPU blobs for ${this.vcpus.length} vCPUs`);
    const before = this.save();
    let done = 0;
    try {
      for (const [i, blob] of blobs.entries()) {
        this.vcpus[i]!.restore(blob);
        done++;
      }
    } catch (e) {
      for (let i = 0; i < done; i++) this.vcpus[i]!.restore(before[i]!);
      throw e;
    }
  }
}

/** What one row of the review's tables comes to under one approach: whether it needs a VMM change and whether it works. */
export interface MigrationOutcome {
  /** How the PSCI version is pinned. */
  approach: SelectionApproach;
  /** The migration row. */
  row: MigrationRow;
  /** Either VMM used the new API to pin the version. */
  userspaceChange: boolean;
  /** The destination accepted the state. */
  restored: boolean;
  /** Why it did not (the errno of the refused SET_ONE_REG). */
  error?: ErrnoCode;
  /** PSCI_VERSION as the guest negotiated it on the source. */
  versionBefore: number;
  /** PSCI_VERSION as the destination answered it before the restore. */
  destinationVersion: number;
  /** PSCI_VERSION as the guest reads it afterwards: on the destination, or on the source when refused. */
  versionAfter: number;
  /** The review's judgement of what happened (judgeMigration()). */
  works: MigrationWorks;
}

/**
 * Whether a guest that negotiated `before` is unaffected by firmware that
 * answers `after`: the same version, or a later one from 0.2 on. PSCI
 * revisions from 0.2 on only add calls (1.0 adds PSCI_FEATURES and keeps
 * every 0.2 call with the same ids), which is also why KVM defaults to the
 * latest; 0.1 and 0.2 have different function ids.
 */
function guestUnaffected(before: number, after: number): boolean {
  return after === before || (before >= KVM_ARM_PSCI_0_2 && after > before);
}

/**
 * How the review reaches its "works" judgement from what happened:
 * - accepted, and the guest is unaffected by the version it now reads: YES.
 *   This is old->new in both tables: the 0.2 guest reads 1.0 afterwards,
 *   and 1.0 is backward compatible.
 * - accepted, but the guest reads an earlier version: YES*. A guest that
 *   negotiated 1.0 may rely on what 0.2 lacks, and nothing in the stream
 *   lets the destination notice; only a new machine type could have
 *   stopped the attempt (vcpu-feature new->old).
 * - refused, and the destination would have offered an earlier version:
 *   NO. Refusing is right; the migration should not have been tried
 *   (one-reg new->old).
 * - refused, although the destination would have left the guest
 *   unaffected: NO*, the bug the review holds against the register. The
 *   compat machine pins 0.2, exactly what the old kernel gives, but the pin
 *   is itself a register the old kernel does not know (one-reg compat->old).
 * The host models need no bending for any row: the kernels and VMMs as
 * modelled produce these outcomes, and this is the review's reading of them.
 */
export function judgeMigration(
  o: Pick<MigrationOutcome, 'restored' | 'versionBefore' | 'destinationVersion' | 'versionAfter'>,
): MigrationWorks {
  if (o.restored) return guestUnaffected(o.versionBefore, o.versionAfter) ? 'YES' : 'YES*';
  return guestUnaffected(o.versionBefore, o.destinationVersion) ? 'NO*' : 'NO';
}

/**
 * Run one row: the guest negotiates its PSCI version on the source, the
 * source VMM saves every vCPU, the destination VMM restores them (all or
 * nothing), and the guest reads the version again wherever it now runs.
 */
export function migrateRow(approach: SelectionApproach, row: MigrationRow, nrVcpus = 2): MigrationOutcome {
  const [from, to] = row.split('->') as [MigrationEndKind, MigrationEndKind];
  const src = new PsciVmm(migrationEnd(approach, from), nrVcpus);
  const versionBefore = src.guestPsciVersion();
  const blobs = src.save();
  const dst = new PsciVmm(migrationEnd(approach, to), nrVcpus);
  const destinationVersion = dst.guestPsciVersion();
  const userspaceChange = src.selectsPsciVersion || dst.selectsPsciVersion;
  let restored = true;
  let error: ErrnoCode | undefined;
  try {
    dst.restore(blobs);
  } catch (e) {
    if (!isKernelError(e)) throw e;
    restored = false;
    error = e.code;
  }
  // A refused migration leaves the guest running on the source.
  const versionAfter = (restored ? dst : src).guestPsciVersion();
  const seen = { restored, versionBefore, destinationVersion, versionAfter };
  return {
    approach,
    row,
    userspaceChange,
    ...seen,
    ...(error !== undefined ? { error } : {}),
    works: judgeMigration(seen),
  };
}

/**
 * The review's two tables, row for row: the "userspace change" and "works"
 * columns as it gives them. migrateRow() reproduces each row from the host
 * models, and the tests check that it does.
 */
export const MIGRATION_TABLES: Readonly<
  Record<SelectionApproach, Readonly<Record<MigrationRow, Readonly<MigrationTableRow>>>>
> = {
  'one-reg': {
    'new->new': { userspaceChange: false, works: 'YES' },
    'old->new': { userspaceChange: false, works: 'YES' },
    'new->old': { userspaceChange: false, works: 'NO' },
    'compat->old': { userspaceChange: true, works: 'NO*' },
    'old->compat': { userspaceChange: true, works: 'YES' },
  },
  'vcpu-feature': {
    'new->new': { userspaceChange: false, works: 'YES' },
    'old->new': { userspaceChange: false, works: 'YES' },
    'new->old': { userspaceChange: false, works: 'YES*' },
    'compat->old': { userspaceChange: true, works: 'YES' },
    'old->compat': { userspaceChange: true, works: 'YES' },
  },
};
