import type { VmOptions } from '../../cli.ts';
import type { Machine } from '../../machine.ts';
import { formatMemSize } from '../../size.ts';
import { ByteReader, ByteWriter } from '../byte-io.ts';
import type { SectionHandler } from '../section.ts';
import { MigrationError, type Section } from '../stream.ts';

/** The machine type this VMM builds (QEMU's configuration section names its machine: "virt"). */
export const MACHINE_NAME = 'tsvirt-virt';

/** What a destination must be built as to take the stream: checked before anything is built. */
export interface MigrationConfig {
  machine: string;
  mem: number;
  cpus: number;
  mdev: string[];
}

export function encodeConfig(c: MigrationConfig): Uint8Array {
  const w = new ByteWriter().str(c.machine).u64(c.mem).u32(c.cpus).u32(c.mdev.length);
  for (const t of c.mdev) w.str(t);
  return w.finish();
}

export function decodeConfig(s: Section): MigrationConfig {
  const r = new ByteReader(s.payload, "section 'configuration'");
  const machine = r.str();
  const mem = r.num();
  const cpus = r.u32();
  const n = r.u32();
  const mdev = Array.from({ length: Math.min(n, 256) }, () => r.str());
  r.end();
  return { machine, mem, cpus, mdev };
}

/**
 * QEMU's vmstate_configuration: the source's machine, RAM size, vCPU count
 * and mdev types in slot order. A destination configured otherwise refuses
 * the stream before building anything (QEMU checks the machine name here
 * and the rest as sections fail to match; here all of it up front).
 */
export function checkConfig(c: MigrationConfig, opts: VmOptions): void {
  if (c.machine !== MACHINE_NAME)
    throw new MigrationError(`machine type ${c.machine} does not match this VMM's ${MACHINE_NAME}`);
  if (c.mem !== opts.mem)
    throw new MigrationError(
      `RAM size ${formatMemSize(c.mem)} does not match --mem ${formatMemSize(opts.mem)}`,
    );
  if (c.cpus !== opts.cpus)
    throw new MigrationError(`vCPU count ${c.cpus} does not match --cpus ${opts.cpus}`);
  const ours = opts.mdev.join(',');
  if (c.mdev.join(',') !== ours)
    throw new MigrationError(
      `mdev types ${c.mdev.join(',') || '(none)'} do not match --mdev ${ours || '(none)'}`,
    );
}

export const configurationSection: SectionHandler = {
  id: 'configuration',
  version: 1,
  instances: () => [0],
  save(m, w) {
    w.section(
      'configuration',
      0,
      1,
      encodeConfig({
        machine: MACHINE_NAME,
        mem: m.opts.mem,
        cpus: m.opts.cpus,
        mdev: m.opts.mdev,
      }),
    );
  },
  load(m: Machine, s) {
    checkConfig(decodeConfig(s), m.opts);
  },
};
