import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type MdevCore, uuidIsValid } from '@tsvirt/mdev-core';
import { Command, InvalidArgumentError } from 'commander';
import { vmVersion } from '../cli.ts';
import { VmConfigError } from '../config-error.ts';
import { hostMdevCore } from './host-types.ts';
import {
  checkMdevConfig,
  listJson,
  type MdevConfig,
  type MdevRecord,
  MdevStore,
  MdevStoreError,
} from './store.ts';

/** Exit statuses: 0 done, 1 the operation was refused (mdevctl's failure status), 2 a bad command line. */
export const MDEV_EXIT_OK = 0;
export const MDEV_EXIT_FAILED = 1;
export const MDEV_EXIT_USAGE = 2;

export interface MdevIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

/** The operation cannot be done (not defined, already active...): exit 1 with one line. */
class MdevFailure extends Error {}

const fail = (msg: string): never => {
  throw new MdevFailure(msg);
};

function uuidArg(v: string): string {
  if (!uuidIsValid(v)) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a UUID`);
  return v.toLowerCase();
}

function indexArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('the index is a non-negative integer');
  return n;
}

const collect = (v: string, prev: string[]) => [...prev, v];

function readJsonFile(file: string): MdevConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail(`--jsonfile ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return fail(`--jsonfile ${file}: not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return checkMdevConfig(v, `--jsonfile ${file}`);
}

/**
 * A parent this host knows (built-in or from --plugin) must have the type;
 * an unknown parent is accepted, as mdevctl defines devices for parents not
 * present yet (here: a plugin the VMM will load).
 */
async function checkType(parent: string, type: string, plugins: string[]): Promise<void> {
  const core: MdevCore = await hostMdevCore(plugins);
  const p = core.parent(parent);
  if (p !== undefined && p.findType(type) === undefined)
    fail(`parent ${parent} has no type ${type} (it has: ${p.types.map((t) => t.sysfsName).join(', ')})`);
}

function formatAttrs(c: MdevConfig): string[] {
  if (c.attrs.length === 0) return [];
  return ['  Attrs:', ...c.attrs.map((a, i) => `    @{${i}}: ${JSON.stringify(a)}`)];
}

/** Build the `tsvirt-mdev` command; each action writes through `io` and may throw MdevFailure. */
function program(io: MdevIo): Command {
  const store = () => new MdevStore(io.env.TSVIRT_MDEV_DIR || undefined);
  const cmd = new Command('tsvirt-mdev')
    .description(
      'Define, start and list mediated devices for tsvirt-vm, as mdevctl does (definitions in $TSVIRT_MDEV_DIR or ~/.config/tsvirt/mdevctl.d)',
    )
    .version(vmVersion(), '-V, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: () => {} })
    .showSuggestionAfterError(false);
  const sub = (name: string, desc: string) =>
    cmd
      .command(name)
      .description(desc)
      .exitOverride()
      .configureOutput({ writeOut: io.out, writeErr: () => {} })
      .allowExcessArguments(false);

  sub('types', 'list the mdev types of each parent (built in, and from --plugin files)')
    .option('-p, --parent <parent>', 'only this parent')
    .option('--dumpjson', 'as JSON, in mdevctl types --dumpjson shape')
    .option('--plugin <file>', 'also load this vendor driver module (repeatable)', collect, [])
    .action(async (o: { parent?: string; dumpjson?: boolean; plugin: string[] }) => {
      const core = await hostMdevCore(o.plugin);
      const parents = core.parents
        .filter((p) => o.parent === undefined || p.name === o.parent)
        .sort((a, b) => a.name.localeCompare(b.name));
      if (o.dumpjson) {
        const byParent = Object.fromEntries(
          parents.map((p) => [
            p.name,
            p.types.map((t) => ({
              [t.sysfsName]: {
                available_instances: t.availableInstances,
                device_api: t.deviceApi,
                name: t.name,
                ...(t.description === undefined ? {} : { description: t.description }),
              },
            })),
          ]),
        );
        io.out(`${JSON.stringify(parents.length ? [byParent] : [], null, 2)}\n`);
        return;
      }
      for (const p of parents) {
        io.out(`${p.name}\n`);
        for (const t of p.types) {
          io.out(
            `  ${t.sysfsName}\n    Available instances: ${t.availableInstances}\n    Device API: ${t.deviceApi}\n`,
          );
          io.out(`    Name: ${t.name}\n`);
          if (t.description !== undefined)
            io.out(`    Description: ${t.description.replaceAll('\n', ' ')}\n`);
        }
      }
    });

  sub('list', 'list started devices, or defined ones with --defined')
    .option('-d, --defined', 'list defined devices, started or not')
    .option('-u, --uuid <uuid>', 'only this device', uuidArg)
    .option('-p, --parent <parent>', 'only devices of this parent')
    .option('-v, --verbose', 'also show attributes')
    .option('--dumpjson', 'as JSON (mdevctl list --dumpjson shape; one device alone is its config file)')
    .action(
      (o: { defined?: boolean; uuid?: string; parent?: string; verbose?: boolean; dumpjson?: boolean }) => {
        const s = store();
        const active = s.active();
        const defined = s.defined();
        const pick = (r: MdevRecord) =>
          (o.uuid === undefined || r.uuid === o.uuid) && (o.parent === undefined || r.parent === o.parent);
        const rows = (o.defined ? defined : active).filter(pick);
        if (o.dumpjson) {
          const one = o.uuid !== undefined && rows.length === 1 ? rows[0]!.config : listJson(rows);
          io.out(`${JSON.stringify(one, null, 2)}\n`);
          return;
        }
        for (const r of rows) {
          const other = o.defined
            ? active.some((a) => a.uuid === r.uuid && a.parent === r.parent)
            : defined.some((d) => d.uuid === r.uuid && d.parent === r.parent);
          const tail = o.defined
            ? ` ${r.config.start}${other ? ' (active)' : ''}`
            : other
              ? ' (defined)'
              : '';
          io.out(`${r.uuid} ${r.parent} ${r.config.mdev_type}${tail}\n`);
          if (o.verbose) for (const l of formatAttrs(r.config)) io.out(`${l}\n`);
        }
      },
    );

  sub('define', 'define a persistent device: by parent and type (or --jsonfile), or from a started UUID')
    .option('-u, --uuid <uuid>', 'its UUID (default: a new one, printed)', uuidArg)
    .option('-p, --parent <parent>', 'its parent')
    .option('-t, --type <type>', 'its mdev type')
    .option('-a, --auto', 'start it when a VMM registers its parent (start: auto)')
    .option('--jsonfile <file>', 'the config (mdev_type, start, attrs) from a file instead of --type/--auto')
    .option('--plugin <file>', 'a vendor driver module, to check the type against (repeatable)', collect, [])
    .action(
      async (o: {
        uuid?: string;
        parent?: string;
        type?: string;
        auto?: boolean;
        jsonfile?: string;
        plugin: string[];
      }) => {
        const s = store();
        let rec: MdevRecord;
        if (o.parent === undefined) {
          // mdevctl define -u UUID: make a started device persistent.
          if (o.uuid === undefined)
            return fail('define needs --parent (with --type or --jsonfile), or --uuid of a started device');
          if (o.type !== undefined || o.jsonfile !== undefined)
            return fail('--type and --jsonfile need --parent');
          const a =
            s.findActive(o.uuid) ?? fail(`${o.uuid} is not started; give --parent and --type to define it`);
          rec = { ...a, config: { ...a.config, start: o.auto ? 'auto' : a.config.start } };
        } else {
          if (o.jsonfile !== undefined && (o.type !== undefined || o.auto))
            return fail('--jsonfile replaces --type and --auto');
          const config: MdevConfig = o.jsonfile
            ? readJsonFile(o.jsonfile)
            : {
                mdev_type: o.type ?? fail('define needs --type or --jsonfile'),
                start: o.auto ? 'auto' : 'manual',
                attrs: [],
              };
          await checkType(o.parent, config.mdev_type, o.plugin);
          rec = { parent: o.parent, uuid: o.uuid ?? randomUUID(), config };
        }
        if (s.findDefined(rec.uuid, rec.parent).length)
          return fail(`${rec.uuid} is already defined on parent ${rec.parent}`);
        s.writeDefined(rec);
        if (o.uuid === undefined) io.out(`${rec.uuid}\n`);
      },
    );

  sub(
    'undefine',
    "remove a device's definition (every parent's, unless --parent); a started device stays started",
  )
    .requiredOption('-u, --uuid <uuid>', 'the device', uuidArg)
    .option('-p, --parent <parent>', 'only the definition on this parent')
    .action((o: { uuid: string; parent?: string }) => {
      const s = store();
      const recs = s.findDefined(o.uuid, o.parent);
      if (recs.length === 0) fail(`${o.uuid} is not defined${o.parent ? ` on parent ${o.parent}` : ''}`);
      for (const r of recs) s.removeDefined(r);
    });

  sub('start', 'mark a device started: the next VMM given --mdev UUID creates it at boot')
    .option(
      '-u, --uuid <uuid>',
      'a defined device, or the new device (default: a new UUID, printed)',
      uuidArg,
    )
    .option('-p, --parent <parent>', 'its parent (a transient device, or to pick a definition)')
    .option('-t, --type <type>', 'its mdev type (a transient device)')
    .option('--jsonfile <file>', 'a transient device config from a file instead of --type')
    .option('--plugin <file>', 'a vendor driver module, to check the type against (repeatable)', collect, [])
    .action(
      async (o: { uuid?: string; parent?: string; type?: string; jsonfile?: string; plugin: string[] }) => {
        const s = store();
        const defined = o.uuid === undefined ? [] : s.findDefined(o.uuid, o.parent);
        let rec: MdevRecord;
        if (defined.length > 1) return fail(`${o.uuid} is defined on several parents; give --parent`);
        if (defined.length === 1) {
          rec = defined[0]!;
          if (o.type !== undefined && o.type !== rec.config.mdev_type)
            return fail(`${o.uuid} is defined with type ${rec.config.mdev_type}, not ${o.type}`);
          if (o.jsonfile !== undefined)
            return fail(`${o.uuid} is defined; --jsonfile is for a transient device`);
        } else {
          if (o.parent === undefined)
            return fail(
              o.uuid === undefined
                ? 'start needs --uuid, or --parent and --type'
                : `${o.uuid} is not defined; give --parent and --type`,
            );
          if (o.jsonfile !== undefined && o.type !== undefined) return fail('--jsonfile replaces --type');
          const config: MdevConfig = o.jsonfile
            ? { ...readJsonFile(o.jsonfile), start: 'manual' }
            : { mdev_type: o.type ?? fail('start needs --type or --jsonfile'), start: 'manual', attrs: [] };
          await checkType(o.parent, config.mdev_type, o.plugin);
          rec = { parent: o.parent, uuid: o.uuid ?? randomUUID(), config };
        }
        // mdevctl: only one device with a UUID may run at a time.
        if (s.findActive(rec.uuid) !== undefined) return fail(`${rec.uuid} is already started`);
        s.writeActive(rec);
        if (o.uuid === undefined) io.out(`${rec.uuid}\n`);
      },
    );

  sub('stop', 'mark a started device stopped (a VMM already running with it keeps it until it exits)')
    .requiredOption('-u, --uuid <uuid>', 'the device', uuidArg)
    .action((o: { uuid: string }) => {
      const s = store();
      if (s.findActive(o.uuid) === undefined) fail(`${o.uuid} is not started`);
      s.removeActive(o.uuid);
    });

  sub('modify', "change a device's definition: type, start mode, attributes (a started device is unaffected)")
    .requiredOption('-u, --uuid <uuid>', 'the device', uuidArg)
    .option('-p, --parent <parent>', 'the definition on this parent')
    .option('-t, --type <type>', 'a new mdev type')
    .option('-a, --auto', 'start: auto')
    .option('-m, --manual', 'start: manual')
    .option('--addattr <name>', 'add an attribute (with --value; at --index, else at the end)')
    .option('--value <value>', "the added attribute's value")
    .option('--delattr', 'delete the attribute at --index')
    .option('-i, --index <n>', 'attribute index, from 0 as list -v shows them', indexArg)
    .option('--jsonfile <file>', 'replace the whole config with this file')
    .option(
      '--plugin <file>',
      'a vendor driver module, to check a new type against (repeatable)',
      collect,
      [],
    )
    .action(
      async (o: {
        uuid: string;
        parent?: string;
        type?: string;
        auto?: boolean;
        manual?: boolean;
        addattr?: string;
        value?: string;
        delattr?: boolean;
        index?: number;
        jsonfile?: string;
        plugin: string[];
      }) => {
        const s = store();
        const recs = s.findDefined(o.uuid, o.parent);
        if (recs.length === 0)
          return fail(`${o.uuid} is not defined${o.parent ? ` on parent ${o.parent}` : ''}`);
        if (recs.length > 1) return fail(`${o.uuid} is defined on several parents; give --parent`);
        const rec = recs[0]!;
        if (o.auto && o.manual) return fail('--auto and --manual together');
        if (o.addattr !== undefined && o.delattr) return fail('--addattr and --delattr together');
        if (o.addattr !== undefined && o.value === undefined) return fail('--addattr needs --value');
        if (o.value !== undefined && o.addattr === undefined) return fail('--value needs --addattr');
        if (o.delattr && o.index === undefined) return fail('--delattr needs --index');
        if (o.index !== undefined && o.addattr === undefined && !o.delattr)
          return fail('--index needs --addattr or --delattr');
        let config: MdevConfig = { ...rec.config, attrs: [...rec.config.attrs] };
        if (o.jsonfile !== undefined) {
          if (o.type !== undefined || o.auto || o.manual || o.addattr !== undefined || o.delattr)
            return fail('--jsonfile replaces the whole config; give no other change');
          config = readJsonFile(o.jsonfile);
        }
        if (o.type !== undefined) config.mdev_type = o.type;
        if (o.auto) config.start = 'auto';
        if (o.manual) config.start = 'manual';
        if (o.addattr !== undefined) {
          const at = o.index ?? config.attrs.length;
          if (at > config.attrs.length)
            return fail(`--index ${at}: there are ${config.attrs.length} attributes`);
          config.attrs.splice(at, 0, { [o.addattr]: o.value! });
        }
        if (o.delattr) {
          if (o.index! >= config.attrs.length)
            return fail(`--index ${o.index}: there are ${config.attrs.length} attributes`);
          config.attrs.splice(o.index!, 1);
        }
        if (config.mdev_type !== rec.config.mdev_type)
          await checkType(rec.parent, config.mdev_type, o.plugin);
        s.writeDefined({ ...rec, config });
      },
    );
  return cmd;
}

/** Run `tsvirt-mdev argv`; returns the exit status, every problem one line on `io.err`. */
export async function runMdevCli(argv: readonly string[], io: MdevIo): Promise<number> {
  try {
    await program(io).parseAsync(argv as string[], { from: 'user' });
    return MDEV_EXIT_OK;
  } catch (e) {
    const err = e as { code?: string; message?: string; exitCode?: number };
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.help' ||
      err.code === 'commander.version'
    )
      return MDEV_EXIT_OK;
    if (e instanceof MdevFailure || e instanceof MdevStoreError || e instanceof VmConfigError) {
      io.err(`tsvirt-mdev: ${(e as Error).message}\n`);
      return MDEV_EXIT_FAILED;
    }
    if (typeof err.code === 'string' && err.code.startsWith('commander.')) {
      io.err(`tsvirt-mdev: ${(err.message ?? '').replace(/^error: /, '').split('\n')[0]}\n`);
      return MDEV_EXIT_USAGE;
    }
    throw e;
  }
}
