import { readFileSync, statSync } from 'node:fs';
import { VmConfigError } from './config-error.ts';

/**
 * `--config FILE`: the machine as one JSON object, as Firecracker's
 * `--config-file`. Each key is a long flag's name without the dashes and
 * means exactly that flag; arrays stand for repeated flags. The file is the
 * whole description: no other flag may be given with it (Firecracker, too,
 * takes a machine either from its file or from its API, not merged).
 */
type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'strings' | 'size';

export const CONFIG_KEYS: Readonly<Record<string, Kind>> = {
  mem: 'size',
  cpus: 'integer',
  kernel: 'string',
  mdev: 'strings',
  plugin: 'strings',
  append: 'string',
  screenshot: 'string',
  'screenshot-every': 'number',
  quantum: 'integer',
  jit: 'boolean',
  'jit-threshold': 'integer',
  'jit-tier': 'string',
  summary: 'boolean',
  qmp: 'string',
  json: 'boolean',
  incoming: 'string',
  restore: 'string',
  progress: 'boolean',
};

/** Booleans whose flag turns something on (`--json`); the others' flag turns a default off (`--no-jit`). */
const ON_FLAGS = new Set(['json', 'progress']);

const WHAT: Record<Kind, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  strings: 'an array of strings',
  size: 'a size string ("256M") or a number of MiB',
};

function fits(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'strings':
      return Array.isArray(v) && v.every((s) => typeof s === 'string');
    case 'size':
      return typeof v === 'string' || Number.isInteger(v);
  }
}

/** Read and check a config file; returns the equivalent flags. Every problem is one line naming the file. */
export function configFileArgs(file: string): string[] {
  const where = `--config ${file}`;
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw new VmConfigError(`${where}: is a directory`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof VmConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new VmConfigError(
      `${where}: ${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VmConfigError(`${where}: not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new VmConfigError(`${where}: the top level must be a JSON object`);
  const args: string[] = [];
  for (const [key, v] of Object.entries(json)) {
    const kind = CONFIG_KEYS[key];
    if (kind === undefined)
      throw new VmConfigError(
        `${where}: unknown key ${JSON.stringify(key)} (known: ${Object.keys(CONFIG_KEYS).join(', ')})`,
      );
    if (!fits(kind, v)) throw new VmConfigError(`${where}: "${key}" must be ${WHAT[kind]}`);
    if (kind === 'boolean') {
      if (ON_FLAGS.has(key)) {
        if (v) args.push(`--${key}`);
      } else if (!v) args.push(`--no-${key}`);
    } else if (kind === 'strings') {
      for (const s of v as string[]) args.push(`--${key}`, s);
    } else {
      args.push(`--${key}`, String(v));
    }
  }
  return args;
}
