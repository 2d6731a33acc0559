import type { QmpArgs, QmpArgsSchema } from './args.ts';
import type { QmpVm } from './vm.ts';

/** QEMU's VersionInfo, in the greeting and query-version: this VMM's own version, not a QEMU one. */
export interface QmpVersionInfo {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

/** What a command handler works on: the VM, the table itself (for query-commands), the version. */
export interface QmpCommandContext {
  vm: QmpVm;
  commands: QmpCommandTable;
  version: QmpVersionInfo;
}

/**
 * One QMP command, as a QAPI schema entry: its name, its arguments, and a
 * handler returning the `return` value (or a promise of it) or throwing a
 * QmpError. Handlers of commands QEMU runs synchronously should stay
 * synchronous, so their effect is complete when the reply is sent.
 */
export interface QmpCommand {
  name: string;
  args: QmpArgsSchema;
  handler(args: QmpArgs, ctx: QmpCommandContext): unknown;
}

/**
 * The commands a QMP server offers. Later subsystems (migration,
 * snapshots) add theirs with `register`; names are unique as in QEMU's
 * qmp_register_command().
 */
export class QmpCommandTable {
  private readonly commands = new Map<string, QmpCommand>();

  register(...commands: QmpCommand[]): this {
    for (const c of commands) {
      if (this.commands.has(c.name)) throw new Error(`QMP command ${c.name} is already registered`);
      this.commands.set(c.name, c);
    }
    return this;
  }

  get(name: string): QmpCommand | undefined {
    return this.commands.get(name);
  }

  names(): string[] {
    return [...this.commands.keys()];
  }
}
