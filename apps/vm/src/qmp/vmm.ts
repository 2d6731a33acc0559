import { vmVersion } from '../cli.ts';
import {
  EXIT_GUEST_FAILURE,
  EXIT_GUEST_RESET,
  EXIT_SHUTDOWN,
  EXIT_USER_QUIT,
  EXIT_VM_ERROR,
  VmConfigError,
} from '../config-error.ts';
import type { Machine } from '../machine.ts';
import type { IncomingMigrationState } from '../migration/incoming-state.ts';
import { LiveMigration } from '../migration/live.ts';
import { MigrationProgress } from '../migration/progress.ts';
import { saveDeviceState, saveVmState } from '../migration/snapshot.ts';
import { MigrationStreamWriter } from '../migration/stream.ts';
import { vfioResumeDevice } from '../migration/vfio-migration.ts';
import { BarEmulation } from '../pci/bar-emulation.ts';
import type { RunResult, VmRunner } from '../vm-runner.ts';
import { formatQmpAddress, type QmpAddress } from './address.ts';
import type { QmpVersionInfo } from './command-table.ts';
import { defaultQmpCommands } from './commands/index.ts';
import { migrationCommands } from './commands/migration.ts';
import { InmigrateRunControl } from './inmigrate-run-control.ts';
import { RunControl } from './run-control.ts';
import { QmpServer } from './server.ts';
import type { QmpEventSink, QmpPciFunction, QmpRunControl, QmpVm } from './vm.ts';

