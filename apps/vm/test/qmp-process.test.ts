import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDebianTool } from '@tsvirt/test-utils';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { QmpTestClient } from './qmp-client.ts';
import { VmmProcess } from './qmp-vmm.ts';

const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const PROMPT = '=> ';

/** Connect once the VMM listens (it starts listening before the guest runs). */
async function connectWhenUp(target: string | { port: number }, vm: VmmProcess): Promise<QmpTestClient> {
  for (let i = 0; ; i++) {
    try {
      return await QmpTestClient.open(target);
    } catch (e) {
      if (
        i > 600 ||
        (await Promise.race([vm.exited, new Promise((r) => setTimeout(() => r('wait'), 100))])) !== 'wait'
      )
        throw new Error(`QMP never came up: ${(e as Error).message}; ${vm.stderr}`);
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** U-Boot's BAR table for a device: `pci bar 00.01.00` prints "<bar> <address> <size>" rows. */
function uBootBars(out: string): Map<number, number> {
  const bars = new Map<number, number>();
  for (const m of out.matchAll(/^ +(\d) +0x([0-9a-f]+) +0x[0-9a-f]+/gm))
    bars.set(Number(m[1]), Number.parseInt(m[2]!, 16));
  return bars;
}

describe('QMP on a running VMM (U-Boot at its prompt)', () => {
  let vm: VmmProcess | undefined;
  afterEach(() => vm?.kill());

  it('over a unix socket: negotiation, query-pci as U-Boot placed the BARs, screendump, stop really pauses, cont, powerdown, bad input, quit', async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    const dir = mkdtempSync(join(tmpdir(), 'qmp-unix-'));
    const sock = join(dir, 'qmp.sock');
    vm = new VmmProcess(['--kernel', uboot, '--cpus', '1', '--qmp', `unix:${sock}`, '--no-summary']);
    const c = await connectWhenUp(sock, vm);
    const greeting = await c.greeting();
    expect(Object.keys(greeting.QMP).sort()).toEqual(['capabilities', 'version']);
    expect(Object.keys(greeting.QMP.version.qemu).sort()).toEqual(['major', 'micro', 'minor']);
    expect((await c.execute('query-status')).error.class).toBe('CommandNotFound');
    expect(await c.execute('qmp_capabilities')).toMatchObject({ return: {} });

    let at = await vm.output('Hit any key to stop autoboot');
    vm.type(' ');
    at = await vm.output(PROMPT, at);
    expect((await c.execute('query-status')).return).toEqual({ running: true, status: 'running' });

    // U-Boot enumerates and places the GPU's BARs; query-pci reports the same addresses.
    vm.type('pci bar 00.01.00\r');
    at = await vm.output(PROMPT, await vm.output('pci bar 00.01.00', at));
    const bars = uBootBars(vm.stdout.slice(0, at));
    const pci = (await c.execute('query-pci')).return;
    const gpu = pci[0].devices.find((d: { slot: number }) => d.slot === 1);
    expect(gpu).toMatchObject({
      bus: 0,
      function: 0,
      id: { vendor: 0x7e57, device: 0x0001 },
      class_info: { class: 0x0380 },
    });
    expect(gpu.regions.map((r: { bar: number; address: number }) => [r.bar, r.address])).toEqual([
      ...bars.entries(),
    ]);

    // Light the display from U-Boot: a 64x32 XRGB8888 mode over VRAM filled with red, then dump it.
    const reg = (off: number, v: number) => `mw.l ${(bars.get(0)! + off).toString(16)} ${v.toString(16)}\r`;
    for (const cmd of [
      `mw.l ${bars.get(2)!.toString(16)} 00ff0000 800\r`,
      reg(0x10, 64),
      reg(0x14, 32),
      reg(0x18, 256),
      reg(0x1c, 0x34325258),
      reg(0x20, 0),
      reg(0x24, 1),
    ]) {
      vm.type(cmd);
      at = await vm.output(PROMPT, await vm.output(cmd.slice(0, -1), at));
    }
    const png = join(dir, 'screen.png');
    expect(await c.execute('screendump', { filename: png, format: 'png' })).toMatchObject({ return: {} });
    const img = PNG.sync.read(readFileSync(png));
    expect([img.width, img.height, ...img.data.subarray(0, 4)]).toEqual([64, 32, 255, 0, 0, 255]);
    const ppm = join(dir, 'screen.ppm');
    expect(await c.execute('screendump', { filename: ppm })).toMatchObject({ return: {} });
    expect(readFileSync(ppm).subarray(0, 13).toString()).toBe('P6\n64 32\n255\n');

    // stop: STOP, then nothing the guest would do happens, not even echoing what is typed.
    const stopReply = await c.execute('stop');
    expect(stopReply).toMatchObject({ return: {} });
    expect(c.messages.indexOf(await c.event('STOP'))).toBeLessThan(c.messages.indexOf(stopReply));
    expect((await c.execute('query-status')).return).toEqual({ running: false, status: 'paused' });
    const before = vm.stdout.length;
    vm.type('echo qmp-was-paused\r');
    await new Promise((r) => setTimeout(r, 2000));
    expect(vm.stdout.length).toBe(before);
    // The console's input was kept: after cont U-Boot reads it and runs the command.
    expect(await c.execute('cont')).toMatchObject({ return: {} });
    await c.event('RESUME');
    at = await vm.output('qmp-was-paused\r\nqmp-was-paused', before);

    // system_powerdown: POWERDOWN only (no power button on this board); the guest runs on.
    expect(await c.execute('system_powerdown')).toMatchObject({ return: {} });
    await c.event('POWERDOWN');
    // Bad input gets error replies and changes nothing.
    c.send('{"execute": oops}\n');
    c.send('[1]\n');
    expect(await c.execute('no-such-command')).toMatchObject({ error: { class: 'CommandNotFound' } });
    expect(await c.execute('screendump', { filename: 5 })).toMatchObject({
      error: { class: 'GenericError' },
    });
    const errors = c.messages.filter((m) => m.error && m.id === undefined).map((m) => m.error.class);
    expect(errors).toEqual(['GenericError', 'GenericError']);
    vm.type('echo still-running\r');
    await vm.output('still-running\r\nstill-running', at);
    expect((await c.execute('query-status')).return).toEqual({ running: true, status: 'running' });

    // quit: SHUTDOWN (host-qmp-quit) before the reply, the connection closes, exit 0, the socket is removed.
    const quitReply = await c.execute('quit');
    const shutdown = await c.event('SHUTDOWN');
    expect(shutdown.data).toEqual({ guest: false, reason: 'host-qmp-quit' });
    expect(c.messages.indexOf(shutdown)).toBeLessThan(c.messages.indexOf(quitReply));
    await c.waitClosed();
    expect(await vm.exited).toBe(0);
    expect(existsSync(sock)).toBe(false);
  }, 300_000);

  it('over tcp: one client at a time as QEMU (the next gets its greeting when the first leaves), a half-sent command does nothing, a guest poweroff is SHUTDOWN guest-shutdown', async () => {
    const uboot = requireDebianTool(UBOOT, 'u-boot-qemu');
    if (!uboot) return;
    const port = await freePort();
    vm = new VmmProcess(['--kernel', uboot, '--cpus', '1', '--qmp', `tcp:127.0.0.1:${port}`, '--no-summary']);
    const a = await connectWhenUp({ port }, vm);
    await a.greeting();
    const b = await QmpTestClient.open({ port });
    expect(await a.execute('qmp_capabilities')).toMatchObject({ return: {} });
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.messages).toEqual([]);
    // B may type ahead; it is answered once served.
    b.send('{"execute":"qmp_capabilities","id":"b1"}');
    a.send('{"execute":"stop"');
    a.close();
    await b.greeting();
    expect(await b.until(() => b.messages.find((m) => m.id === 'b1'))).toMatchObject({ return: {} });
    expect((await b.execute('query-status')).return).toEqual({ running: true, status: 'running' });

    let at = await vm.output('Hit any key to stop autoboot');
    vm.type(' ');
    at = await vm.output(PROMPT, at);
    vm.type('poweroff\r');
    const shutdown = await b.event('SHUTDOWN');
    expect(shutdown.data).toEqual({ guest: true, reason: 'guest-shutdown' });
    await b.waitClosed();
    expect(await vm.exited).toBe(0);
  }, 300_000);
});
