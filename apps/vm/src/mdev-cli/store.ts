import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { uuidIsValid } from '@tsvirt/mdev-core';
import { MdevStoreError } from './store-error.ts';

export { MdevStoreError };

/**
 * mdevctl's per-device JSON (the file /etc/mdevctl.d/<parent>/<uuid> and
 * each entry of `list --dumpjson`): the type, whether the device starts when
 * its parent appears (`auto`) or only on request (`manual`), and sysfs
 * attributes written in order after the device is created, one
 * `{ name: value }` object each.
 */
export interface MdevConfig {
  mdev_type: string;
  start: 'auto' | 'manual';
  attrs: Record<string, string>[];
}

/** A device with its parent, as the store keeps it. */
export interface MdevRecord {
  parent: string;
  uuid: string;
  config: MdevConfig;
}

/** Where definitions live: $TSVIRT_MDEV_DIR, else ~/.config/tsvirt/mdevctl.d (mdevctl's /etc/mdevctl.d). */
export function mdevStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TSVIRT_MDEV_DIR || join(homedir(), '.config', 'tsvirt', 'mdevctl.d');
}

/**
 * Started devices: the host kernel is inside each VMM process, so there is
 * no /sys/bus/mdev/devices to look at; `start` records the device here and
 * the next VMM that names it creates it at boot. A dot directory, so no
 * parent name can clash with it.
 */
const ACTIVE = '.active';

const KEYS = new Set(['mdev_type', 'start', 'attrs']);

/** Check a parsed JSON value as mdevctl's device config; `where` prefixes each one-line error. */
export function checkMdevConfig(v: unknown, where: string): MdevConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new MdevStoreError(`${where}: not a JSON object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KEYS.has(k)) throw new MdevStoreError(`${where}: unknown key ${JSON.stringify(k)}`);
  }
  if (typeof o.mdev_type !== 'string' || o.mdev_type === '')
    throw new MdevStoreError(`${where}: "mdev_type" must be a non-empty string`);
  const start = o.start ?? 'manual';
  if (start !== 'auto' && start !== 'manual')
    throw new MdevStoreError(`${where}: "start" must be "auto" or "manual"`);
  const attrs = o.attrs ?? [];
  if (!Array.isArray(attrs)) throw new MdevStoreError(`${where}: "attrs" must be an array`);
  for (const [i, a] of attrs.entries()) {
    const entries = typeof a === 'object' && a !== null && !Array.isArray(a) ? Object.entries(a) : [];
    if (entries.length !== 1 || typeof entries[0]![1] !== 'string')
      throw new MdevStoreError(`${where}: "attrs"[${i}] must be one {"name": "value"} pair of strings`);
  }
  return { mdev_type: o.mdev_type, start, attrs: attrs as Record<string, string>[] };
}

function readJson(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MdevStoreError(`${file}: not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Persistent definitions (`<dir>/<parent>/<uuid>`) and started devices (`<dir>/.active/<uuid>`). */
export class MdevStore {
  constructor(readonly dir: string = mdevStoreDir()) {}

  /** Every defined device, by parent then UUID. */
  defined(): MdevRecord[] {
    const out: MdevRecord[] = [];
    for (const parent of listDir(this.dir)) {
      if (parent.startsWith('.') || !statSync(join(this.dir, parent)).isDirectory()) continue;
      for (const uuid of listDir(join(this.dir, parent))) {
        if (!uuidIsValid(uuid)) continue; // mdevctl skips files that are not UUIDs
        const file = join(this.dir, parent, uuid);
        out.push({ parent, uuid, config: checkMdevConfig(readJson(file), file) });
      }
    }
    return out;
  }

  /** Started devices, by UUID. */
  active(): MdevRecord[] {
    return listDir(join(this.dir, ACTIVE))
      .filter(uuidIsValid)
      .map((uuid) => {
        const file = join(this.dir, ACTIVE, uuid);
        const v = readJson(file) as Record<string, unknown>;
        const { parent, ...config } = typeof v === 'object' && v !== null ? v : {};
        if (typeof parent !== 'string' || parent === '')
          throw new MdevStoreError(`${file}: "parent" must be a non-empty string`);
        return { parent, uuid, config: checkMdevConfig(config, file) };
      });
  }

  /** The definitions of `uuid` (one per parent it is defined under), optionally on one parent. */
  findDefined(uuid: string, parent?: string): MdevRecord[] {
    return this.defined().filter((r) => r.uuid === uuid && (parent === undefined || r.parent === parent));
  }

  findActive(uuid: string): MdevRecord | undefined {
    return this.active().find((r) => r.uuid === uuid);
  }

  writeDefined(r: MdevRecord): void {
    mkdirSync(join(this.dir, r.parent), { recursive: true });
    writeFileSync(join(this.dir, r.parent, r.uuid), `${JSON.stringify(r.config, null, 2)}\n`);
  }

  removeDefined(r: MdevRecord): void {
    rmSync(join(this.dir, r.parent, r.uuid));
  }

  writeActive(r: MdevRecord): void {
    mkdirSync(join(this.dir, ACTIVE), { recursive: true });
    writeFileSync(
      join(this.dir, ACTIVE, r.uuid),
      `${JSON.stringify({ parent: r.parent, ...r.config }, null, 2)}\n`,
    );
  }

  removeActive(uuid: string): void {
    rmSync(join(this.dir, ACTIVE, uuid));
  }
}

/** mdevctl's `list --dumpjson` shape: `[{ parent: [{ uuid: config }, ...], ... }]`, parents sorted. */
export function listJson(records: readonly MdevRecord[]): unknown[] {
  if (records.length === 0) return [];
  const byParent: Record<string, Record<string, MdevConfig>[]> = {};
  for (const r of [...records].sort((a, b) => a.parent.localeCompare(b.parent))) {
    const list = byParent[r.parent] ?? [];
    list.push({ [r.uuid]: r.config });
    byParent[r.parent] = list;
  }
  return [byParent];
}
