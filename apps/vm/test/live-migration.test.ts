import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireDebianTool } from '@tsvirt/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { QmpTestClient } from './qmp-client.ts';
import { VmmProcess } from './qmp-vmm.ts';
import { connectWhenUp, crcOf, PROMPT, ramHash, UBOOT, uboot, until } from './uboot-qmp.ts';

const HOG = fileURLToPath(new URL('../guest/gpu-hog/gpu-hog.bin', import.meta.url));

/** A loopback port nobody listens on now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** query-migrate until the status is one of `want`. */
function migrationEnds(q: QmpTestClient, want: string[]) {
  return until(
    async () => {
      const r = (await q.execute('query-migrate')).return;
      return want.includes(r.status) ? r : undefined;
    },
    `migration status ${want.join('/')}`,
  );
}

/**
 * Wait for the destination to listen on its --incoming address (without connecting, which would
 * take its one connection): the unix socket exists, or the port is in LISTEN in /proc/net/tcp.
 */
function listening(vm: VmmProcess, uri: string) {
  return until(async () => {
    if ((await Promise.race([vm.exited, Promise.resolve('up')])) !== 'up')
      throw new Error(`destination exited: ${vm.stderr}`);
    if (uri.startsWith('unix:')) return existsSync(uri.slice(5)) || undefined;
    const port = Number(uri.slice(uri.lastIndexOf(':') + 1))
      .toString(16)
      .toUpperCase()
      .padStart(4, '0');
    const rows = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
    return rows.some((r) => {
      const f = r.trim().split(/\s+/);
      return f[1]?.endsWith(`:${port}`) && f[3] === '0A';
    })
      ? true
      : undefined;
  }, 'the destination to listen');
}

