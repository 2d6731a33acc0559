import { describe, expect, it } from 'vitest';
import type { QmpCommandContext } from '../src/qmp/command-table.ts';
import { migrationCommands, type QmpMigrationHost } from '../src/qmp/commands/migration.ts';
import { QmpError } from '../src/qmp/errors.ts';

// A device whose state cannot be put in the stream registers a migration
// blocker (QEMU's migrate_add_blocker()): `migrate` is then refused, before
// anything is stopped or written. No device of this VMM needs one today
// (the in-kernel AIA, which had one, now has its 'aia' section).

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

describe('migrate with a migration blocker', () => {
  it('is refused with a GenericError naming the blocker, and the VM keeps running', () => {
    const h = host('Migration is disabled: device foo has no migration support');
    const migrate = migrationCommands(h).find((c) => c.name === 'migrate')!;
    for (const uri of ['file:/tmp/never', 'tcp:127.0.0.1:1']) {
      let err: unknown;
      try {
        migrate.handler({ uri }, {} as QmpCommandContext);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(QmpError);
      expect((err as QmpError).desc).toBe('Migration is disabled: device foo has no migration support');
    }
    expect(h.stops).toBe(0);
  });
});
