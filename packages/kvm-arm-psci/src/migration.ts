import { type ErrnoCode, isKernelError } from '@tsvirt/core-bus';
import {
  KVM_ARM_TARGET_GENERIC_V8,
  KVM_ARM_VCPU_POWER_OFF,
  KVM_ARM_VCPU_PSCI_0_2,
  KVM_ARM_VCPU_PSCI_FORCE_0_2,
  KVM_REG_ARM_PSCI_VERSION,
} from './arm-uapi.ts';
import { type KvmArmHostModel, NEW_FEATURE_HOST, NEW_ONE_REG_HOST, OLD_HOST } from './host-model.ts';
import type { KvmArmVcpu } from './kvm-arm-vcpu.ts';
import { KvmArmVm } from './kvm-arm-vm.ts';
import { KVM_ARM_PSCI_0_2, PSCI_0_2_FN_PSCI_VERSION } from './psci-uapi.ts';
import { ArmRegisterFile, mpidrForVcpuId } from './vcpu-regs.ts';

// The review of "Add PSCI version selection API" compared two ways to let
// user space keep a guest on the PSCI version it booted with across a
// migration, in two tables with the rows below. This file models both ends
// of each row: a host kernel ("old" or "new") and the VMM on it, which is
// either plain or "compat" (a machine type that must look like the old
// host: it pins PSCI 0.2, by the register or by the feature bit).

export type SelectionApproach = 'one-reg' | 'vcpu-feature';
export type MigrationEndKind = 'old' | 'new' | 'compat';
export type MigrationRow = 'new->new' | 'old->new' | 'new->old' | 'compat->old' | 'old->compat';
export const MIGRATION_ROWS: readonly MigrationRow[] = [
  'new->new',
  'old->new',
  'new->old',
  'compat->old',
  'old->compat',
];

/** One end of a migration: the host kernel and whether the VMM runs a compat machine. */
export interface MigrationEnd {
  host: KvmArmHostModel;
  compat: boolean;
}

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
  readonly vm: KvmArmVm;
  readonly vcpus: KvmArmVcpu[] = [];
  readonly cpus: ArmRegisterFile[] = [];

  constructor(
    readonly end: MigrationEnd,
    nrVcpus = 2,
  ) {
    const { host, compat } = end;
    this.vm = new KvmArmVm(host);
    for (let i = 0; i < nrVcpus; i++) {
      const cpu = new ArmRegisterFile(mpidrForVcpuId(i));
      const vcpu = this.vm.createVcpu(i, cpu);
      let f = 1 << KVM_ARM_VCPU_PSCI_0_2;
      if (i > 0) f |= 1 << KVM_ARM_VCPU_POWER_OFF;
      if (compat && host.versionSelection === 'vcpu-feature') f |= 1 << KVM_ARM_VCPU_PSCI_FORCE_0_2;
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

export interface MigrationOutcome {
  approach: SelectionApproach;
  row: MigrationRow;
  /** The destination accepted the state. */
  restored: boolean;
  /** Why it did not (the errno of the refused SET_ONE_REG). */
  error?: ErrnoCode;
  /** PSCI_VERSION as the guest read it before and after. */
  versionBefore: number;
  versionAfter: number | undefined;
  /** The row works: the state was accepted and the guest sees the same PSCI version. */
  works: boolean;
}

/** Save on the row's source end, restore on its destination end, and compare what the guest sees. */
export function migrateRow(approach: SelectionApproach, row: MigrationRow, nrVcpus = 2): MigrationOutcome {
  const [from, to] = row.split('->') as [MigrationEndKind, MigrationEndKind];
  const src = new PsciVmm(migrationEnd(approach, from), nrVcpus);
  const versionBefore = src.guestPsciVersion();
  const blobs = src.save();
  const dst = new PsciVmm(migrationEnd(approach, to), nrVcpus);
  try {
    dst.restore(blobs);
  } catch (e) {
    if (!isKernelError(e)) throw e;
    return {
      approach,
      row,
      restored: false,
      error: e.code,
      versionBefore,
      versionAfter: undefined,
      works: false,
    };
  }
  const versionAfter = dst.guestPsciVersion();
  return {
    approach,
    row,
    restored: true,
    versionBefore,
    versionAfter,
    works: versionAfter === versionBefore,
  };
}

/**
 * The "works" column for each approach. With the register, the PSCI
 * version is vCPU state, so a new or compat source carries a register an
 * old destination refuses (compat->old fails loudly, as does new->old).
 * With the feature bit, nothing new is in the stream: compat->old works,
 * but new->old silently hands a 1.0 guest a 0.2 firmware. In both, old->new
 * silently upgrades the guest, and old->compat is how that is avoided.
 */
export const MIGRATION_TABLES: Readonly<Record<SelectionApproach, Readonly<Record<MigrationRow, boolean>>>> =
  {
    'one-reg': {
      'new->new': true,
      'old->new': false,
      'new->old': false,
      'compat->old': false,
      'old->compat': true,
    },
    'vcpu-feature': {
      'new->new': true,
      'old->new': false,
      'new->old': false,
      'compat->old': true,
      'old->compat': true,
    },
  };

/**
 * Whether the destination accepts the state at all (the narrower reading of
 * "works": the migration completes). Only the register approach ever refuses;
 * the feature bit approach never does, which is also why it cannot catch a
 * guest-visible version change.
 */
export const MIGRATION_RESTORE_TABLES: Readonly<
  Record<SelectionApproach, Readonly<Record<MigrationRow, boolean>>>
> = {
  'one-reg': {
    'new->new': true,
    'old->new': true,
    'new->old': false,
    'compat->old': false,
    'old->compat': true,
  },
  'vcpu-feature': {
    'new->new': true,
    'old->new': true,
    'new->old': true,
    'compat->old': true,
    'old->compat': true,
  },
};
