import { isKernelError, type KernelError } from '@tsvirt/core-bus';
import type { VmOptions } from '../cli.ts';
import type { Machine } from '../machine.ts';
import type { MigrationContext, SectionHandler } from './section.ts';
import { aiaSection, checkIrqchip } from './sections/aia.ts';
import { cfiFlashSection, plicSection, uartSection } from './sections/board-devices.ts';
import { checkConfig, configurationSection, decodeConfig } from './sections/configuration.ts';
import { cpuSection, timerSection } from './sections/cpu.ts';
import { globalstateSection } from './sections/globalstate.ts';
import { memslotsSection } from './sections/memslots.ts';
import { pciSection } from './sections/pci.ts';
import { ramSection } from './sections/ram.ts';
import { vfioMsiSection, vfioSection } from './sections/vfio.ts';
import {
  decodeStream,
  encodeStream,
  MigrationError,
  type MigrationStreamWriter,
  type Section,
} from './stream.ts';

/**
 * The sections, in the order the source writes them and the destination
 * loads them: the configuration first (checked before anything is built),
 * RAM, the vCPUs then the VM clock, the board devices (the PLIC or the AIA
 * after the vCPUs: the PLIC drives their interrupt lines, the AIA's files
 * are theirs; the AIA after the UART, whose line it re-drives), the VMM's
 * PCI state (BARs placed again) before each device's own state, the MSI
 * routes after the device's config space, and the memslot check last.
 */
export const SECTIONS: readonly SectionHandler[] = [
  configurationSection,
  globalstateSection,
  ramSection,
  cpuSection,
  timerSection,
  uartSection,
  cfiFlashSection,
  plicSection,
  aiaSection,
  pciSection,
  vfioSection,
  vfioMsiSection,
  memslotsSection,
];

/** A KernelError as a short reason: what was wrong, then the errno name. */
function kernelWhy(e: KernelError): string {
  return e.detail === undefined ? e.message : `${e.detail} (${e.code})`;
}

const byId = new Map(SECTIONS.map((h) => [h.id, h]));

/**
 * Write every section of a stopped VM to `w` (a file now, a socket for
 * live migration); `ctx.runState` is the state it had before it stopped.
 */
export function saveVmState(m: Machine, w: MigrationStreamWriter, ctx: MigrationContext): void {
  for (const h of SECTIONS) h.save(m, w, ctx);
}

/**
 * The sections a live migration writes once the VM is stopped: all but the
 * configuration (sent first) and RAM (sent in passes while the guest ran).
 */
export function saveDeviceState(m: Machine, w: MigrationStreamWriter, ctx: MigrationContext): void {
  for (const h of SECTIONS) if (h.id !== 'configuration' && h.id !== 'ram') h.save(m, w, ctx);
}

/** The whole VM state as one stream (a snapshot file's contents). */
export function snapshotVm(m: Machine, ctx: MigrationContext = { runState: 'running' }): Uint8Array {
  return encodeStream((w) => saveVmState(m, w, ctx));
}

/**
 * Read a stream and check what can be checked before a VM is built: the
 * framing and checksums, that every section is one this VMM knows at a
 * version it reads, no (id, instance) twice, and that the configuration
 * section matches `opts` (machine, RAM size, vCPU count, mdev types).
 */
export function checkStream(bytes: Uint8Array, opts: VmOptions): Section[] {
  const sections = decodeStream(bytes);
  const seen = new Set<string>();
  for (const s of sections) checkSection(s, seen);
  const config = sections[0];
  if (config?.id !== 'configuration')
    throw new MigrationError("stream does not start with a 'configuration' section");
  checkConfigSection(config, opts);
  checkIrqchip(sections, opts.irqchip ?? 'plic');
  return sections;
}

/** One section as it arrives: known to this VMM, at a version it reads, and not seen before. */
export function checkSection(s: Section, seen: Set<string>): void {
  const h = byId.get(s.id);
  if (h === undefined) throw new MigrationError(`unknown section '${s.id}' (instance ${s.instance})`);
  if (s.version !== h.version)
    throw new MigrationError(
      `section '${s.id}' version ${s.version} is not supported (this VMM reads ${h.version})`,
    );
  const key = `${s.id}/${s.instance}`;
  if (seen.has(key)) throw new MigrationError(`section '${s.id}' instance ${s.instance} appears twice`);
  seen.add(key);
}

/** The configuration section against the flags, before a VM is built for it. */
export function checkConfigSection(config: Section, opts: VmOptions): void {
  try {
    checkConfig(decodeConfig(config), opts);
  } catch (e) {
    if (isKernelError(e)) throw new MigrationError(`section 'configuration': ${kernelWhy(e)}`);
    throw e;
  }
}

/**
 * Load a checked stream into a freshly built VM that has not run: every
 * section the VM needs must be there, then each is loaded in stream order.
 * Gives the run state the source had (the destination starts paused if
 * the source was).
 * A failure is a MigrationError with one line; the VMM must then exit
 * without running the half-loaded VM.
 */
export function loadVmState(m: Machine, sections: readonly Section[]): MigrationContext {
  const ctx: MigrationContext = { runState: 'running' };
  checkInstances(m, sections);
  for (const s of sections) loadSection(m, s, ctx);
  return ctx;
}

/** Every section the VM needs is in the stream, and none it has no device for (ids and instances only). */
export function checkInstances(m: Machine, sections: readonly Pick<Section, 'id' | 'instance'>[]): void {
  checkIrqchip(sections, m.aia === undefined ? 'plic' : 'aia');
  for (const h of SECTIONS) {
    const want = h.instances?.(m);
    const have = sections.filter((s) => s.id === h.id).map((s) => s.instance);
    if (want === undefined) {
      if (have.length === 0) throw new MigrationError(`stream has no '${h.id}' section`);
      continue;
    }
    for (const i of want)
      if (!have.includes(i)) throw new MigrationError(`stream has no '${h.id}' section for instance ${i}`);
    for (const i of have)
      if (!want.includes(i))
        throw new MigrationError(`stream has a '${h.id}' section for instance ${i}, this VM has none`);
  }
}

/** Load one checked section into a VM that has not run; a failure is one line. */
export function loadSection(m: Machine, s: Section, ctx: MigrationContext): void {
  try {
    byId.get(s.id)!.load(m, s, ctx);
  } catch (e) {
    if (e instanceof MigrationError) throw e;
    if (isKernelError(e))
      throw new MigrationError(`section '${s.id}' instance ${s.instance}: ${kernelWhy(e)}`);
    throw e;
  }
}
