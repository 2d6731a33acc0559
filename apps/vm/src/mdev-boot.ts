import type { MdevCore } from '@tsvirt/mdev-core';
import { VmConfigError } from './config-error.ts';
import type { MdevStore } from './mdev-cli/store.ts';
import { MdevStoreError } from './mdev-cli/store-error.ts';
import { parseMdevSpec } from './mdev-spec.ts';

/** What the VMM creates for one --mdev: mdev_device_create(parent, type, uuid). */
export interface MdevToCreate {
  parent: string;
  type: string;
  uuid: string;
}

function known(mdevs: MdevCore): string {
  return mdevs.parents.flatMap((p) => p.types.map((t) => t.sysfsName)).join(', ');
}

/**
 * Resolve one --mdev against the host's parents (built-in and plugins) and
 * the tsvirt-mdev store. A bare UUID must be started (`tsvirt-mdev start`) or
 * defined with `start: auto`: its parent appears when this VMM loads it,
 * which is when mdevctl starts auto devices. Attributes would be written to
 * the device's sysfs after creation; no parent here exports a writable one,
 * so any is refused as that write would fail (ENOENT).
 */
export function resolveMdev(text: string, mdevs: MdevCore, store: () => MdevStore): MdevToCreate {
  const spec = parseMdevSpec(text);
  if (spec.kind === 'type') {
    const parent = mdevs.parents.find((p) => p.findType(spec.type) !== undefined);
    if (parent === undefined)
      throw new VmConfigError(`unknown mdev type ${spec.type} (available: ${known(mdevs)})`);
    return { parent: parent.name, type: spec.type, uuid: spec.uuid ?? crypto.randomUUID() };
  }
  let s: MdevStore;
  let rec: ReturnType<MdevStore['findActive']>;
  let defined: ReturnType<MdevStore['findDefined']>;
  try {
    s = store();
    rec = s.findActive(spec.uuid);
    defined = s.findDefined(spec.uuid);
  } catch (e) {
    if (e instanceof MdevStoreError) throw new VmConfigError(`--mdev ${text}: ${e.message}`);
    throw e;
  }
  if (rec === undefined) {
    const auto = defined.filter((d) => d.config.start === 'auto');
    if (defined.length === 0)
      throw new VmConfigError(`--mdev ${text}: no such mdev defined or started in ${s.dir}`);
    if (auto.length === 0)
      throw new VmConfigError(
        `--mdev ${text}: defined with start manual and not started (tsvirt-mdev start -u ${spec.uuid})`,
      );
    if (auto.length > 1)
      throw new VmConfigError(`--mdev ${text}: defined with start auto on ${auto.length} parents`);
    rec = auto[0]!;
  }
  const parent = mdevs.parent(rec.parent);
  if (parent === undefined)
    throw new VmConfigError(`--mdev ${text}: parent ${rec.parent} is not registered (load its --plugin)`);
  if (parent.findType(rec.config.mdev_type) === undefined)
    throw new VmConfigError(
      `--mdev ${text}: parent ${rec.parent} has no type ${rec.config.mdev_type} (available: ${known(mdevs)})`,
    );
  const attr = rec.config.attrs[0];
  if (attr !== undefined)
    throw new VmConfigError(
      `--mdev ${text}: attribute ${Object.keys(attr)[0]}: the device has no such attribute (ENOENT)`,
    );
  return { parent: rec.parent, type: rec.config.mdev_type, uuid: spec.uuid };
}