/** This VMM's version (apps/vm/package.json) as QEMU's VersionInfo; `package` says which program answers. */
function vmmVersion(): QmpVersionInfo {
  // vmVersion() reads it from a path that holds in the sources and in the bundle (dist/) alike.
  const version = vmVersion();
  const [major = 0, minor = 0, micro = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  return { qemu: { major, minor, micro }, package: `tsvirt-vm ${version}` };
}

/** The PCI functions on the board's ECAM host bridge; BARs when the function's are VMM-emulated. */
function pciFunctions(m: Machine): QmpPciFunction[] {
  return m.ecam.attached().map(({ device, fn, f }) => {
    const bars = (f as { bars?: unknown }).bars;
    return {
      bus: 0,
      slot: device,
      function: fn,
      config: f,
      ...(bars instanceof BarEmulation ? { bars } : {}),
    };
  });
}

export interface QmpHandle {
  readonly server: QmpServer;
  /**
   * The VM to control: on a destination the server is up before it exists
   * (`inmigrate`), and this hands it over once the stream is loaded. Runs it
   * (RESUME) when `initial` is `running`.
   */
  attach(machine: Machine, runner: VmRunner, initial: 'running' | 'paused'): void;
  /** The run ended: send SHUTDOWN as QEMU would, and give the VMM's result (a QMP quit exits 0, as QEMU). */
  vmEnded(result: RunResult): RunResult;
  close(): Promise<void>;
}

/**
 * Start the QMP server: the default commands over the machine and its vCPU
 * loop. With `incoming` (a destination) it starts before the VM exists, in
 * `inmigrate`, and `attach` gives it the VM once loaded; `onQuit` is a
 * `quit` before then. Refusals to listen are configuration errors.
 */
export async function startQmp(
  address: QmpAddress,
  target:
    | { machine: Machine; runner: VmRunner; initial?: 'running' | 'paused' }
    | { incoming: IncomingMigrationState; onQuit: () => void; progress: boolean },
): Promise<QmpHandle> {
  let server: QmpServer | undefined;
  let machine: Machine | undefined;
  let runner: VmRunner | undefined;
  const emit: QmpEventSink = (event, data) => server?.broadcast(event, data);
  const progress = ('incoming' in target ? target.progress : target.machine.opts.progress)
    ? new MigrationProgress()
    : undefined;
  let quitRequested = false;
  // After a migration the mediated devices sit in STOP until the VM runs again (QEMU's vfio_vmstate_change()).
  let devicesStopped = false;
  const runControl = (initial: 'running' | 'paused') =>
    new RunControl(
      {
        pause: () => runner!.pause(),
        resume: () => {
          if (devicesStopped) for (const p of machine!.passthrough) vfioResumeDevice(p.fn.device);
          devicesStopped = false;
          runner!.resume();
        },
        quit: () => {
          quitRequested = true;
          runner!.requestQuit();
        },
      },
      emit,
      initial,
    );
  let run: QmpRunControl & { migrated?(): void };
  const incoming = 'incoming' in target ? target.incoming : undefined;
  if ('incoming' in target) {
    run = new InmigrateRunControl(target.incoming, emit, () => {
      quitRequested = true;
      target.onQuit();
    });
  } else {
    machine = target.machine;
    runner = target.runner;
    run = runControl(target.initial ?? 'running');
  }
  const vm: QmpVm = {
    get run() {
      return run;
    },
    display: () => machine?.display(),
    pciFunctions: () => (machine ? pciFunctions(machine) : []),
  };
  const commands = defaultQmpCommands().register(
    ...migrationCommands({
      get state() {
        return run.state;
      },
      stop: () => run.stop(),
      cont: () => run.cont(),
      migrated: () => run.migrated?.(),
      ...(incoming ? { incoming } : {}),
      save(sink, runState) {
        const m = machine!;
        devicesStopped = m.passthrough.length > 0;
        const w = new MigrationStreamWriter(sink);
        saveVmState(m, w, { runState });
        w.end();
      },
      live(address, params, hooks) {
        const m = machine!;
        return new LiveMigration(
          {
            machine: m,
            get state() {
              return run.state;
            },
            stop: () => run.stop(),
            cont: () => run.cont(),
            migrated: () => run.migrated?.(),
            shareThread: (hold) => runner?.shareWithMigration(hold),
            saveDevices(w, runState) {
              devicesStopped = m.passthrough.length > 0;
              saveDeviceState(m, w, { runState });
            },
            statusChanged: (status) => hooks.statusChanged(status),
            passDone: (pass) => hooks.passDone(pass),
            ...(progress ? { progress: (job: LiveMigration) => progress.update(job) } : {}),
          },
          address,
          params,
        );
      },
      event: (name, data) => server?.broadcast(name, data),
    }),
  );
  try {
    server = await QmpServer.listen(address, commands, { vm, commands, version: vmmVersion() });
  } catch (e) {
    throw new VmConfigError(`--qmp ${formatQmpAddress(address)}: ${(e as Error).message}`);
  }
  const listening = server;
  return {
    server: listening,
    attach(m, r, initial) {
      machine = m;
      runner = r;
      run = runControl(initial);
      // Out of inmigrate: vm_start() sends RESUME; a VM kept paused goes to `paused` silently.
      if (initial === 'running') emit('RESUME');
    },
    vmEnded(result) {
      const rc = run;
      // Still inmigrate: no VM ever ran.
      if (!(rc instanceof RunControl)) return result;
      // The runner knows one way to stop on request, the console's; a QMP quit takes it and is reported as QEMU does.
      if (quitRequested) return { ...result, status: EXIT_SHUTDOWN, reason: 'quit through QMP' };
      switch (result.status) {
        case EXIT_SHUTDOWN:
        case EXIT_GUEST_FAILURE:
          // SBI SRST shutdown (with or without a failure reason) is KVM_SYSTEM_EVENT_SHUTDOWN: QEMU's guest-shutdown.
          rc.shutdown(true, 'guest-shutdown');
          break;
        case EXIT_GUEST_RESET:
          // The VMM does not reboot: QEMU with -no-reboot turns the reset into this SHUTDOWN.
          rc.shutdown(true, 'guest-reset');
          break;
        case EXIT_USER_QUIT:
          // QEMU's console mux handles Ctrl-A x with qmp_quit().
          rc.shutdown(false, 'host-qmp-quit');
          break;
        case EXIT_VM_ERROR:
          rc.failed();
          break;
      }
      return result;
    },
    close: () => listening.close(),
  };
}
