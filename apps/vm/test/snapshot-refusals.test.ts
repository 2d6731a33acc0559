import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.ts';
import { EXIT_BAD_CONFIG } from '../src/config-error.ts';
import { Machine } from '../src/machine.ts';
import { DEFAULT_GUEST } from '../src/main.ts';
import { snapshotVm } from '../src/migration/snapshot.ts';
import { decodeStream, encodeStream, type Section } from '../src/migration/stream.ts';
import { VmmProcess } from './qmp-vmm.ts';

/** A stream made of `sections`, re-framed with fresh checksums (what a forger or another build would write). */
export function reencode(sections: readonly Section[]): Uint8Array {
  return encodeStream((w) => {
    for (const s of sections) w.section(s.id, s.instance, s.version, s.payload);
  });
}

/** Run the VMM with --restore and whatever flags; it must exit 2 with exactly one stderr line. */
async function refused(args: string[]): Promise<string> {
  const vm = new VmmProcess([...args, '--no-summary']);
  const status = await vm.exited;
  expect(vm.stdout).toBe('');
  const lines = vm.stderr.split('\n').filter((l) => l !== '');
  expect(lines, vm.stderr).toHaveLength(1);
  expect(status, vm.stderr).toBe(EXIT_BAD_CONFIG);
  return lines[0]!;
}

describe('a destination refuses a stream it cannot honour: exit 2, one line, before the guest runs', () => {
  let dir: string;
  let good: Uint8Array;
  let file: string;
  const write = (name: string, bytes: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snapshot-refusals-'));
    // The default configuration (256M, 2 vCPUs, one sample_gpu-small), saved before it ran.
    const m = await Machine.create(parseArgs([]), DEFAULT_GUEST, readFileSync(DEFAULT_GUEST), () => {});
    good = snapshotVm(m);
    file = write('good.snap', good);
  });

  it('the good stream is accepted with the same flags (the guest then runs to its shutdown)', async () => {
    const vm = new VmmProcess(['--restore', file, '--no-summary']);
    expect(await vm.exited, vm.stderr).toBe(0);
    expect(vm.stdout).toContain('default guest');
  }, 60_000);

  it('a corrupted byte in a RAM page: the section checksum', async () => {
    const bad = good.slice();
    const ram = decodeStream(good).find((s) => s.id === 'ram')!;
    const at = Buffer.from(good).indexOf(Buffer.from(ram.payload.subarray(0, 64)));
    expect(at).toBeGreaterThan(0);
    bad[at + 100]! ^= 0x01;
    expect(await refused(['--restore', write('corrupt.snap', bad)])).toMatch(
      /^vm: --restore .*corrupt\.snap: section 'ram' instance 0: checksum mismatch \(CRC32\)$/,
    );
  }, 60_000);

  it('a truncated file', async () => {
    expect(await refused(['--restore', write('cut.snap', good.subarray(0, good.length >> 1))])).toMatch(
      /^vm: --restore .*cut\.snap: stream is truncated/,
    );
    // Cut just before the end marker's checksum: truncated too, not a crash.
    expect(await refused(['--restore', write('cut2.snap', good.subarray(0, good.length - 2))])).toMatch(
      /stream is truncated \(in the end marker\)$/,
    );
  }, 60_000);

  it('a different RAM size (--mem)', async () => {
    expect(await refused(['--restore', file, '--mem', '512M'])).toMatch(
      /: RAM size 256M does not match --mem 512M$/,
    );
  }, 60_000);

  it('a different mdev type (--mdev)', async () => {
    expect(await refused(['--restore', file, '--mdev', 'sample_gpu-large'])).toMatch(
      /: mdev types sample_gpu-small do not match --mdev sample_gpu-large$/,
    );
  }, 60_000);

  it('a different vCPU count (--cpus)', async () => {
    expect(await refused(['--restore', file, '--cpus', '1'])).toMatch(
      /: vCPU count 2 does not match --cpus 1$/,
    );
  }, 60_000);

  it('a newer stream version, and not a stream at all', async () => {
    const v2 = good.slice();
    new DataView(v2.buffer).setUint32(4, 2, true);
    expect(await refused(['--restore', write('v2.snap', v2)])).toMatch(
      /: stream version 2 is not supported \(this VMM reads 1\)$/,
    );
    expect(await refused(['--restore', DEFAULT_GUEST])).toMatch(
      /: not a migration stream \(magic 0x[0-9a-f]{8}\)$/,
    );
  }, 60_000);

  it('a device blob the GPU driver refuses (after the VM is built, before it runs)', async () => {
    const sections = decodeStream(good).map((s) =>
      s.id === 'vfio' ? { ...s, payload: s.payload.map((b, i) => (i === 30 ? b ^ 0xff : b)) } : s,
    );
    expect(await refused(['--restore', write('gpu.snap', reencode(sections))])).toMatch(
      /: section 'vfio' instance 1: .*\(EINVAL\)$/,
    );
  }, 60_000);

  it('a missing file, and --incoming with a scheme other than file:, tcp: or unix:, or a non-loopback host', async () => {
    expect(await refused(['--restore', join(dir, 'nope.snap')])).toMatch(
      /^vm: --restore .*nope\.snap: no such file$/,
    );
    expect(await refused(['--incoming', 'exec:cat'])).toMatch(
      /expected file:PATH, tcp:127\.0\.0\.1:PORT or unix:PATH$/,
    );
    expect(await refused(['--incoming', 'tcp:10.0.0.1:4444'])).toMatch(
      /host 10\.0\.0\.1 is not a loopback address/,
    );
  }, 60_000);
});
