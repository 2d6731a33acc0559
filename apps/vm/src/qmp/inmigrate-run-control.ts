import type { IncomingMigrationState } from '../migration/incoming-state.ts';
import type { QmpEventSink, QmpRunControl } from './vm.ts';

/**
 * The run state while a destination waits for its stream (QEMU's
 * RUN_STATE_INMIGRATE): no vCPU exists yet; `stop` and `cont` only clear
 * or set `autostart` (qmp_stop()/qmp_cont() do the same in inmigrate, with
 * no event); `quit` sends SHUTDOWN and drops the incoming migration.
 */
export class InmigrateRunControl implements QmpRunControl {
  readonly state = 'inmigrate' as const;
  constructor(
    private readonly incoming: IncomingMigrationState,
    private readonly emit: QmpEventSink,
    private readonly onQuit: () => void,
  ) {}
  stop(): void {
    this.incoming.autostart = false;
  }
  cont(): void {
    this.incoming.autostart = true;
  }
  quit(): void {
    this.emit('SHUTDOWN', { guest: false, reason: 'host-qmp-quit' });
    this.onQuit();
  }
  powerdown(): void {
    this.emit('POWERDOWN');
  }
}
