import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { describe, expect, it } from 'vitest';
import {
  afterStartMarker,
  expectedOutput,
  GUEST_PROGRAMS,
  GUEST_QEMU_CPU,
  guestBinPath,
} from './support/guests.ts';
import { runImage } from './support/mini-vmm.ts';
import { runUnderQemu } from './support/qemu.ts';

// Missing QEMU fails in CI (requireDebianTool throws) and skips locally.
const qemu = requireDebianTool('qemu-system-aarch64', 'qemu-system-arm');

describe('guest programs on Arm64Cpu print what QEMU printed', () => {
  for (const name of GUEST_PROGRAMS) {
    it(`${name}`, () => {
      const r = runImage(readFileSync(guestBinPath(name)));
      const out = afterStartMarker(r.console);
      expect(out).toBe(expectedOutput(name));
      expect(r.stop).toBe('poweroff');
      expect(out?.startsWith(`${name}\n`)).toBe(true);
      expect(out?.endsWith('DONE\n')).toBe(true);
    }, 120_000);
  }
});

describe.skipIf(!qemu)('guest programs under QEMU (virt, direct kernel boot at EL1)', () => {
  for (const name of GUEST_PROGRAMS) {
    it(`${name} prints the recorded output and powers off through PSCI`, async () => {
      const r = await runUnderQemu(guestBinPath(name), { qemu: qemu!, cpu: GUEST_QEMU_CPU[name] });
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(0);
      expect(r.output).toBe(expectedOutput(name));
    }, 90_000);
  }
});

// The committed .bin files are what the sources build to; needs the cross
// compiler that built them (guest/bin/COMPILER), so it skips without it.
const cc = (() => {
  try {
    const version = execFileSync('aarch64-linux-gnu-gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
    const built = readFileSync(join(guestBinPath('int'), '..', 'COMPILER'), 'utf8').trim();
    if (version === built) return version;
  } catch {
    // no cross compiler
  }
  return '';
})();

describe.skipIf(!cc)('guest binaries match their sources', () => {
  it('guest/build.sh rebuilds every committed .bin byte for byte', () => {
    const out = mkdtempSync(join(tmpdir(), 'arm64-guest-'));
    try {
      execFileSync('bash', [join(guestBinPath('int'), '..', '..', 'build.sh')], {
        env: { ...process.env, OUT: out },
        stdio: 'pipe',
      });
      for (const name of GUEST_PROGRAMS) {
        const built = readFileSync(join(out, `${name}.bin`));
        expect(Buffer.compare(built, readFileSync(guestBinPath(name))), `${name}.bin is stale`).toBe(0);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
