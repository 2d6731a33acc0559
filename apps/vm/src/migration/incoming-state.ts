import type { QmpAddress } from '../qmp/address.ts';

/** The destination's MigrationStatus (QEMU's MigrationIncomingState.state) as this VMM goes through it. */
export type IncomingStatus = 'none' | 'setup' | 'active' | 'completed' | 'failed';

/**
 * What a destination's QMP reports of the stream it waits for or loads
 * (QEMU's fill_destination_migration_info()): `setup` once it listens
 * (qemu_start_incoming_migration()), `active` once the source connected
 * (process_incoming_migration_co()), then `completed` or `failed`; and the
 * address it listens on (`socket-address`) until the stream is in. It also
 * holds QEMU's `autostart`: `stop` and `cont` while the VM is `inmigrate`
 * only say whether it runs once loaded (qmp_stop()/qmp_cont()).
 */
export class IncomingMigrationState {
  status: IncomingStatus = 'none';
  /** Run the VM once it is loaded (when the source's was running); `stop` during inmigrate clears it. */
  autostart = true;
  /** Told of each status change (the MIGRATION event, with the `events` capability on). */
  onChange: ((status: IncomingStatus) => void) | undefined;

  constructor(readonly address: QmpAddress) {}

  set(status: IncomingStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.onChange?.(status);
  }

  /** query-migrate on the destination: {} before it listens, as QEMU's for MIGRATION_STATUS_NONE. */
  info(): Record<string, unknown> {
    if (this.status === 'none') return {};
    const info: Record<string, unknown> = { status: this.status };
    if (this.status === 'setup' || this.status === 'active')
      info['socket-address'] = [socketAddress(this.address)];
    return info;
  }
}

/** QEMU's SocketAddress union as QMP prints it (an inet port is a string there). */
function socketAddress(a: QmpAddress): Record<string, string> {
  return a.kind === 'unix'
    ? { type: 'unix', path: a.path }
    : { type: 'inet', host: a.host, port: String(a.port) };
}
