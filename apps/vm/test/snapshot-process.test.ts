import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeStream } from '../src/migration/stream.ts';
import { VmmProcess } from './qmp-vmm.ts';
import { connectWhenUp, crcOf, PROMPT, ramHash, UBOOT, uboot } from './uboot-qmp.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('snapshots through QMP migrate "file:" and --restore (U-Boot)', () => {
  const vms: VmmProcess[] = [];
  afterEach(() => {
    for (const v of vms.splice(0)) v.kill();
  });

  it('U-Boot with a mode set and pixels drawn resumes in a new process: same display, RAM and crc32, and the prompt answers', async () => {
    const image = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!image) return;
    const dir = mkdtempSync(join(tmpdir(), 'snapshot-'));
    const snap1 = join(dir, 'vm1.snap');
    const snap2 = join(dir, 'vm2.snap');

    // --- the source ---------------------------------------------------------------------------
    const src = new VmmProcess([
      '--kernel',
      image,
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
    // Where U-Boot placed the GPU's BARs (register BAR0, VRAM BAR2).
    const gpu = (await qs.execute('query-pci')).return[0].devices.find((d: { slot: number }) => d.slot === 1);
    const bar = (n: number) => gpu.regions.find((r: { bar: number }) => r.bar === n).address as number;
    const regs = bar(0);
    const vram = bar(2);
    expect(regs).toBeGreaterThan(0);
    const hex = (n: number) => n.toString(16);
    // A 64x48 XRGB8888 mode at VRAM offset 0, then two colour bands drawn through the VRAM BAR.
    let r = await uboot(
      src,
      `mw.l ${hex(regs + 0x10)} 40; mw.l ${hex(regs + 0x14)} 30; mw.l ${hex(regs + 0x18)} 100; mw.l ${hex(regs + 0x1c)} 34325258; mw.l ${hex(regs + 0x20)} 0; mw.l ${hex(regs + 0x24)} 1`,
      at,
    );
    r = await uboot(src, `mw.l ${hex(vram)} 00ff8040 600; mw.l ${hex(vram + 0x1800)} 000080ff 600`, r.at);
    r = await uboot(src, 'mw.l 82000000 5a5aa5a5 40000; mw.l 82010000 12345678 100', r.at);
    r = await uboot(src, 'crc32 82000000 100000', r.at);
    const crc = crcOf(r.out);
    expect(crc).toMatch(/^[0-9a-f]{8}$/);
    const shotA = join(dir, 'a.ppm');
    expect(await qs.execute('screendump', { filename: shotA })).toEqual(
      expect.objectContaining({ return: {} }),
    );

    // Schemes other than file:, tcp: and unix: are refused; nothing happened to the VM.
    const exec = await qs.execute('migrate', { uri: 'exec:cat > /dev/null' });
    expect(exec.error).toMatchObject({ class: 'GenericError' });
    expect(exec.error.desc).toContain("'exec'");
    expect((await qs.execute('query-migrate')).return).toEqual({});
    expect((await qs.execute('query-status')).return).toEqual({ running: true, status: 'running' });
    // A file that cannot be opened is an error reply; one that fails while written is "failed",
    // and the VM, which was running, runs on.
    const noDir = await qs.execute('migrate', { uri: `file:${join(dir, 'missing', 'x.snap')}` });
    expect(noDir.error).toMatchObject({ class: 'GenericError' });
    expect(noDir.error.desc).toMatch(/^Could not open '.*x\.snap': No such file or directory$/);
    expect(await qs.execute('migrate', { uri: 'file:/dev/full' })).toMatchObject({ return: {} });
    const failed = (await qs.execute('query-migrate')).return;
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed['error-desc']).toContain('ENOSPC');
    expect((await qs.execute('query-status')).return).toEqual({ running: true, status: 'running' });
    r = await uboot(src, 'crc32 82000000 100000', r.at);
    expect(crcOf(r.out)).toBe(crc);

    // stop, then migrate: the stream records "paused", and the source stays in postmigrate.
    expect(await qs.execute('stop')).toMatchObject({ return: {} });
    expect(await qs.execute('migrate', { uri: `file:${snap1}` })).toMatchObject({ return: {} });
    expect((await qs.execute('query-migrate')).return).toMatchObject({ status: 'completed' });
    expect((await qs.execute('query-status')).return).toEqual({ running: false, status: 'postmigrate' });
    // cont runs the source again (its GPU back in RUNNING): it still answers with the same crc.
    expect(await qs.execute('cont')).toMatchObject({ return: {} });
    r = await uboot(src, 'crc32 82000000 100000', r.at);
    expect(crcOf(r.out)).toBe(crc);
    await qs.execute('quit');
    expect(await src.exited).toBe(0);

    // --- the destination, restored paused (the source was paused) ------------------------------
    const dst = new VmmProcess([
      '--restore',
      snap1,
      '--cpus',
      '1',
      '--qmp',
      `unix:${join(dir, 'dst.sock')}`,
      '--no-summary',
    ]);
    vms.push(dst);
    const qd = await connectWhenUp(join(dir, 'dst.sock'), dst);
    expect((await qd.execute('query-status')).return).toEqual({ running: false, status: 'paused' });
    const shotB = join(dir, 'b.ppm');
    expect(await qd.execute('screendump', { filename: shotB })).toMatchObject({ return: {} });
    expect(sha(readFileSync(shotB))).toBe(sha(readFileSync(shotA)));
    // Saved again before it runs: the same RAM, and every section the same (the guest clock
    // included) except the vCPUs', whose hart keeps the host-relative htimedelta (KVM's time_delta).
    expect(await qd.execute('migrate', { uri: `file:${snap2}` })).toMatchObject({ return: {} });
    expect(ramHash(snap2)).toBe(ramHash(snap1));
    const sections = (f: string) =>
      decodeStream(readFileSync(f))
        .filter((s) => s.id !== 'cpu')
        .map((s) => `${s.id}/${s.instance}/${s.version}/${sha(s.payload)}`);
    expect(sections(snap2)).toEqual(sections(snap1));
    // Run it: U-Boot's prompt answers and the region's crc32 is what it was before the save.
    expect(await qd.execute('cont')).toMatchObject({ return: {} });
    r = await uboot(dst, 'crc32 82000000 100000', 0);
    expect(crcOf(r.out)).toBe(crc);
    r = await uboot(dst, 'md.l 82010000 2', r.at);
    expect(r.out).toContain('12345678 12345678');
    await qd.execute('quit');
    expect(await dst.exited).toBe(0);
  }, 240_000);
});
