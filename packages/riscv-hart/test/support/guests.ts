import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bare-metal test programs in guest/, built by scripts/build-guests.sh. */
export const GUEST_PROGRAMS = [
  'int',
  'compressed',
  'atomics',
  'fp',
  'random',
  'traps',
  'paging',
  'irq',
  'smp',
] as const;
export type GuestProgram = (typeof GUEST_PROGRAMS)[number];

/** Harts a program needs (QEMU -smp, our mini VMM's harts); 1 if not listed. */
export const GUEST_HARTS: Partial<Record<GuestProgram, number>> = { smp: 2 };

/** Every program prints this line first, so firmware banners can be cut. */
export const START_MARKER = '--- tsvirt guest start ---\n';

/** Where OpenSBI (and our mini VMM) enter a flat S-mode image. */
export const GUEST_LOAD_ADDR = 0x8020_0000n;

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function guestBinPath(name: GuestProgram): string {
  return join(pkgDir, 'guest', 'bin', `${name}.bin`);
}

export function expectedPath(name: GuestProgram): string {
  return join(pkgDir, 'test', 'support', 'expected', `${name}.txt`);
}

/** The recorded QEMU output of a program (the text after the start marker). */
export function expectedOutput(name: GuestProgram): string {
  return readFileSync(expectedPath(name), 'utf8');
}

/**
 * The console text after the start marker, with CRLF folded to LF (OpenSBI's
 * console adds CR before LF; our SBI console does not). Undefined when the
 * marker never appeared.
 */
export function afterStartMarker(raw: string): string | undefined {
  const text = raw.replace(/\r\n/g, '\n');
  const at = text.indexOf(START_MARKER);
  return at < 0 ? undefined : text.slice(at + START_MARKER.length);
}
