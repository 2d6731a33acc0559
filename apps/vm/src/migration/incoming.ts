import { readFileSync, statSync } from 'node:fs';
import type { VmOptions } from '../cli.ts';
import { VmConfigError } from '../config-error.ts';
import type { Machine } from '../machine.ts';
import { formatQmpAddress } from '../qmp/address.ts';
import type { MigrationContext } from './section.ts';
import { checkStream, loadVmState } from './snapshot.ts';
import { MigrationError, type Section } from './stream.ts';

/**
 * `--restore PATH` (QEMU's `-incoming file:PATH`), before the VM is built:
 * read the whole file and check its framing, checksums, sections and
 * configuration against the flags. Any refusal is a configuration error
 * (exit 2, one line) and nothing has been built.
 */
export function readIncoming(opts: VmOptions): Section[] {
  const path = opts.restore!;
  let bytes: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new VmConfigError(`--restore ${path}: not a regular file`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof VmConfigError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new VmConfigError(`--restore ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  try {
    return checkStream(bytes, opts);
  } catch (e) {
    if (e instanceof MigrationError) throw new VmConfigError(`--restore ${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Load the checked stream into the machine built for it, before any vCPU
 * runs. A section the VM cannot take is a configuration error too: the
 * VMM exits 2 with the half-loaded VM never run.
 */
export function loadIncoming(m: Machine, sections: readonly Section[]): MigrationContext {
  try {
    return loadVmState(m, sections);
  } catch (e) {
    if (e instanceof MigrationError) throw new VmConfigError(`${incomingName(m.opts)}: ${e.message}`);
    throw e;
  }
}

/** The flag the stream came through, for a refusal's one line. */
function incomingName(opts: VmOptions): string {
  return opts.incoming !== undefined
    ? `--incoming ${formatQmpAddress(opts.incoming)}`
    : `--restore ${opts.restore}`;
}
