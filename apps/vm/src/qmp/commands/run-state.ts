import type { QmpCommand } from '../command-table.ts';

/** query-status: QEMU's StatusInfo, `running` and the RunState name (the removed `singlestep` is not sent). */
export const queryStatus: QmpCommand = {
  name: 'query-status',
  args: {},
  handler: (_args, { vm }) => ({ running: vm.run.state === 'running', status: vm.run.state }),
};

/** stop: pause every vCPU and the device work they drive; STOP when the VM was running. */
export const stop: QmpCommand = {
  name: 'stop',
  args: {},
  handler: (_args, { vm }) => vm.run.stop(),
};

/** cont: resume the vCPUs; RESUME when the VM was paused. */
export const cont: QmpCommand = {
  name: 'cont',
  args: {},
  handler: (_args, { vm }) => vm.run.cont(),
};

/** quit: SHUTDOWN (host-qmp-quit) before the reply, then the VMM ends the run and exits 0, as QEMU does. */
export const quit: QmpCommand = {
  name: 'quit',
  args: {},
  handler: (_args, { vm }) => vm.run.quit(),
};

/**
 * system_powerdown: QEMU sends POWERDOWN and notifies the board's power
 * button. Like QEMU's riscv virt (no ACPI GED, no gpio-keys), this board
 * has no power button device, so the guest sees nothing; the event is all
 * that happens. A guest that should power off on request needs a device
 * for it, which neither board has.
 */
export const systemPowerdown: QmpCommand = {
  name: 'system_powerdown',
  args: {},
  handler: (_args, { vm }) => vm.run.powerdown(),
};
