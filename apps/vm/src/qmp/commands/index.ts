import { QmpCommandTable } from '../command-table.ts';
import { qmpCapabilities, queryCommands, queryVersion } from './control.ts';
import { queryPci } from './query-pci.ts';
import { cont, queryStatus, quit, stop, systemPowerdown } from './run-state.ts';
import { screendump } from './screendump.ts';

/** The commands every VM's QMP server has; migration and snapshots register theirs on top. */
export function defaultQmpCommands(): QmpCommandTable {
  return new QmpCommandTable().register(
    qmpCapabilities,
    queryVersion,
    queryCommands,
    queryStatus,
    stop,
    cont,
    quit,
    systemPowerdown,
    screendump,
    queryPci,
  );
}
