import { closeSync, openSync, writeSync } from 'node:fs';
import { parseMigrationAddress } from '../../migration/address.ts';
import type { IncomingMigrationState } from '../../migration/incoming-state.ts';
import {
  DEFAULT_MIGRATION_PARAMETERS,
  type LiveMigration,
  type MigrationParameters,
  type MigrationStatus,
} from '../../migration/live.ts';
import type { QmpAddress } from '../address.ts';
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
  /** Create a live migration to a socket; `hooks` carry its events. */
  live(address: QmpAddress, params: MigrationParameters, hooks: LiveMigrationEvents): LiveMigration;
  /** Send a QMP event. */
  event(name: string, data: Record<string, unknown>): void;
  /** On a destination: the incoming stream (query-migrate reports it until a migration of its own). */
  readonly incoming?: IncomingMigrationState;
  /** Why this VM cannot migrate (QEMU's migration blockers), if it cannot. */
  readonly blocker?: string | undefined;
}

/** The events a live migration raises, sent only with the `events` capability on (QEMU's migrate_events()). */
export interface LiveMigrationEvents {
  statusChanged(status: MigrationStatus): void;
  passDone(pass: number): void;
}

/** The longest downtime-limit QEMU takes (MAX_MIGRATE_DOWNTIME, ms). */
const MAX_MIGRATE_DOWNTIME = 2_000_000;
/** Capabilities this VMM has; QEMU's others are refused by name. */
const CAPABILITIES = ['events'] as const;

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
 * query-migrate then says `completed`. A `tcp:` or `unix:` URI starts a
 * live migration (LiveMigration) and replies at once, as QEMU's does;
 * query-migrate follows it. Other schemes (exec:, fd:) are refused. A failure after the file was opened is
 * reported by query-migrate as `failed` with the reason, and the VM runs
 * again if it was running, as QEMU's migrate_fd_cleanup() does.
 */
export function migrationCommands(host: QmpMigrationHost): QmpCommand[] {
  let info: MigrationInfo | undefined;
  /** The last live migration (query-migrate reports it until another starts). */
  let live: LiveMigration | undefined;
  const params: MigrationParameters = { ...DEFAULT_MIGRATION_PARAMETERS };
  const caps: Record<(typeof CAPABILITIES)[number], boolean> = { events: false };
  // A destination sends MIGRATION for its side too (QEMU's migrate_set_state() on mis->state).
  if (host.incoming)
    host.incoming.onChange = (status) => {
      if (caps.events) host.event('MIGRATION', { status });
    };
  /** QEMU's migrate_prepare(): a VM still waiting for its own stream cannot be sent anywhere. */
  const checkNotIncoming = () => {
    if (host.state === 'inmigrate') throw genericError('Guest is waiting for an incoming migration');
  };
  const startLive = (uri: string) => {
    let address: QmpAddress;
    try {
      address = parseMigrationAddress(uri);
    } catch (e) {
      throw genericError(`Invalid migration URI '${uri}': ${(e as Error).message}`);
    }
    if (host.state === 'shutdown' || host.state === 'internal-error')
      throw genericError(`Cannot migrate a VM in state '${host.state}'`);
    info = undefined;
    live = host.live(
      address,
      { ...params },
      {
        statusChanged: (status) => {
          if (caps.events) host.event('MIGRATION', { status });
        },
        passDone: (pass) => {
          if (caps.events) host.event('MIGRATION_PASS', { pass });
        },
      },
    );
    void live.start();
    return {};
  };
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
      if (live?.active) throw genericError("There's a migration process in progress");
      checkNotIncoming();
      if (host.blocker !== undefined) throw genericError(host.blocker);
      if (scheme === 'tcp' || scheme === 'unix') return startLive(uri);
      if (scheme !== 'file')
        throw genericError(
          `Migration URI scheme '${scheme}' is not supported by this VMM (file:PATH, tcp:127.0.0.1:PORT, unix:PATH)`,
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
      live = undefined;
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
    handler: () => live?.info() ?? info ?? host.incoming?.info() ?? {},
  };
  const migrateCancel: QmpCommand = {
    name: 'migrate_cancel',
    args: {},
    handler() {
      live?.cancel();
      return {};
    },
  };
  const setParameters: QmpCommand = {
    name: 'migrate-set-parameters',
    args: {
      'downtime-limit': { type: 'int', optional: true },
      'max-bandwidth': { type: 'int', optional: true },
    },
    handler(args) {
      const downtime = args['downtime-limit'];
      const bandwidth = args['max-bandwidth'];
      // migrate_params_check(): every value is checked before any is set.
      if (downtime !== undefined && (Number(downtime) < 0 || Number(downtime) > MAX_MIGRATE_DOWNTIME))
        throw genericError(
          `Parameter 'downtime_limit' expects an integer in the range of 0 to ${MAX_MIGRATE_DOWNTIME} ms`,
        );
      if (bandwidth !== undefined && (Number(bandwidth) < 0 || Number(bandwidth) > Number.MAX_SAFE_INTEGER))
        throw genericError(
          `Parameter 'max_bandwidth' expects an integer in the range of 0 to ${Number.MAX_SAFE_INTEGER} bytes/second`,
        );
      // Taken by the next migration (QEMU also applies a new max-bandwidth to the running one; this VMM does not).
      if (downtime !== undefined) params.downtimeLimit = Number(downtime);
      if (bandwidth !== undefined) params.maxBandwidth = Number(bandwidth);
      return {};
    },
  };
  const queryParameters: QmpCommand = {
    name: 'query-migrate-parameters',
    args: {},
    handler: () => ({ 'downtime-limit': params.downtimeLimit, 'max-bandwidth': params.maxBandwidth }),
  };
  const setCapabilities: QmpCommand = {
    name: 'migrate-set-capabilities',
    args: { capabilities: { type: 'any' } },
    handler(args) {
      const list = args.capabilities;
      if (!Array.isArray(list))
        throw genericError("Invalid parameter type for 'capabilities', expected: array");
      const next = { ...caps };
      for (const c of list) {
        const o = c as Record<string, unknown>;
        if (
          typeof o !== 'object' ||
          o === null ||
          typeof o.capability !== 'string' ||
          typeof o.state !== 'boolean'
        )
          throw genericError("Each capability needs 'capability' (a string) and 'state' (a boolean)");
        if (!(CAPABILITIES as readonly string[]).includes(o.capability))
          throw genericError(
            `Migration capability '${o.capability}' is not supported by this VMM (only 'events')`,
          );
        next[o.capability as (typeof CAPABILITIES)[number]] = o.state;
      }
      if (live?.active) throw genericError("There's a migration process in progress");
      Object.assign(caps, next);
      return {};
    },
  };
  const queryCapabilities: QmpCommand = {
    name: 'query-migrate-capabilities',
    args: {},
    handler: () => CAPABILITIES.map((c) => ({ capability: c, state: caps[c] })),
  };
  return [
    migrate,
    queryMigrate,
    migrateCancel,
    setParameters,
    queryParameters,
    setCapabilities,
    queryCapabilities,
  ];
}
