import type { BarEmulation } from '../pci/bar-emulation.ts';
import type { PciFunction } from '../pci/pci-function.ts';
import type { RgbaImage } from '../screenshot.ts';

/** QEMU's RunState names (qapi/run-state.json) this VMM can be in. */
export type RunState = 'running' | 'paused' | 'postmigrate' | 'inmigrate' | 'shutdown' | 'internal-error';

/** QEMU's ShutdownCause names that this VMM reports. */
export type ShutdownCause = 'host-qmp-quit' | 'guest-shutdown' | 'guest-reset';

/** An asynchronous event for every client in command mode; `data` is omitted when the event has none. */
export type QmpEventSink = (event: string, data?: Record<string, unknown>) => void;

/** The VM's run state as QMP drives it: QEMU's vm_stop()/vm_start() and the shutdown requests. */
export interface QmpRunControl {
  readonly state: RunState;
  stop(): void;
  cont(): void;
  quit(): void;
  powerdown(): void;
}

/** One PCI function as query-pci reports it: where it sits, its config space, and its BARs when the VMM emulates them. */
export interface QmpPciFunction {
  bus: number;
  slot: number;
  function: number;
  config: PciFunction;
  bars?: BarEmulation;
}

/** What the QMP commands see of the VMM. */
export interface QmpVm {
  run: QmpRunControl;
  /** The display, or undefined when no display is scanning out. */
  display(): RgbaImage | undefined;
  pciFunctions(): QmpPciFunction[];
}
