import { VmConfigError } from './config-error.ts';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parse a memory size as QEMU's -m does: a number with an optional K/M/G/T suffix (M when bare). */
export function parseMemSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new VmConfigError(`--mem ${text}: not a size (examples: 256M, 1G)`);
  const unit = m[2]!.toUpperCase();
  const bytes = Math.round(Number(m[1]) * (unit === '' ? UNITS.M! : UNITS[unit]!));
  if (!Number.isFinite(bytes)) throw new VmConfigError(`--mem ${text}: too large`);
  if (bytes === 0) throw new VmConfigError(`--mem ${text}: guest RAM cannot be empty`);
  if (bytes % 4096 !== 0) throw new VmConfigError(`--mem ${text}: not a whole number of 4 KiB pages`);
  return bytes;
}

/** A byte count as --mem would take it: the largest unit that divides it (256M, 15G, 8191G). */
export function formatMemSize(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    if (bytes % UNITS[unit]! === 0) return `${bytes / UNITS[unit]!}${unit}`;
  }
  return `${bytes}`;
}
