import { uuidIsValid } from '@tsvirt/mdev-core';
import { VmConfigError } from './config-error.ts';

/**
 * One `--mdev` argument: `TYPE[,uuid=UUID]` creates an mdev of that type at
 * boot (with that UUID, or a random one), as writing a UUID to the type's
 * sysfs `create` does; a bare `UUID` uses a device defined or started with
 * `tsvirt-mdev` (its parent, type and attributes come from that record).
 */
export type MdevSpec =
  | { kind: 'type'; type: string; uuid: string | undefined }
  | { kind: 'uuid'; uuid: string };

/** Parse and check one `--mdev` value; a bad one is a one-line VmConfigError. */
export function parseMdevSpec(text: string): MdevSpec {
  const [head = '', ...opts] = text.split(',');
  if (head === '') throw new VmConfigError(`--mdev ${JSON.stringify(text)}: no mdev type or UUID`);
  if (uuidIsValid(head)) {
    if (opts.length) throw new VmConfigError(`--mdev ${text}: a defined device (UUID) takes no options`);
    return { kind: 'uuid', uuid: head.toLowerCase() };
  }
  let uuid: string | undefined;
  for (const o of opts) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    const value = eq < 0 ? undefined : o.slice(eq + 1);
    if (key !== 'uuid')
      throw new VmConfigError(`--mdev ${text}: unknown option ${JSON.stringify(key)} (only uuid=UUID)`);
    if (uuid !== undefined) throw new VmConfigError(`--mdev ${text}: uuid given twice`);
    // mdev_create's uuid_is_valid(): 8-4-4-4-12 hex digits; the device name is lower-case.
    if (value === undefined || !uuidIsValid(value))
      throw new VmConfigError(`--mdev ${text}: ${JSON.stringify(value ?? '')} is not a UUID`);
    uuid = value.toLowerCase();
  }
  return { kind: 'type', type: head, uuid };
}
