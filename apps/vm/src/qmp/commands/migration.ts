import { closeSync, openSync, writeSync } from 'node:fs';
import type { QmpCommand } from '../command-table.ts';
import { genericError } from '../errors.ts';
import { strerror } from '../strerror.ts';
import type { RunState } from '../vm.ts';

/** What migrate needs of the VMM: the run state, and the VM's state as a stream while it is stopped. */
export interface QmpMigrationHost {
  readonly state: RunState;
  stop(): void;
  cont(): void;
  /** The migration completed: stay stopped in postmigrate. */
  migrated(): void;
  /** Write the stopped VM's migration stream through `sink`, chunk by chunk; `runState` is what it was before. */
  save(sink: (chunk: Uint8Array) => void, runState: 'running' | 'paused'): void;
}

/** QEMU's MigrationInfo as query-migrate gives it after a migration; {} before any. */
interface MigrationInfo {
  status: 'completed' | 'failed';
  'total-time'?: number;
  downtime?: number;
  'error-desc'?: string;
}

/**
 * migrate and query-migrate for a `file:` URI (QEMU 8.2+'s file migration;
 * also what a snapshot is here): the VM is stopped (STOP), every section is
 * written to the file, and the source stays paused in `postmigrate`, as
 * QEMU leaves it; `cont` runs it again. The save runs to completion inside
 * the command, so the reply comes when the file is complete and
 * query-migrate then says `completed` (QEMU replies at once and migrates in
 * the background). Other schemes (tcp:, unix:, exec:, fd:) are refused
 * until live migration exists. A failure after the file was opened is
 * reported by query-migrate as `failed` with the reason, and the VM runs
 * again if it was running, as QEMU's migrate_fd_cleanup() does.
 */
export function migrationCommands(host: QmpMigrationHost): QmpCommand[] {
  let info: MigrationInfo | undefined;
  const migrate: QmpCommand = {
    name: 'migrate',
    args: {
      uri: { type: 'str' },
      detach: { type: 'bool', optional: true },
      resume: { type: 'bool', optional: true },
    },
    handler(args) {
      const uri = args.uri as string;
      if (args.resume === true) throw genericError('Cannot resume if there is no paused migration');
      const colon = uri.indexOf(':');
      const scheme = colon < 0 ? uri : uri.slice(0, colon);
      if (scheme !== 'file')
        throw genericError(
          `Migration URI scheme '${scheme}' is not supported by this VMM (only file:PATH; live migration is not implemented yet)`,
        );
      const path = uri.slice(colon + 1);
      if (path === '') throw genericError("Invalid migration URI 'file:': no path");
      if (host.state === 'shutdown' || host.state === 'internal-error')
        throw genericError(`Cannot migrate a VM in state '${host.state}'`);
      let fd: number;
      try {
        fd = openSync(path, 'w', 0o600);
      } catch (e) {
        throw genericError(`Could not open '${path}': ${strerror(e)}`);
      }
      const wasRunning = host.state === 'running';
      const t0 = performance.now();
      host.stop();
      const stopped = performance.now();
      try {
        host.save(
          (chunk) => {
            for (let o = 0; o < chunk.length; ) o += writeSync(fd, chunk, o, chunk.length - o);
          },
          wasRunning ? 'running' : 'paused',
        );
        closeSync(fd);
      } catch (e) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
        info = { status: 'failed', 'error-desc': (e as Error).message };
        if (wasRunning) host.cont();
        return {};
      }
      const done = performance.now();
      host.migrated();
      info = {
        status: 'completed',
        'total-time': Math.round(done - t0),
        downtime: Math.round(done - stopped),
      };
      return {};
    },
  };
  const queryMigrate: QmpCommand = {
    name: 'query-migrate',
    args: {},
    handler: () => info ?? {},
  };
  return [migrate, queryMigrate];
}
