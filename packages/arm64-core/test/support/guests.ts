import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bare-metal test programs in guest/, built by guest/build.sh. */
export const GUEST_PROGRAMS = ['hello', 'int', 'atomics', 'traps', 'mmu', 'simd'] as const;
export type GuestProgram = (typeof GUEST_PROGRAMS)[number];

/** QEMU -cpu per program: Cortex-A57 unless it needs Armv8.1 (the LSE atomics). */
export const GUEST_QEMU_CPU: Partial<Record<GuestProgram, string>> = { atomics: 'cortex-a76' };

/** Every program prints this line first. */
export const START_MARKER = '--- start ---\n';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function guestBinPath(name: GuestProgram): string {
  return join(pkgDir, 'guest', 'bin', `${name}.bin`);
}

export function expectedPath(name: GuestProgram): string {
  return join(pkgDir, 'test', 'support', 'expected', `${name}.txt`);
}

/** QEMU's recorded output of a program (the text after the start marker). */
export function expectedOutput(name: GuestProgram): string {
  return readFileSync(expectedPath(name), 'utf8');
}

/** The console text after the start marker, CRLF folded; undefined without the marker. */
export function afterStartMarker(raw: string): string | undefined {
  const text = raw.replace(/\r\n/g, '\n');
  const at = text.indexOf(START_MARKER);
  return at < 0 ? undefined : text.slice(at + START_MARKER.length);
}
