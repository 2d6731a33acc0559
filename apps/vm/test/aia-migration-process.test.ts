// Issue 17's last part, end to end: a VMM with --irqchip aia running the interrupt benchmark
// guest (the default guest, then 2000 GPU fences each waited for by its MSI) is stopped once its
// GPU's MSI is on, moved to a new VMM process through a snapshot file or a live migration, and
// continued there: every completion after the move arrives through the destination's kvm-vfio
// bypass (its summary counts them), none relayed by its VMM.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { VmmProcess } from './qmp-vmm.ts';
import { connectWhenUp, until } from './uboot-qmp.ts';

const IRQBENCH = fileURLToPath(new URL('../guest/default/irqbench.bin', import.meta.url));
const AIA = ['--irqchip', 'aia', '--cpus', '1'];
const MSI_ON = 'interrupts: IMSIC, gpu MSI -> identity';
const DONE = 'irqbench: done n=2000';

/** The summary line's counts: device interrupts relayed by the VMM and bypassed (posted by KVM). */
function irqCounts(stderr: string): { relayed: number; bypassed: number } {
  const m = /device interrupts: (\d+) relayed by the VMM, (\d+) bypassed/.exec(stderr);
  if (!m) throw new Error(`no interrupt summary in: ${stderr.slice(-400)}`);
  return { relayed: Number(m[1]), bypassed: Number(m[2]) };
}

describe('--irqchip aia: snapshot and live migration between VMM processes', () => {
  const vms: VmmProcess[] = [];
  afterEach(() => {
    for (const v of vms.splice(0)) v.kill();
  });

  /** The source, stopped as soon as the guest has turned its GPU's MSI on (before its DMA and loop). */
  async function stoppedSource(dir: string) {
    const src = new VmmProcess(['--kernel', IRQBENCH, ...AIA, '--qmp', `unix:${join(dir, 'src.sock')}`]);
    vms.push(src);
    const qs = await connectWhenUp(join(dir, 'src.sock'), src);
    await src.output(MSI_ON);
    expect(await qs.execute('stop')).toMatchObject({ return: {} });
    // The move must come before the loop ends, or the test would prove nothing.
    expect(src.stdout).not.toContain(DONE);
    return { src, qs };
  }

  /** The destination ran the rest of the guest: the loop finished, status 0, all by the bypass. */
  async function finishedThroughBypass(dst: VmmProcess) {
    expect(await dst.exited, dst.stdout.slice(-400) + dst.stderr).toBe(0);
    expect(dst.stdout).toContain(DONE);
    expect(dst.stdout).not.toContain('FAIL');
    const { relayed, bypassed } = irqCounts(dst.stderr);
    expect(bypassed).toBeGreaterThan(0);
    expect(relayed).toBe(0);
  }

  it('through a snapshot file (migrate "file:" then --restore): the loop finishes on the destination through its bypass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aia-snap-'));
    const { src, qs } = await stoppedSource(dir);
    const snap = join(dir, 'aia.snap');
    expect(await qs.execute('migrate', { uri: `file:${snap}` })).toMatchObject({ return: {} });
    expect((await qs.execute('query-migrate')).return).toMatchObject({ status: 'completed' });
    await qs.execute('quit');
    expect(await src.exited).toBe(0);
    const dst = new VmmProcess(['--restore', snap, ...AIA, '--qmp', `unix:${join(dir, 'dst.sock')}`]);
    vms.push(dst);
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    // Saved while stopped, it is restored paused (QEMU's globalstate), then continued.
    expect((await qd.execute('query-status')).return).toEqual({ running: false, status: 'paused' });
    expect(await qd.execute('cont')).toMatchObject({ return: {} });
    await finishedThroughBypass(dst);
  }, 240_000);

  it('live, over a unix socket: the destination continues the loop through its bypass', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aia-live-'));
    const { src, qs } = await stoppedSource(dir);
    const sock = join(dir, 'mig.sock');
    const dst = new VmmProcess([
      '--incoming',
      `unix:${sock}`,
      ...AIA,
      '--qmp',
      `unix:${join(dir, 'dst.sock')}`,
    ]);
    vms.push(dst);
    await until(async () => existsSync(sock) || undefined, 'the destination to listen');
    expect(await qs.execute('migrate', { uri: `unix:${sock}` })).toMatchObject({ return: {} });
    const done = await until(async () => {
      const r = (await qs.execute('query-migrate')).return;
      return ['completed', 'failed', 'cancelled'].includes(r.status) ? r : undefined;
    }, 'the migration to end');
    expect(done.status, JSON.stringify(done)).toBe('completed');
    await qs.execute('quit');
    expect(await src.exited).toBe(0);
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    expect((await qd.execute('query-status')).return).toEqual({ running: false, status: 'paused' });
    expect(await qd.execute('cont')).toMatchObject({ return: {} });
    await finishedThroughBypass(dst);
  }, 240_000);

  it('a destination started with another --irqchip refuses the stream in one line and exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aia-mismatch-'));
    const { src, qs } = await stoppedSource(dir);
    const snap = join(dir, 'aia.snap');
    expect(await qs.execute('migrate', { uri: `file:${snap}` })).toMatchObject({ return: {} });
    await qs.execute('quit');
    expect(await src.exited).toBe(0);
    const dst = new VmmProcess(['--restore', snap, '--irqchip', 'plic', '--cpus', '1']);
    vms.push(dst);
    expect(await dst.exited).toBe(2);
    const lines = dst.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('the stream is from a VM with --irqchip aia, this VM has --irqchip plic');
  }, 240_000);
});
