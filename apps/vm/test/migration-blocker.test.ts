import { describe, expect, it } from 'vitest';
import type { QmpCommandContext } from '../src/qmp/command-table.ts';
import { migrationCommands, type QmpMigrationHost } from '../src/qmp/commands/migration.ts';
import { QmpError } from '../src/qmp/errors.ts';

// --irqchip aia: the APLIC and IMSIC state lives in KVM and is not in the
// migration stream yet, so `migrate` is refused as QEMU refuses a VM with a
// migration blocker, before anything is stopped or written.

function host(blocker: string | undefined): QmpMigrationHost & { stops: number } {
  return {
    state: 'running',
    stops: 0,
    stop() {
      this.stops++;
    },
    cont() {},
    migrated() {},
    save() {
      throw new Error('must not save');
    },
    live() {
      throw new Error('must not start');
    },
    event() {},
    blocker,
  };
}

describe('migrate with the in-kernel AIA', () => {
  it('is refused with a GenericError naming the blocker, and the VM keeps running', () => {
    const h = host('Migration is disabled: the in-kernel AIA (--irqchip aia) has no migration support yet');
    const migrate = migrationCommands(h).find((c) => c.name === 'migrate')!;
    for (const uri of ['file:/tmp/never', 'tcp:127.0.0.1:1']) {
      let err: unknown;
      try {
        migrate.handler({ uri }, {} as QmpCommandContext);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(QmpError);
      expect((err as QmpError).desc).toContain('--irqchip aia');
    }
    expect(h.stops).toBe(0);
  });
});
