import type { Machine } from '../machine.ts';
import type { MigrationStreamWriter, Section } from './stream.ts';

/** What is not device state but travels with it: the run state the source had before it stopped (QEMU's globalstate). */
export interface MigrationContext {
  runState: 'running' | 'paused';
}

/**
 * One kind of section (QEMU's SaveStateEntry / VMStateDescription): its id
 * string and version, how the source writes its instances, and how the
 * destination loads one. `load` throws (a KernelError or MigrationError) for
 * state it cannot honour; the caller turns that into one line.
 */
export interface SectionHandler {
  readonly id: string;
  readonly version: number;
  save(m: Machine, w: MigrationStreamWriter, ctx: MigrationContext): void;
  load(m: Machine, s: Section, ctx: MigrationContext): void;
  /** The instances a stream for `m` must carry; undefined: any number (RAM's chunks). */
  instances?(m: Machine): number[];
}
