import { genericError } from './errors.ts';
import type { QmpEventSink, QmpRunControl, RunState, ShutdownCause } from './vm.ts';

/** How the run control reaches the vCPU loop. */
export interface RunHooks {
  pause(): void;
  resume(): void;
  quit(): void;
}

/**
 * The run state machine behind stop, cont, quit and system_powerdown, with
 * the events QEMU sends for each transition:
 * - stop: do_vm_stop() pauses the vCPUs and sends STOP only if the VM was
 *   running (a second stop, or a stop after shutdown, is a silent success).
 * - cont: refused with "Resetting the Virtual Machine is required" once the
 *   VM shut down or failed (runstate_needs_reset()); a no-op while running
 *   (QEMU 7.2 sends nothing then); otherwise resume and RESUME.
 * - quit: SHUTDOWN {guest: false, reason: host-qmp-quit}, then the VMM exits.
 * - powerdown: POWERDOWN, and the board's power button would be pressed;
 *   this board has none (see system_powerdown).
 */
export class RunControl implements QmpRunControl {
  private current: RunState;

  constructor(
    private readonly hooks: RunHooks,
    private readonly emit: QmpEventSink,
    /** `paused` for a VM restored from a stream saved while paused (the caller parked the loop). */
    initial: 'running' | 'paused' = 'running',
  ) {
    this.current = initial;
  }

  get state(): RunState {
    return this.current;
  }

  stop(): void {
    if (this.current !== 'running') return;
    this.hooks.pause();
    this.current = 'paused';
    this.emit('STOP');
  }

  cont(): void {
    if (this.current === 'shutdown' || this.current === 'internal-error')
      throw genericError('Resetting the Virtual Machine is required');
    if (this.current === 'running') return;
    this.hooks.resume();
    this.current = 'running';
    this.emit('RESUME');
  }

  /**
   * A migration completed: the source stays stopped in `postmigrate`
   * (QEMU's migration_iteration_finish()), from which `cont` may run it
   * again. The caller stopped it first (STOP was sent then).
   */
  migrated(): void {
    if (this.current === 'shutdown' || this.current === 'internal-error') return;
    this.current = 'postmigrate';
  }

  quit(): void {
    this.shutdown(false, 'host-qmp-quit');
    this.hooks.quit();
  }

  powerdown(): void {
    this.emit('POWERDOWN');
  }

  /** The VM ended: SHUTDOWN once, with QEMU's `guest` flag and ShutdownCause. */
  shutdown(guest: boolean, reason: ShutdownCause): void {
    if (this.current === 'shutdown') return;
    this.current = 'shutdown';
    this.emit('SHUTDOWN', { guest, reason });
  }

  /** The VM failed (a KVM internal error): vm_stop(RUN_STATE_INTERNAL_ERROR), so STOP if it was running. */
  failed(): void {
    if (this.current === 'shutdown' || this.current === 'internal-error') return;
    const wasRunning = this.current === 'running';
    this.current = 'internal-error';
    if (wasRunning) this.emit('STOP');
  }
}
