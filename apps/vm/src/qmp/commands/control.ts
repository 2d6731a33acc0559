import type { QmpCommand } from '../command-table.ts';
import { genericError } from '../errors.ts';

/**
 * qmp_capabilities: leaves capabilities negotiation. `enable` lists the
 * capabilities to turn on; only those the greeting offered may be enabled
 * (qmp_caps_accept()), and this server offers none, so only an empty list
 * is accepted. The session refuses it once negotiation is complete.
 */
export const qmpCapabilities: QmpCommand = {
  name: 'qmp_capabilities',
  args: { enable: { type: { list: { enum: ['oob'] } }, optional: true } },
  handler(args) {
    const enable = (args.enable as string[] | undefined) ?? [];
    if (enable.length) throw genericError(`Capability '${enable[0]}' not available`);
    return {};
  },
};

/** query-version: the same VersionInfo as the greeting. */
export const queryVersion: QmpCommand = {
  name: 'query-version',
  args: {},
  handler: (_args, ctx) => ctx.version,
};

/** query-commands: every command in the table, as `[{"name": ...}]`. */
export const queryCommands: QmpCommand = {
  name: 'query-commands',
  args: {},
  handler: (_args, ctx) => ctx.commands.names().map((name) => ({ name })),
};