describe('live migration over tcp:/unix: (two VMM processes, U-Boot)', () => {
  const vms: VmmProcess[] = [];
  afterEach(() => {
    for (const v of vms.splice(0)) v.kill();
  });

  async function ubootSource(dir: string, extra: string[] = []) {
    const src = new VmmProcess([
      '--kernel',
      UBOOT,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'src.sock')}`,
      '--no-summary',
      ...extra,
    ]);
    vms.push(src);
    const qs = await connectWhenUp(join(dir, 'src.sock'), src);
    let at = await src.output('Hit any key to stop autoboot');
    src.type(' ');
    at = await src.output(PROMPT, at);
    return { src, qs, at };
  }

  /** A destination on `uri`, returned once it listens there. */
  async function destination(dir: string, uri: string) {
    const dst = new VmmProcess([
      '--incoming',
      uri,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'dst.sock')}`,
      '--no-summary',
    ]);
    vms.push(dst);
    await listening(dst, uri);
    return dst;
  }

  it('U-Boot at its prompt moves to a destination while it runs: same crc32, typing continues there', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'livemig-'));
    const { src, qs, at } = await ubootSource(dir, ['--progress']);
    let r = await uboot(src, 'mw.l 82000000 5a5aa5a5 40000; mw.l 82010000 12345678 100', at);
    r = await uboot(src, 'crc32 82000000 100000', r.at);
    const crc = crcOf(r.out);
    expect(crc).toMatch(/^[0-9a-f]{8}$/);

    const port = await freePort();
    const dst = await destination(dir, `tcp:127.0.0.1:${port}`);
    expect(
      await qs.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] }),
    ).toMatchObject({ return: {} });
    expect(await qs.execute('migrate-set-parameters', { 'downtime-limit': 500 })).toMatchObject({
      return: {},
    });
    expect((await qs.execute('query-migrate-parameters')).return).toMatchObject({ 'downtime-limit': 500 });
    // migrate replies at once; the guest keeps running while RAM goes across.
    expect(await qs.execute('migrate', { uri: `tcp:127.0.0.1:${port}` })).toMatchObject({ return: {} });
    // A second migrate (to a socket or a file) while it runs is QEMU's refusal.
    expect((await qs.execute('migrate', { uri: `tcp:127.0.0.1:${port}` })).error).toEqual({
      class: 'GenericError',
      desc: "There's a migration process in progress",
    });
    expect((await qs.execute('migrate', { uri: `file:${join(dir, 'x.snap')}` })).error).toMatchObject({
      desc: "There's a migration process in progress",
    });
    const done = await migrationEnds(qs, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed' });
    expect(done.ram['dirty-sync-count']).toBeGreaterThanOrEqual(2);
    expect(done.ram.normal).toBeGreaterThan(0x100000 / 4096);
    expect(done.ram.remaining).toBe(0);
    expect(done.ram.total).toBe(256 * 2 ** 20);
    expect(done.downtime).toBeGreaterThanOrEqual(0);
    expect(done['total-time']).toBeGreaterThanOrEqual(done.downtime);
    expect((await qs.execute('query-status')).return).toEqual({ running: false, status: 'postmigrate' });
    const statuses = qs.events.filter((e) => e.event === 'MIGRATION').map((e) => e.data.status);
    expect(statuses).toEqual(['setup', 'active', 'completed']);
    expect(qs.events.some((e) => e.event === 'MIGRATION_PASS')).toBe(true);
    expect(src.stderr).toMatch(/vm: migration completed: \d+ passes, \d+ pages sent/);

    // The destination runs (the source was running): the same memory, and the prompt answers there.
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    expect((await qd.execute('query-status')).return).toEqual({ running: true, status: 'running' });
    r = await uboot(dst, 'crc32 82000000 100000', 0);
    expect(crcOf(r.out)).toBe(crc);
    r = await uboot(dst, 'md.l 82010000 2', r.at);
    expect(r.out).toContain('12345678 12345678');
    await qs.execute('quit');
    await qd.execute('quit');
    expect(await dst.exited).toBe(0);
  }, 240_000);

  it('a guest writing memory throughout: the loop finishes on the destination as on the source', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'livemig-'));
    const { src, qs, at } = await ubootSource(dir);
    const sock = join(dir, 'mig.sock');
    const dst = await destination(dir, `unix:${sock}`);
    // 512 rounds, each 32 KiB of pseudo-random data and then one page of its own: a page the
    // guest writes during the migration and never again must reach the destination as written.
    // (128 rounds were enough until blocks compiled to wasm: then the loop could end first.)
    src.type(
      'setexpr i 0; while itest $i < 200; do random 82000000 8000 $i; setexpr a $i * 1000; setexpr a $a + 83000000; mw.l $a $i 400; setexpr i $i + 1; done; crc32 83000000 200000\r',
    );
    await src.output('bytes filled with random data', at);
    // Slow enough that rounds run while the first pass goes across.
    await qs.execute('migrate-set-parameters', { 'max-bandwidth': 8 << 20 });
    expect(await qs.execute('migrate', { uri: `unix:${sock}` })).toMatchObject({ return: {} });
    const done = await migrationEnds(qs, ['completed', 'failed']);
    expect(done.status, JSON.stringify(done)).toBe('completed');
    const rounds = (t: string) => t.split('bytes filled with random data').length - 1;
    expect(rounds(src.stdout)).toBeLessThan(512);
    // The loop goes on where it was on the destination ...
    const dend = await dst.output(PROMPT, await dst.output('==> '));
    const dcrc = crcOf(dst.stdout.slice(0, dend));
    // ... and on the source, run again: the same pages, the same crc32.
    expect(await qs.execute('cont')).toMatchObject({ return: {} });
    const send = await src.output(PROMPT, await src.output('==> ', at));
    expect(dcrc).toMatch(/^[0-9a-f]{8}$/);
    expect(crcOf(src.stdout.slice(at, send))).toBe(dcrc);
    await qs.execute('quit');
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    await qd.execute('quit');
  }, 240_000);

  it('a guest writing memory, stopped mid-migration: the destination starts paused with the same RAM', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'livemig-'));
    const { src, qs, at } = await ubootSource(dir);
    const port = await freePort();
    const dst = await destination(dir, `tcp:127.0.0.1:${port}`);
    src.type(
      'setexpr i 0; while itest $i < 400; do random 82000000 8000 $i; setexpr a $i * 1000; setexpr a $a + 83000000; mw.l $a $i 400; setexpr i $i + 1; done\r',
    );
    await src.output('bytes filled with random data', at);
    // No downtime allowed: the switchover waits for the stop, however fast the passes go (on a quiet
    // machine the whole of RAM could otherwise cross, and the source switch over running, first).
    await qs.execute('migrate-set-parameters', { 'max-bandwidth': 8 << 20, 'downtime-limit': 0 });
    expect(await qs.execute('migrate', { uri: `tcp:127.0.0.1:${port}` })).toMatchObject({ return: {} });
    await until(async () => {
      const r = (await qs.execute('query-migrate')).return;
      return r.status === 'active' && r.ram.transferred > 0 ? r : undefined;
    }, 'an active migration');
    // Stopped while the passes go: what it wrote until then is dirty and must go across.
    expect(await qs.execute('stop')).toMatchObject({ return: {} });
    expect(await migrationEnds(qs, ['completed', 'failed'])).toMatchObject({ status: 'completed' });
    expect((await qs.execute('query-status')).return).toEqual({ running: false, status: 'postmigrate' });
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    expect((await qd.execute('query-status')).return).toEqual({ running: false, status: 'paused' });
    // Both saved to files: the RAM sections are the same bytes.
    expect(await qs.execute('migrate', { uri: `file:${join(dir, 'src.snap')}` })).toMatchObject({
      return: {},
    });
    expect(await qd.execute('migrate', { uri: `file:${join(dir, 'dst.snap')}` })).toMatchObject({
      return: {},
    });
    expect(ramHash(join(dir, 'dst.snap'))).toBe(ramHash(join(dir, 'src.snap')));
    await qs.execute('quit');
    await qd.execute('quit');
    expect(await dst.exited).toBe(0);
  }, 240_000);

  it('migrate_cancel mid-way: the source runs on, the destination exits 2 with one line', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'livemig-'));
    const { src, qs, at } = await ubootSource(dir);
    const sock = join(dir, 'mig.sock');
    const dst = await destination(dir, `unix:${sock}`);
    // Slow enough to be cancelled while RAM is still going across.
    await qs.execute('migrate-set-parameters', { 'max-bandwidth': 4 << 20 });
    expect(await qs.execute('migrate', { uri: `unix:${sock}` })).toMatchObject({ return: {} });
    await until(async () => {
      const r = (await qs.execute('query-migrate')).return;
      return r.status === 'active' && r.ram.transferred > 0 ? r : undefined;
    }, 'an active migration');
    expect(await qs.execute('migrate_cancel')).toMatchObject({ return: {} });
    expect(await migrationEnds(qs, ['cancelled', 'failed', 'completed'])).toEqual({ status: 'cancelled' });
    expect((await qs.execute('query-status')).return).toEqual({ running: true, status: 'running' });
    const r = await uboot(src, 'echo still here', at);
    expect(r.out).toContain('still here');
    expect(await dst.exited).toBe(2);
    expect(dst.stderr.trim().split('\n')).toHaveLength(1);
    expect(dst.stderr.trim()).toMatch(/^vm: --incoming unix:.*: stream is truncated/);
    await qs.execute('quit');
  }, 240_000);

  it('a destination killed mid-stream, or none listening: the source runs on, failed', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'livemig-'));
    const { src, qs, at } = await ubootSource(dir);
    // Refused: nobody listens on the port.
    const port = await freePort();
    expect(await qs.execute('migrate', { uri: `tcp:127.0.0.1:${port}` })).toMatchObject({ return: {} });
    const refused = await migrationEnds(qs, ['failed', 'completed']);
    expect(refused.status).toBe('failed');
    expect(refused['error-desc']).toContain('Connection refused');
    // Killed mid-stream.
    const dst = await destination(dir, `tcp:127.0.0.1:${port}`);
    await qs.execute('migrate-set-parameters', { 'max-bandwidth': 4 << 20 });
    expect(await qs.execute('migrate', { uri: `tcp:127.0.0.1:${port}` })).toMatchObject({ return: {} });
    await until(async () => {
      const r = (await qs.execute('query-migrate')).return;
      return r.status === 'active' && r.ram.transferred > 0 ? r : undefined;
    }, 'an active migration');
    dst.kill();
    const failed = await migrationEnds(qs, ['failed', 'completed', 'cancelled']);
    expect(failed.status).toBe('failed');
    expect((await qs.execute('query-status')).return).toEqual({ running: true, status: 'running' });
    const r = await uboot(src, 'echo still here', at);
    expect(r.out).toContain('still here');
    await qs.execute('quit');
    expect(await src.exited).toBe(0);
  }, 240_000);
  it('refusals: bad parameters, capabilities and addresses, and a destination that refuses the stream', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'livemig-'));
    const { src, qs, at } = await ubootSource(dir);
    const err = async (cmd: string, args?: Record<string, unknown>) => (await qs.execute(cmd, args)).error;
    expect(await err('migrate', { uri: 'tcp:10.0.0.1:4444' })).toMatchObject({
      class: 'GenericError',
      desc: expect.stringMatching(
        /^Invalid migration URI 'tcp:10\.0\.0\.1:4444': host 10\.0\.0\.1 is not a loopback/,
      ),
    });
    expect(await err('migrate-set-parameters', { 'downtime-limit': 2_000_001 })).toMatchObject({
      class: 'GenericError',
      desc: "Parameter 'downtime_limit' expects an integer in the range of 0 to 2000000 ms",
    });
    expect(await err('migrate-set-parameters', { 'max-bandwidth': -1 })).toMatchObject({
      class: 'GenericError',
    });
    expect(
      await err('migrate-set-capabilities', { capabilities: [{ capability: 'postcopy-ram', state: true }] }),
    ).toMatchObject({
      class: 'GenericError',
      desc: expect.stringContaining("'postcopy-ram' is not supported"),
    });
    expect(await err('migrate-set-capabilities', { capabilities: 'events' })).toMatchObject({
      class: 'GenericError',
    });
    expect(await err('migrate-set-capabilities', { capabilities: [{ capability: 'events' }] })).toMatchObject(
      {
        class: 'GenericError',
      },
    );
    // Nothing was set by the refused calls.
    expect((await qs.execute('query-migrate-parameters')).return).toEqual({
      'downtime-limit': 300,
      'max-bandwidth': 128 << 20,
    });
    expect((await qs.execute('query-migrate-capabilities')).return).toEqual([
      { capability: 'events', state: false },
    ]);
    expect((await qs.execute('query-migrate')).return).toEqual({});

    // A destination with another RAM size refuses the stream: it exits 2 with one line, and the
    // source, which waited for its acknowledgement, runs on with the migration failed.
    const sock = join(dir, 'mig.sock');
    const dst = new VmmProcess([
      '--incoming',
      `unix:${sock}`,
      '--cpus',
      '1',
      '--mem',
      '512M',
      '--no-summary',
    ]);
    vms.push(dst);
    await listening(dst, `unix:${sock}`);
    expect(await qs.execute('migrate', { uri: `unix:${sock}` })).toMatchObject({ return: {} });
    const failed = await migrationEnds(qs, ['failed', 'completed']);
    expect(failed.status).toBe('failed');
    expect(failed['error-desc']).toContain('the destination closed the connection');
    expect(await dst.exited).toBe(2);
    const lines = dst.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0], dst.stderr).toMatch(/^vm: --incoming unix:.*: RAM size 256M does not match --mem 512M$/);
    expect((await qs.execute('query-status')).return).toEqual({ running: true, status: 'running' });
    const r = await uboot(src, 'echo still here', at);
    expect(r.out).toContain('still here');
    await qs.execute('quit');
    expect(await src.exited).toBe(0);
  }, 240_000);
  it('a guest keeping the GPU busy moves mid-ring: the mdev goes by VFIO migration v2, the ring finishes on the destination', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'livemig-'));
    const src = new VmmProcess([
      '--kernel',
      HOG,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'src.sock')}`,
      '--no-summary',
    ]);
    vms.push(src);
    const qs = await connectWhenUp(join(dir, 'src.sock'), src);
    await src.output('gpu hog: ring submitted');
    // Paused at once, so the ring cannot finish on the source however fast this machine is (on a
    // quiet one it took less time than starting the destination): the engine is mid-ring.
    expect(await qs.execute('stop')).toMatchObject({ return: {} });
    const sock = join(dir, 'mig.sock');
    const dstQmp = join(dir, 'dst.sock');
    const dst = new VmmProcess([
      '--incoming',
      `unix:${sock}`,
      '--cpus',
      '1',
      '--qmp',
      `unix:${dstQmp}`,
      '--no-summary',
    ]);
    vms.push(dst);
    await listening(dst, `unix:${sock}`);
    expect(await qs.execute('migrate', { uri: `unix:${sock}` })).toMatchObject({ return: {} });
    const done = await migrationEnds(qs, ['completed', 'failed']);
    expect(done.status, JSON.stringify(done)).toBe('completed');
    expect(src.stdout).not.toContain('ring done');
    // The destination comes up paused, as the source was; after cont it picks the ring up where the
    // source's engine was and the guest shuts down.
    const qd = await connectWhenUp(dstQmp, dst);
    expect((await qd.execute('query-status')).return).toEqual({ running: false, status: 'paused' });
    expect(await qd.execute('cont')).toMatchObject({ return: {} });
    expect(await dst.exited, dst.stderr).toBe(0);
    expect(dst.stdout).toContain('gpu hog: ring done');
    await qs.execute('quit');
  }, 240_000);
});
