import { VmConfigError } from './config-error.ts';

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parse a memory size as QEMU's -m does: a number with an optional K/M/G/T suffix (M when bare). */
export function parseMemSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new VmConfigError(`--mem ${text}: not a size (examples: 256M, 1G)`);
  const unit = m[2]!.toUpperCase();
  const bytes = Math.round(Number(m[1]) * (unit === '' ? UNITS.M! : UNITS[unit]!));
  if (bytes % 4096 !== 0) throw new VmConfigError(`--mem ${text}: not a whole number of 4 KiB pages`);
  return bytes;
}
