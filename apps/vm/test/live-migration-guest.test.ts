// Issue 16's proof: guest/migrate-loop (CPU writes, GPU DMA COPY/FILL through VRAM and the FENCE
// interrupt in a loop, every buffer checked against checksums the guest keeps) moved between two
// VMM processes on loopback while it runs, and through a snapshot file; the guest itself must
// report success on the destination.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { QmpTestClient } from './qmp-client.ts';
import { VmmProcess } from './qmp-vmm.ts';
import { connectWhenUp, ramHash, until } from './uboot-qmp.ts';

const LOOP = fileURLToPath(new URL('../guest/migrate-loop/migrate-loop.bin', import.meta.url));
const OK = 'migrate-loop: ok\n';

const migrationEnds = (q: QmpTestClient) =>
  until(async () => {
    const r = (await q.execute('query-migrate')).return;
    return ['completed', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
  }, 'the migration to end');

/** The round numbers of the complete progress lines on a console. */
const rounds = (out: string) =>
  [...out.matchAll(/^migrate-loop: round (\d+) sum 0x[0-9a-f]{16}$/gm)].map((m) => Number(m[1]));

/** A binary PPM's size and pixel (r, g, b) at x, y. */
function ppm(file: string) {
  const data = readFileSync(file);
  const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(data.subarray(0, 32).toString('latin1'));
  if (!m) throw new Error(`${file} is not a binary PPM`);
  const [w, h] = [Number(m[1]), Number(m[2])];
  const body = data.subarray(m[0].length);
  const at = (x: number, y: number) => [...body.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
  return { data, w, h, at };
}

describe('live migration of a guest running DMA and CPU writes in a loop (guest/migrate-loop)', () => {
  const vms: VmmProcess[] = [];
  afterEach(() => {
    for (const v of vms.splice(0)) v.kill();
  });

  /** The source, with QMP, once the loop has run `n` rounds. */
  async function source(dir: string, n = 20) {
    const src = new VmmProcess([
      '--kernel',
      LOOP,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'src.sock')}`,
      '--no-summary',
    ]);
    vms.push(src);
    const qs = await connectWhenUp(join(dir, 'src.sock'), src);
    await src.output(`migrate-loop: round ${n} `);
    return { src, qs };
  }

  /** A destination listening on a unix socket (waited for without connecting: it takes one connection). */
  async function destination(dir: string) {
    const sock = join(dir, 'mig.sock');
    const dst = new VmmProcess([
      '--incoming',
      `unix:${sock}`,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'dst.sock')}`,
      '--no-summary',
    ]);
    vms.push(dst);
    await until(async () => {
      if ((await Promise.race([dst.exited, Promise.resolve('up')])) !== 'up')
        throw new Error(`destination exited: ${dst.stderr}`);
      return existsSync(sock) || undefined;
    }, 'the destination to listen');
    return { dst, uri: `unix:${sock}` };
  }

  /** The destination's QMP once it has loaded the stream; if it ended instead, what its guest said. */
  const destinationQmp = (dir: string, dst: VmmProcess) =>
    connectWhenUp(join(dir, 'dst.sock'), dst).catch((e: Error) => {
      throw new Error(`${e.message}\n${dst.stdout.slice(-400)}`);
    });

  /**
   * The loop goes on at the destination from where the source left it (no round skipped, none
   * failed), then 'q' ends it there: the guest's last checks pass and it shuts down with status 0.
   */
  async function finishesOn(vm: VmmProcess, before: string) {
    const last = Math.max(...rounds(before));
    await vm.output(`migrate-loop: round ${last + 3} `);
    vm.type('q');
    expect(await vm.exited, vm.stdout.slice(-500) + vm.stderr).toBe(0);
    expect(vm.stdout).not.toContain('FAIL');
    expect(vm.stdout.endsWith(OK), vm.stdout.slice(-300)).toBe(true);
    // A line the source had begun is finished there: the two consoles joined have every round once.
    const all = rounds(before + vm.stdout);
    expect(all).toEqual(all.map((_, i) => i + 1));
    expect(rounds(vm.stdout)[0]).toBeGreaterThan(last);
  }

  it('migrated while it runs: the destination carries the loop on and the guest reports ok, status 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migloop-'));
    const { src, qs } = await source(dir);
    const { dst, uri } = await destination(dir);
    await qs.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
    // Slow enough that the loop runs many rounds while the first pass goes across (its few hundred
    // KiB would otherwise go in one slice, with no guest run before the switchover).
    await qs.execute('migrate-set-parameters', { 'max-bandwidth': 1 << 20 });
    const atStart = Math.max(...rounds(src.stdout));
    expect(await qs.execute('migrate', { uri })).toMatchObject({ return: {} });
    const done = await migrationEnds(qs);
    expect(done.status, JSON.stringify(done)).toBe('completed');
    // The guest dirtied RAM (its buffers, by CPU and by DMA) while the passes went across.
    expect(done.ram['dirty-sync-count']).toBeGreaterThanOrEqual(2);
    expect(Math.max(...rounds(src.stdout))).toBeGreaterThan(atStart);
    expect(qs.events.filter((e) => e.event === 'MIGRATION').map((e) => e.data.status)).toEqual([
      'setup',
      'active',
      'completed',
    ]);
    expect((await qs.execute('query-status')).return).toEqual({ running: false, status: 'postmigrate' });
    expect(src.stdout).not.toContain('FAIL');
    expect(src.stdout).not.toContain(OK);
    const qd = await destinationQmp(dir, dst);
    expect((await qd.execute('query-status')).return).toEqual({ running: true, status: 'running' });
    // The source quits first, so its console is read to the end before the rounds are joined.
    await qs.execute('quit');
    expect(await src.exited).toBe(0);
    await finishesOn(dst, src.stdout);
  }, 240_000);

  it('stopped at switchover: source and destination have the same RAM and screen, then it ends ok on the destination', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migloop-'));
    const { src, qs } = await source(dir);
    const { dst, uri } = await destination(dir);
    // Slow, and no downtime allowed (so no switchover while it dirties pages): the guest is
    // stopped while the passes go on, and the switchover follows the stop.
    await qs.execute('migrate-set-parameters', { 'max-bandwidth': 1 << 20, 'downtime-limit': 0 });
    expect(await qs.execute('migrate', { uri })).toMatchObject({ return: {} });
    await until(async () => {
      const r = (await qs.execute('query-migrate')).return;
      return r.status === 'active' && r.ram.transferred > 0 ? r : undefined;
    }, 'an active migration');
    expect(await qs.execute('stop')).toMatchObject({ return: {} });
    expect(await migrationEnds(qs)).toMatchObject({ status: 'completed' });
    expect((await qs.execute('query-status')).return).toEqual({ running: false, status: 'postmigrate' });
    const qd = await destinationQmp(dir, dst);
    expect((await qd.execute('query-status')).return).toEqual({ running: false, status: 'paused' });

    // The screen: the same frame on both sides, and it is the guest's (the gradient, the band).
    for (const [q, f] of [
      [qs, 'src.ppm'],
      [qd, 'dst.ppm'],
    ] as const)
      expect(await q.execute('screendump', { filename: join(dir, f) })).toMatchObject({ return: {} });
    const [s, d] = [ppm(join(dir, 'src.ppm')), ppm(join(dir, 'dst.ppm'))];
    expect([d.w, d.h]).toEqual([320, 200]);
    expect(d.data.equals(s.data)).toBe(true);
    expect(d.at(0, 199)).not.toEqual(d.at(319, 199)); // the gradient
    expect(d.at(0, 160)).toEqual(d.at(319, 160)); // the DMA-filled band

    // The RAM: each side's memory saved through `migrate file:` (the --restore stream), its
    // `ram` sections (every non-zero page with its address) hashed: the same bytes.
    expect(await qs.execute('migrate', { uri: `file:${join(dir, 'src.snap')}` })).toMatchObject({
      return: {},
    });
    expect(await qd.execute('migrate', { uri: `file:${join(dir, 'dst.snap')}` })).toMatchObject({
      return: {},
    });
    expect(ramHash(join(dir, 'dst.snap'))).toBe(ramHash(join(dir, 'src.snap')));

    // Resumed, the guest finds every buffer as its checksums say and ends ok.
    expect(await qd.execute('cont')).toMatchObject({ return: {} });
    // The source quits first, so its console is read to the end before the rounds are joined.
    await qs.execute('quit');
    expect(await src.exited).toBe(0);
    await finishesOn(dst, src.stdout);
  }, 240_000);

  it('through a snapshot file: saved mid-loop, restored in a new process, the checksums hold and it ends ok', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'migloop-'));
    const { src, qs } = await source(dir);
    const snap = join(dir, 'loop.snap');
    expect(await qs.execute('migrate', { uri: `file:${snap}` })).toMatchObject({ return: {} });
    expect((await qs.execute('query-migrate')).return).toMatchObject({ status: 'completed' });
    await qs.execute('quit');
    expect(await src.exited).toBe(0);
    const before = src.stdout;
    // Restored without QMP it runs at once (the source was running).
    const dst = new VmmProcess(['--restore', snap, '--cpus', '1', '--no-summary']);
    vms.push(dst);
    await finishesOn(dst, before);
  }, 240_000);
});
