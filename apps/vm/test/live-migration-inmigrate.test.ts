import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { QmpTestClient } from './qmp-client.ts';
import { VmmProcess } from './qmp-vmm.ts';
import { connectWhenUp, PROMPT, UBOOT, uboot, until } from './uboot-qmp.ts';

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

describe("a destination's QMP while it waits for the stream (QEMU's inmigrate)", () => {
  const vms: VmmProcess[] = [];
  afterEach(() => {
    for (const v of vms.splice(0)) v.kill();
  });

  function destination(dir: string, uri: string) {
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
    return dst;
  }

  it('query-status says inmigrate, query-migrate follows the stream, stop keeps the VM paused, migrate is refused', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'inmig-'));
    const mig = join(dir, 'mig.sock');
    const dst = destination(dir, `unix:${mig}`);
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    expect((await qd.execute('query-status')).return).toEqual({ running: false, status: 'inmigrate' });
    // fill_destination_migration_info(): listening is `setup`, with the address it listens on.
    expect((await qd.execute('query-migrate')).return).toEqual({
      status: 'setup',
      'socket-address': [{ type: 'unix', path: mig }],
    });
    // migrate_prepare(): a VM waiting for its own stream cannot be sent anywhere.
    expect((await qd.execute('migrate', { uri: 'tcp:127.0.0.1:1' })).error).toEqual({
      class: 'GenericError',
      desc: 'Guest is waiting for an incoming migration',
    });
    expect(
      await qd.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] }),
    ).toMatchObject({ return: {} });
    // qmp_stop() in inmigrate: no STOP (nothing runs), only autostart cleared.
    expect(await qd.execute('stop')).toMatchObject({ return: {} });
    expect((await qd.execute('query-status')).return.status).toBe('inmigrate');

    const src = new VmmProcess([
      '--kernel',
      UBOOT,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'src.sock')}`,
      '--no-summary',
    ]);
    vms.push(src);
    const qs = await connectWhenUp(join(dir, 'src.sock'), src);
    let at = await src.output('Hit any key to stop autoboot');
    src.type(' ');
    at = await src.output(PROMPT, at);
    expect(await qs.execute('migrate', { uri: `unix:${mig}` })).toMatchObject({ return: {} });
    expect((await migrationEnds(qs, ['completed', 'failed'])).status).toBe('completed');

    // The destination saw its side go active, then completed.
    await qd.until(
      () => qd.events.some((e) => e.event === 'MIGRATION' && e.data.status === 'completed') || undefined,
    );
    const statuses = qd.events.filter((e) => e.event === 'MIGRATION').map((e) => e.data.status);
    expect(statuses).toEqual(['active', 'completed']);
    expect((await qd.execute('query-migrate')).return).toEqual({ status: 'completed' });
    // Loaded, and kept paused as `stop` asked: no RESUME until cont.
    expect((await qd.execute('query-status')).return).toEqual({ running: false, status: 'paused' });
    expect(qd.events.some((e) => e.event === 'RESUME' || e.event === 'STOP')).toBe(false);
    expect(await qd.execute('cont')).toMatchObject({ return: {} });
    await qd.event('RESUME');
    expect((await qd.execute('query-status')).return.status).toBe('running');
    // The guest is U-Boot at its prompt, now on the destination.
    const r = await uboot(dst, 'echo moved', 0);
    expect(r.out).toContain('moved');
  }, 240_000);

  it('without stop it runs once loaded (RESUME); quit while waiting ends it with status 0 and no VM', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'inmig-'));
    const mig = join(dir, 'mig.sock');
    const dst = destination(dir, `unix:${mig}`);
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    await until(async () => existsSync(mig) || undefined, 'the destination to listen');
    // qmp_quit(): SHUTDOWN (host-qmp-quit), the reply, and the process exits 0 without a VM.
    expect(await qd.execute('quit')).toMatchObject({ return: {} });
    expect((await qd.event('SHUTDOWN')).data).toEqual({ guest: false, reason: 'host-qmp-quit' });
    expect(await dst.exited).toBe(0);
    expect(dst.stderr).toBe('');
    expect(existsSync(mig)).toBe(false);

    const dst2 = destination(dir, `unix:${mig}`);
    const qd2 = await connectWhenUp(join(dir, 'dst.sock'), dst2);
    await until(async () => existsSync(mig) || undefined, 'the destination to listen');
    const src = new VmmProcess([
      '--kernel',
      UBOOT,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'src.sock')}`,
      '--no-summary',
    ]);
    vms.push(src);
    const qs = await connectWhenUp(join(dir, 'src.sock'), src);
    let at = await src.output('Hit any key to stop autoboot');
    src.type(' ');
    at = await src.output(PROMPT, at);
    expect(await qs.execute('migrate', { uri: `unix:${mig}` })).toMatchObject({ return: {} });
    expect((await migrationEnds(qs, ['completed', 'failed'])).status).toBe('completed');
    // vm_start() out of inmigrate sends RESUME.
    await qd2.event('RESUME');
    expect((await qd2.execute('query-status')).return).toEqual({ running: true, status: 'running' });
  }, 240_000);

  it('quit while the stream comes in drops it: the destination exits 0, the source fails and runs on; a refused stream is failed', async () => {
    if (!requireDebianTool(UBOOT, 'u-boot-qemu')) return;
    const dir = mkdtempSync(join(tmpdir(), 'inmig-'));
    const mig = join(dir, 'mig.sock');
    const dst = destination(dir, `unix:${mig}`);
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    await until(async () => existsSync(mig) || undefined, 'the destination to listen');
    const src = new VmmProcess([
      '--kernel',
      UBOOT,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'src.sock')}`,
      '--no-summary',
    ]);
    vms.push(src);
    const qs = await connectWhenUp(join(dir, 'src.sock'), src);
    let at = await src.output('Hit any key to stop autoboot');
    src.type(' ');
    at = await src.output(PROMPT, at);
    // Slow enough (1 MiB/s) that the stream is still coming when the destination quits.
    expect(await qs.execute('migrate-set-parameters', { 'max-bandwidth': 1 << 20 })).toMatchObject({
      return: {},
    });
    expect(await qs.execute('migrate', { uri: `unix:${mig}` })).toMatchObject({ return: {} });
    await until(async () => {
      const r = (await qd.execute('query-migrate')).return;
      return r.status === 'active' ? r : undefined;
    }, 'the destination to be active');
    expect(await qd.execute('quit')).toMatchObject({ return: {} });
    expect(await dst.exited).toBe(0);
    expect(dst.stderr).toBe('');
    const r = await migrationEnds(qs, ['completed', 'failed', 'cancelled']);
    expect(r.status).toBe('failed');
    expect((await qs.execute('query-status')).return.status).toBe('running');

    // A destination that refuses the stream (another RAM size) goes `failed` before it exits 2.
    const dst2 = new VmmProcess([
      '--incoming',
      `unix:${mig}`,
      '--cpus',
      '1',
      '--mem',
      '512M',
      '--qmp',
      `unix:${join(dir, 'dst2.sock')}`,
      '--no-summary',
    ]);
    vms.push(dst2);
    const qd2 = await connectWhenUp(join(dir, 'dst2.sock'), dst2);
    expect(
      await qd2.execute('migrate-set-capabilities', {
        capabilities: [{ capability: 'events', state: true }],
      }),
    ).toMatchObject({ return: {} });
    await until(async () => existsSync(mig) || undefined, 'the destination to listen');
    expect(await qs.execute('migrate-set-parameters', { 'max-bandwidth': 0 })).toMatchObject({ return: {} });
    expect(await qs.execute('migrate', { uri: `unix:${mig}` })).toMatchObject({ return: {} });
    expect(await dst2.exited).toBe(2);
    expect(dst2.stderr).toMatch(/^vm: --incoming unix:.*RAM size/);
    const statuses = qd2.events.filter((e) => e.event === 'MIGRATION').map((e) => e.data.status);
    expect(statuses).toEqual(['active', 'failed']);
    expect((await migrationEnds(qs, ['completed', 'failed'])).status).toBe('failed');
  }, 240_000);
});
